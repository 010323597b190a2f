import { concreteShape, HostEmbeddingEngine, startModuleWorker, typecheck, type EngineOptions, type GraphCompiler, type HostTensor } from '@esm2/core';
import * as ort from 'onnxruntime-node';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import { encodeModel } from '../proto/codec.js';
import { ortSessionOptions, type SessionOptions } from '../runtime/session.js';
import { pack, unpack, type Packed } from './packed.js';

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
        // Outputs given a buffer land in it (a view, e.g. a worker's share of the batch's rows gradients, included); copied if the binding did not write in place.
        for (const o of outputs) {
          const target = into?.[o];
          const got = result[o]!.data as Float32Array;
          if (target && got !== target) target.set(got);
        }
        return Object.fromEntries(outputs.map((o) => [o, into?.[o] ?? (result[o]!.data as Float32Array)]));
      },
      release: () => void session.release(),
    };
  };
}

type Reply = { ready: true } | { id: number; results: Packed } | { id?: number; error: string };

/**
 * Compiles IR graphs to onnxruntime sessions on worker threads, one each
 * (session-worker.ts): onnxruntime-node's session.run is synchronous on the
 * thread that calls it (the promise only defers it), so sessions run side
 * by side only on threads of their own. Feeds are copied into the message
 * (their buffers transferred), results copied into `into`. A worker is
 * unreferenced while idle, so it never keeps the process alive.
 */
export function threadCompiler(threads: number, spinning: boolean): GraphCompiler {
  return async (graph) => {
    const model = encodeModel(modelProto(compileGraph(graph, new Map())));
    const worker = startModuleWorker(import.meta.url, 'session-worker', { workerData: { model, threads, spinning } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (m: Reply) => ('error' in m ? reject(new Error(m.error)) : resolve()));
      worker.once('error', reject);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    const pending = new Map<number, { resolve: (r: Packed) => void; reject: (e: Error) => void }>();
    let failure: Error | undefined;
    const fail = (err: Error) => {
      failure ??= err;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on('message', (m: Reply) => {
      if (!('id' in m) || m.id === undefined) return;
      const p = pending.get(m.id)!;
      pending.delete(m.id);
      if (pending.size === 0) worker.unref();
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.results);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`onnx session worker exited (code ${code})`)));
    worker.unref();
    let next = 0;
    return {
      run(feeds, outputs, into) {
        if (failure) return Promise.reject(failure);
        const tensors: { name: string; shape: readonly number[]; data: Float32Array }[] = [];
        for (const input of graph.inputs) {
          const feed = feeds[input.name];
          if (!feed) return Promise.reject(new Error(`missing input '${input.name}'`));
          if (!(feed.data instanceof Float32Array)) return Promise.reject(new Error(`input '${input.name}' must be a Float32Array for the onnx engine`));
          tensors.push({ name: input.name, shape: feed.shape, data: feed.data });
        }
        const feedsPacked = pack(tensors);
        const id = next++;
        return new Promise((resolve, reject) => {
          pending.set(id, {
            resolve: (packed) => {
              const results = unpack(packed);
              for (const o of outputs) into?.[o]?.set(results.get(o)!.data);
              resolve(Object.fromEntries(outputs.map((o) => [o, into?.[o] ?? results.get(o)!.data])));
            },
            reject,
          });
          worker.ref();
          worker.postMessage({ id, feeds: feedsPacked, outputs }, [feedsPacked.buffer]);
        });
      },
      release: () => void worker.terminate(),
    };
  };
}

/**
 * The native-speed training engine: each step is one onnxruntime-node call
 * running forward, backward, clipping and Adam for every dense parameter
 * (core's buildTrainStep compiled to ONNX); embedding tables stay in typed
 * arrays on the host and only the batch's rows cross over. With workers > 1
 * each step is one gradient session per worker, each on a thread of its own
 * (threadCompiler) and its share of the batch, run concurrently, then one
 * apply session here (core's buildShardedStep).
 */
export async function createOnnxTrainingEngine(options: EngineOptions, onnx: OnnxEngineOptions = {}): Promise<HostEmbeddingEngine> {
  const { threads, spinning, workers } = onnxEngineSettings(onnx);
  const perSession = `${threads} intra-op thread${threads > 1 ? 's' : ''}`;
  const description = `onnxruntime-node ${ort.env.versions.common}, ${workers > 1 ? `${workers} workers × ${perSession}` : perSession}${spinning ? ', spinning' : ''}`;
  // The sessions on this thread (the apply step, predictions) run while the workers wait: they take all the workers' threads.
  return HostEmbeddingEngine.create(options, onnxCompiler(threads * workers, spinning), 'onnx', description, { workers, workerCompiler: threadCompiler(threads, spinning) });
}
