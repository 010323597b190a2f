/**
 * One worker of the onnx engine's shard pool (thread-pool.ts): a thread
 * owning one onnxruntime session of the sharded step's gradient graph
 * (onnxruntime-node's session.run is synchronous on the calling thread, so
 * sessions run side by side only on threads of their own) and one range of
 * the dense state, which sits on shared memory.
 *
 * Per step (a ShardRequest): copy the dense parameters out of shared
 * memory (the binding refuses SharedArrayBuffer) and look up this worker's
 * share of the rows in the shared tables, run the gradient graph, write the rows gradients into
 * the engine's shared buffers and post { id, gradients } (losses, rows
 * squares), write the dense gradient into this worker's slot of shared
 * memory, meet the other workers at a barrier, then step this worker's
 * range of the dense state with Adam on the slots' sum (core's
 * applyDenseRange; clipping takes a second barrier to share the partial
 * squares of the global norm) and post { id, applied: clip factor }.
 * Errors are posted as { id, error }; a worker waiting at a barrier gives
 * up when the pool raises the abort flag.
 */
import { applyDenseRange, clipScale, denseRange, gatherPooledRows, gatherRows, shardedStepNames as S, shardSquares, trainStepNames as N } from '@esm2/core';
import * as ort from 'onnxruntime-node';
import { parentPort, workerData } from 'node:worker_threads';
import { ortSessionOptions } from '../runtime/session.js';
import { pack, unpack } from './packed.js';
import { ABORT, ARRIVED, type SharedView, type ShardRequest, type ShardWorkerInit } from './thread-pool.js';

const port = parentPort!;
const init = workerData as ShardWorkerInit;
const { index: k, workers: n, flatSize, control } = init;
const [lo, hi] = denseRange(flatSize, k, n);
const slots = Array.from({ length: n }, (_, j) => init.grads.subarray(j * flatSize, (j + 1) * flatSize));
const params = new Float32Array(flatSize);
const grad = new Float32Array(flatSize);
/** Local (unshared: the binding refuses shared memory) buffers, reused across steps. */
const locals = new Map<string, Float32Array>();
function scratch(key: string, length: number): Float32Array {
  let a = locals.get(key);
  if (!a || a.length !== length) locals.set(key, (a = new Float32Array(length)));
  return a;
}
let barriers = 0;

/** Waits until every worker has arrived at this barrier (the count of arrivals is shared and only grows). */
function barrier(): void {
  const target = ++barriers * n;
  if (Atomics.add(control, ARRIVED, 1) + 1 === target) {
    Atomics.notify(control, ARRIVED);
    return;
  }
  for (;;) {
    const arrived = Atomics.load(control, ARRIVED);
    if (arrived >= target) return;
    if (Atomics.load(control, ABORT) !== 0) throw new Error('the step was abandoned: another worker failed');
    Atomics.wait(control, ARRIVED, arrived, 1000);
  }
}

try {
  const session = await ort.InferenceSession.create(init.model, ortSessionOptions({ threads: init.threads, spinning: init.spinning, denormalAsZero: true }));
  const buffers = new Map<number, SharedArrayBuffer>();
  const shared = (v: SharedView) => new Float32Array(buffers.get(v.buffer)!, v.offset * 4, v.length);
  const sharedInts = (v: SharedView) => new Int32Array(buffers.get(v.buffer)!, v.offset * 4, v.length);
  const step = async ({ id, t, buffers: fresh, feeds }: ShardRequest): Promise<void> => {
    for (const [number, memory] of fresh) buffers.set(number, memory);
    let rowsSquares = 0;
    if (feeds) {
      params.set(init.state.params);
      const given = unpack(feeds.packed);
      const ortFeeds: Record<string, ort.Tensor> = {};
      // This share's rows, looked up here from the shared tables (the ids were checked by the engine).
      for (const l of init.lookups) {
        const view = feeds.ids[l.ids];
        if (!view) throw new Error(`missing input '${l.ids}'`);
        const ids = sharedInts(view);
        const n = view.shape[0]!;
        const rows = scratch(`rows:${l.rowsInput}`, n * l.dim);
        if (l.kind === 'gather') gatherRows(init.tables[l.table]!, l.dim, ids, rows, l.table, l.ids);
        else gatherPooledRows(init.tables[l.table]!, l.dim, ids, ids.length / n, l.mode, rows, l.table, l.ids);
        ortFeeds[l.rowsInput] = new ort.Tensor('float32', rows, [n, l.dim]);
      }
      for (const name of session.inputNames) {
        if (name === N.params) {
          ortFeeds[name] = new ort.Tensor('float32', params, [flatSize]);
          continue;
        }
        if (ortFeeds[name]) continue;
        const feed = given.get(name);
        if (!feed) throw new Error(`missing input '${name}'`);
        ortFeeds[name] = new ort.Tensor('float32', feed.data, feed.shape);
      }
      const fetches: Record<string, ort.Tensor | null> = { [S.denseGrad]: new ort.Tensor('float32', grad, [flatSize]) };
      for (const o of init.posted) fetches[o] = null;
      const out = await session.run(ortFeeds, fetches);
      // The rows gradients go into the engine's shared buffers; the rest (losses, rows squares) is posted.
      const back = init.posted.filter((o) => !feeds.rowsGrads[o]);
      for (const [o, into] of Object.entries(feeds.rowsGrads)) shared(into).set(out[o]!.data as Float32Array);
      const results = pack(back.map((o) => ({ name: o, shape: out[o]!.dims, data: out[o]!.data as Float32Array })));
      rowsSquares = init.posted.includes(S.rowsSquares) ? (out[S.rowsSquares]!.data as Float32Array)[0]! : 0;
      port.postMessage({ id, gradients: results }, [results.buffer]);
      slots[k]!.set(out[S.denseGrad]!.data as Float32Array);
    } else {
      slots[k]!.fill(0);
      const results = pack([]);
      port.postMessage({ id, gradients: results }, [results.buffer]);
    }
    barrier();
    let scale = 1;
    if (init.optimizer.clipNorm > 0) {
      init.squares[k] = shardSquares(slots, lo, hi);
      init.squares[n + k] = rowsSquares;
      barrier();
      let squares = 0;
      for (let j = 0; j < 2 * n; j++) squares += init.squares[j]!;
      scale = clipScale(squares, init.optimizer.clipNorm);
    }
    applyDenseRange(init.state, slots, lo, hi, t, init.optimizer, scale);
    port.postMessage({ id, applied: scale });
  };
  // Steps come one at a time (the pool posts the next after every worker's applied).
  port.on('message', (request: ShardRequest) => {
    step(request).catch((err: unknown) => port.postMessage({ id: request.id, error: (err as Error).message }));
  });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ error: `onnxruntime session: ${(err as Error).message}` });
}
