import { concreteShape, HostEmbeddingEngine, typecheck, type EngineOptions, type GraphCompiler, type HostTensor } from '@esm2/core';
import * as ort from 'onnxruntime-node';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import { encodeModel } from '../proto/codec.js';
import { ortSessionOptions, type SessionOptions } from '../runtime/session.js';

/** onnxruntime settings of the training engine (backend-specific, so not in core's EngineOptions). Default: one intra-op thread, no spinning. */
export type OnnxEngineOptions = Pick<SessionOptions, 'threads' | 'spinning'>;

/** The options with their defaults, checked: a bad thread count fails before any session is made. */
export function onnxEngineSettings(options: OnnxEngineOptions): Required<OnnxEngineOptions> {
  const settings = { threads: options.threads ?? 1, spinning: options.spinning ?? false };
  ortSessionOptions(settings); // checks them
  return settings;
}

function toOrt(name: string, t: HostTensor): ort.Tensor {
  if (!(t.data instanceof Float32Array)) throw new Error(`input '${name}' must be a Float32Array for the onnx engine`);
  return new ort.Tensor('float32', t.data, t.shape);
}

/** Compiles IR graphs (params already turned into inputs) to onnxruntime-node sessions. */
export function onnxCompiler(threads: number, spinning: boolean): GraphCompiler {
  return async (graph) => {
    const bytes = encodeModel(modelProto(compileGraph(graph, new Map())));
    const session = await ort.InferenceSession.create(bytes, ortSessionOptions({ threads, spinning, denormalAsZero: true }));
    const types = typecheck(graph);
    const batched = graph.inputs.find((i) => i.type.shape.includes('batch'));
    const shapeOf = (output: string, feeds: Record<string, HostTensor>) => {
      const batch = batched ? feeds[batched.name]!.shape[batched.type.shape.indexOf('batch')]! : 1;
      return concreteShape(types.get(graph.outputs[output]!)!.shape, batch);
    };
    return {
      async run(feeds, outputs, into) {
        const ortFeeds: Record<string, ort.Tensor> = {};
        for (const name of session.inputNames) {
          const feed = feeds[name];
          if (!feed) throw new Error(`missing input '${name}'`);
          ortFeeds[name] = toOrt(name, feed);
        }
        // Pre-allocated outputs are written in place by onnxruntime; the rest it allocates.
        const fetches: Record<string, ort.Tensor | null> = {};
        for (const o of outputs) {
          const target = into?.[o];
          fetches[o] = target ? new ort.Tensor('float32', target, shapeOf(o, feeds)) : null;
        }
        const result = await session.run(ortFeeds, fetches);
        return Object.fromEntries(outputs.map((o) => [o, into?.[o] ?? (result[o]!.data as Float32Array)]));
      },
      release: () => void session.release(),
    };
  };
}

/**
 * The native-speed training engine: each step is one onnxruntime-node call
 * running forward, backward, clipping and Adam for every dense parameter
 * (core's buildTrainStep compiled to ONNX); embedding tables stay in typed
 * arrays on the host and only the batch's rows cross over.
 */
export async function createOnnxTrainingEngine(options: EngineOptions, onnx: OnnxEngineOptions = {}): Promise<HostEmbeddingEngine> {
  const { threads, spinning } = onnxEngineSettings(onnx);
  const description = `onnxruntime-node ${ort.env.versions.common}, ${threads} intra-op thread${threads > 1 ? 's' : ''}${spinning ? ', spinning' : ''}`;
  return HostEmbeddingEngine.create(options, onnxCompiler(threads, spinning), 'onnx', description);
}
