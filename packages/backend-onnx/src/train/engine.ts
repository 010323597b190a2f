import { concreteShape, HostEmbeddingEngine, typecheck, type EngineOptions, type GraphCompiler, type HostTensor } from '@esm2/core';
import * as ort from 'onnxruntime-node';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import { encodeModel } from '../proto/codec.js';
import { ortSessionOptions, toOrtTensor, type SessionOptions } from '../runtime/session.js';
import { threadPool } from './thread-pool.js';

/**
 * onnxruntime settings of the training engine (backend-specific, so not in
 * core's EngineOptions). Default: one worker, one intra-op thread, no spinning.
 */
export type OnnxEngineOptions = Pick<SessionOptions, 'threads' | 'spinning'> & {
  /**
   * Data parallelism: sessions computing the gradients of their share of each
   * batch concurrently (onnxruntime-node runs sessions off the main thread),
   * each with `threads` intra-op threads; their gradients are summed and the
   * optimizer applied once, so a step is the same step on the whole batch.
   * Two single-threaded sessions scale far better than one with two threads.
   */
  workers?: number;
};

/** The options with their defaults, checked: a bad thread or worker count fails before any session is made. */
export function onnxEngineSettings(options: OnnxEngineOptions): Required<OnnxEngineOptions> {
  const settings = { threads: options.threads ?? 1, spinning: options.spinning ?? false, workers: options.workers ?? 1 };
  ortSessionOptions(settings); // checks them
  if (!(Number.isInteger(settings.workers) && settings.workers >= 1)) throw new Error(`workers must be a positive integer, got ${settings.workers}`);
  return settings;
}

function toOrt(name: string, t: HostTensor): ort.Tensor {
  // Ids (an i32 input of a graph that looks its rows up itself) are int64 in ONNX, widened as the scoring session does.
  if (t.data instanceof Int32Array) return toOrtTensor(name, 'int64', t);
  if (!(t.data instanceof Float32Array)) throw new Error(`input '${name}' must be a Float32Array (or an Int32Array of ids) for the onnx engine`);
  // The binding refuses shared memory (the engine's buffers with workers): copied.
  return new ort.Tensor('float32', t.data.buffer instanceof SharedArrayBuffer ? t.data.slice() : t.data, t.shape);
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
        // Outputs given a buffer land in it (a view, e.g. a worker's share of the batch's rows gradients, included); copied if the binding did not write in place.
        for (const o of outputs) {
          const target = into?.[o];
          const got = result[o]!.data as Float32Array;
          if (target && got !== target) target.set(got);
        }
        // An int64 output (ids, reshaped) comes back as numbers.
        const host = (data: ort.Tensor['data']) => (data instanceof BigInt64Array ? Float64Array.from(data, Number) : (data as Float32Array));
        return Object.fromEntries(outputs.map((o) => [o, into?.[o] ?? host(result[o]!.data)]));
      },
      release: () => void session.release(),
    };
  };
}

/**
 * The native-speed training engine: each step is one onnxruntime-node call
 * running forward, backward, clipping and Adam for every dense parameter
 * (core's buildTrainStep compiled to ONNX); embedding tables stay in typed
 * arrays on the host and only the batch's rows cross over. With workers > 1
 * each step is one gradient session per worker, each on a thread of its own
 * with its share of the batch, run concurrently, and Adam spread over the
 * workers by ranges of the dense state on shared memory (threadPool; core's
 * buildShardedStep), while this thread steps the tables.
 */
export async function createOnnxTrainingEngine(options: EngineOptions, onnx: OnnxEngineOptions = {}): Promise<HostEmbeddingEngine> {
  const { threads, spinning, workers } = onnxEngineSettings(onnx);
  const perSession = `${threads} intra-op thread${threads > 1 ? 's' : ''}`;
  const description = `onnxruntime-node ${ort.env.versions.common}, ${workers > 1 ? `${workers} workers × ${perSession}` : perSession}${spinning ? ', spinning' : ''}`;
  // The sessions on this thread (predictions) run while the workers wait: they take all the workers' threads.
  return HostEmbeddingEngine.create(options, onnxCompiler(threads * workers, spinning), 'onnx', description, { workers, pool: threadPool(threads, spinning) });
}
