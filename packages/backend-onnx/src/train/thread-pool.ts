import { shardedStepNames as S, trainStepNames as N, type DenseState, type HostLookup, type OptimizerConfig, type ShardGradients, type ShardPoolFactory } from '@esm2/core';
import { startModuleWorker } from '@esm2/core/node';
import type { Worker } from 'node:worker_threads';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import { encodeModel } from '../proto/codec.js';
import { pack, unpack, type Packed } from './packed.js';

/** What a shard worker (shard-worker.ts) is started with. */
export interface ShardWorkerInit {
  model: Uint8Array;
  threads: number;
  spinning: boolean;
  /** This worker's number and the pool's size. */
  index: number;
  workers: number;
  flatSize: number;
  optimizer: OptimizerConfig;
  /** Gradient graph outputs posted back (losses, rows gradients, rows squares): all of them but the dense gradient. */
  posted: string[];
  /** The lookups this worker does for its share, and the tables' weights (shared memory) by name. */
  lookups: HostLookup[];
  tables: Record<string, Float32Array>;
  /** On shared memory: the engine's dense state, the workers' dense gradients [workers × flatSize], per worker its dense and rows squares [2 × workers], and the control words (ARRIVED, ABORT). */
  state: DenseState;
  grads: Float32Array;
  squares: Float64Array;
  control: Int32Array;
}

/**
 * One step for a shard worker; `feeds` null for a worker without a share of
 * a small batch. The lookups' ids (shared memory) come as views in `ids`,
 * the other inputs packed; the rows gradients go straight into the views in
 * `rowsGrads` (the engine's buffers, shared memory).
 */
export interface ShardRequest {
  id: number;
  t: number;
  /** Shared buffers the worker has not seen yet, by number: each crosses once (posting shared memory costs ~1 ms a step when it crosses every time). */
  buffers: [number, SharedArrayBuffer][];
  feeds: { packed: Packed; ids: Record<string, SharedView & { shape: readonly number[] }>; rowsGrads: Record<string, SharedView> } | null;
}

/** A typed array (Int32Array ids, Float32Array rows gradients) on a shared buffer sent earlier (ShardRequest.buffers), as numbers. */
export interface SharedView {
  buffer: number;
  /** In values, not bytes. */
  offset: number;
  length: number;
}

/** Indices of the pool's control words: barrier arrivals (only grows), and the abort flag. */
export const ARRIVED = 0;
export const ABORT = 1;

/** A promise with its settlers; its rejection counts as handled (the engine may stop awaiting one when the other fails). */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

type Reply = { ready: true } | { id: number; gradients: Packed } | { id: number; applied: number } | { id?: number; error: string };

/** The step in flight: what has come back from the workers so far. */
interface Pending {
  id: number;
  gradients: (ShardGradients | undefined)[];
  gradientsIn: number;
  appliedIn: number;
  scale: number;
  rowsGrads: Record<string, Float32Array>[];
  done: { gradients: [(r: ShardGradients[]) => void, (e: Error) => void]; applied: [(s: number) => void, (e: Error) => void] };
}

/**
 * The onnx engine's shard pool: one worker thread per shard (shard-worker.ts),
 * each with a single-threaded onnxruntime session of the gradient graph and
 * one range of the dense state, which stays on shared memory: no dense
 * parameters or gradients cross a message, and the optimizer runs spread
 * over the workers instead of on this thread, while this thread steps the
 * embedding tables. Only each shard's ids and small inputs are posted. A worker is unreferenced while idle, so the pool never keeps
 * the process alive.
 */
export function threadPool(threads: number, spinning: boolean): ShardPoolFactory {
  return async (step, state, optimizer, workers, tables) => {
    if (!(state.params.buffer instanceof SharedArrayBuffer)) throw new Error('the onnx engine with workers needs the dense state on a SharedArrayBuffer');
    const model = encodeModel(modelProto(compileGraph(step.gradient, new Map())));
    const grads = new Float32Array(new SharedArrayBuffer(workers * step.flatSize * 4));
    const squares = new Float64Array(new SharedArrayBuffer(2 * workers * 8));
    const control = new Int32Array(new SharedArrayBuffer(2 * 4));
    const posted = Object.keys(step.gradient.outputs).filter((o) => o !== S.denseGrad);
    // The workers look the rows up: the lookups' ids go to them instead.
    const rowsInputs = new Set(step.lookups.map((l) => l.rowsInput));
    const inputs = step.gradient.inputs.filter((i) => i.name !== N.params && !rowsInputs.has(i.name));
    if (![...tables.values()].every((w) => w.buffer instanceof SharedArrayBuffer)) throw new Error('the onnx engine with workers needs the embedding tables on a SharedArrayBuffer');
    let pending: Pending | undefined;
    let failure: Error | undefined;
    const fail = (err: Error) => {
      failure ??= err;
      // Workers waiting at a barrier for the failed one give up.
      Atomics.store(control, ABORT, 1);
      Atomics.notify(control, ARRIVED);
      if (pending) {
        pending.done.gradients[1](failure);
        pending.done.applied[1](failure);
        pending = undefined;
      }
      for (const w of threadsList) w.unref();
    };
    const onReply = (k: number, m: Reply) => {
      if (!('id' in m) || m.id === undefined || !pending || m.id !== pending.id) return;
      const p = pending;
      if ('error' in m) return fail(new Error(`onnx shard worker ${k}: ${m.error}`));
      if ('gradients' in m) {
        const results = unpack(m.gradients);
        p.gradients[k] = {
          losses: Object.fromEntries(step.losses.map((l) => [l, results.get(l)?.data[0] ?? 0])),
          rowsSquares: results.get(S.rowsSquares)?.data[0] ?? 0,
        };
        if (++p.gradientsIn === workers) p.done.gradients[0](p.gradients.slice(0, p.rowsGrads.length) as ShardGradients[]);
      } else {
        if (k === 0) p.scale = m.applied;
        if (++p.appliedIn === workers) {
          pending = undefined;
          for (const w of threadsList) w.unref();
          p.done.applied[0](p.scale);
        }
      }
    };
    const threadsList: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let k = 0; k < workers; k++) {
      const workerData: ShardWorkerInit = {
        model, threads, spinning, index: k, workers, flatSize: step.flatSize, optimizer, posted, state, grads, squares, control,
        lookups: step.lookups, tables: Object.fromEntries(tables),
      };
      const worker = startModuleWorker(import.meta.url, 'shard-worker', { workerData });
      threadsList.push(worker);
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.once('message', (m: Reply) => ('error' in m ? reject(new Error(m.error)) : resolve()));
          worker.once('error', reject);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await Promise.all(threadsList.map((w) => w.terminate()));
      throw err;
    }
    threadsList.forEach((worker, k) => {
      worker.on('message', (m: Reply) => onReply(k, m));
      worker.on('error', (err) => fail(err));
      worker.on('exit', (code) => fail(new Error(`onnx shard worker ${k} exited (code ${code})`)));
      worker.unref();
    });
    let next = 0;
    /** Shared buffers the workers have been sent, numbered (the engine reuses its buffers step after step). */
    const sent = new Map<SharedArrayBuffer, number>();
    return {
      gathers: true,
      step(shares, rowsGrads, t) {
        if (failure) {
          const [gradients, applied] = [deferred<ShardGradients[]>(), deferred<number>()];
          gradients.reject(failure);
          applied.reject(failure);
          return { gradients: gradients.promise, applied: applied.promise };
        }
        if (pending) throw new Error('a step is already running on this pool');
        // Every share checked and packed before any worker starts: a bad feed fails the call, not the pool.
        const isShared = (a: Float32Array | Int32Array) => a.buffer instanceof SharedArrayBuffer;
        const fresh: [number, SharedArrayBuffer][] = [];
        const view = (a: Float32Array | Int32Array): SharedView => {
          const memory = a.buffer as SharedArrayBuffer;
          let number = sent.get(memory);
          if (number === undefined) {
            sent.set(memory, (number = sent.size));
            fresh.push([number, memory]);
          }
          return { buffer: number, offset: a.byteOffset / 4, length: a.length };
        };
        const feeds = Array.from({ length: workers }, (_, k): ShardRequest['feeds'] => {
          const share = shares[k];
          if (!share) return null;
          const packed: { name: string; shape: readonly number[]; data: Float32Array }[] = [];
          const ids: Record<string, SharedView & { shape: readonly number[] }> = {};
          for (const l of step.lookups) {
            const t = share[l.ids];
            if (!t) throw new Error(`missing input '${l.ids}'`);
            if (!(t.data instanceof Int32Array && isShared(t.data))) throw new Error(`input '${l.ids}' must hold Int32Array ids on shared memory`);
            ids[l.ids] = { shape: t.shape, ...view(t.data) };
          }
          for (const input of inputs) {
            const feed = share[input.name];
            if (!feed) throw new Error(`missing input '${input.name}'`);
            if (!(feed.data instanceof Float32Array)) throw new Error(`input '${input.name}' must be a Float32Array for the onnx engine`);
            packed.push({ name: input.name, shape: feed.shape, data: feed.data });
          }
          const grads: Record<string, SharedView> = {};
          for (const [name, a] of Object.entries(rowsGrads[k] ?? {})) {
            if (!isShared(a)) throw new Error(`the rows gradients of '${name}' must go to shared memory`);
            grads[name] = view(a);
          }
          return { packed: pack(packed), ids, rowsGrads: grads };
        });
        const gradients = deferred<ShardGradients[]>();
        const applied = deferred<number>();
        const id = next++;
        pending = { id, gradients: [], gradientsIn: 0, appliedIn: 0, scale: 1, rowsGrads, done: { gradients: [gradients.resolve, gradients.reject], applied: [applied.resolve, applied.reject] } };
        for (let k = 0; k < workers; k++) {
          const share = feeds[k] ?? null;
          const request: ShardRequest = { id, t, buffers: fresh, feeds: share };
          threadsList[k]!.ref();
          threadsList[k]!.postMessage(request, share ? [share.packed.buffer] : []);
        }
        return { gradients: gradients.promise, applied: applied.promise };
      },
      release() {
        failure ??= new Error('the onnx shard pool was released');
        for (const w of threadsList) void w.terminate();
      },
    };
  };
}
