import { startModuleWorker } from '../worker-thread.js';
import type { Batch } from '../batch.js';
import type { BadRowReport } from '../bad-rows.js';
import type { DatasetOptions } from './open.js';
import type { Progress } from './encoded-stream.js';

export interface PrefetchOptions extends DatasetOptions {
  /** Batches prepared ahead of the consumer. Default 4. */
  depth?: number;
}

/** What crosses into the worker: everything but the callbacks and the live encoders. */
export interface PrefetchWorkerData {
  path: string;
  epoch: number;
  encoders: unknown;
  options: Omit<DatasetOptions, 'encoders' | 'onProgress' | 'onDone'>;
}

export type WorkerMessage =
  | { type: 'batch'; batch: Batch }
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; report: BadRowReport & { rows: number } }
  | { type: 'end' }
  | { type: 'error'; name: string; message: string };

/**
 * `openDataset` on a worker thread: reading, encoding, shuffling and
 * batching run on the other core while training runs here, `depth` batches
 * ahead; batch buffers are transferred, not copied. Same batches, same
 * order, same errors as openDataset; each iteration is one epoch.
 */
export function prefetchDataset(path: string, options: PrefetchOptions): AsyncIterable<Batch> {
  let epoch = 0;
  const { encoders, onProgress, onDone, depth = 4, ...rest } = options;
  return {
    [Symbol.asyncIterator](): AsyncIterator<Batch> {
      const workerData: PrefetchWorkerData = { path, epoch: epoch++, encoders: encoders.toJSON(), options: rest };
      const worker = startModuleWorker(import.meta.url, 'prefetch-worker', { workerData });
      const queue: WorkerMessage[] = [];
      let waiting: ((m: WorkerMessage) => void) | undefined;
      const deliver = (m: WorkerMessage) => {
        if (waiting) {
          const w = waiting;
          waiting = undefined;
          w(m);
        } else queue.push(m);
      };
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') onProgress?.(m.progress);
        else if (m.type === 'done') onDone?.(m.report);
        else deliver(m);
      });
      worker.on('error', (err) => deliver({ type: 'error', name: err.name, message: err.message }));
      // A worker that dies without a word (process.exit, a native crash) must end the epoch with an error, not leave it waiting.
      // After 'end' or 'error' this comes too late to matter: the iterator is finished by then.
      worker.on('exit', (code) => deliver({ type: 'error', name: 'Error', message: `${path}: the prefetch worker stopped (exit code ${code}) before the epoch ended` }));
      worker.postMessage({ credit: depth });
      let finished = false;
      const finish = async () => {
        finished = true;
        await worker.terminate();
      };
      return {
        async next(): Promise<IteratorResult<Batch>> {
          if (finished) return { done: true, value: undefined };
          const m = queue.shift() ?? (await new Promise<WorkerMessage>((r) => (waiting = r)));
          if (m.type === 'batch') {
            worker.postMessage({ credit: 1 });
            return { done: false, value: m.batch };
          }
          await finish();
          if (m.type === 'error') {
            const err = new Error(m.message);
            err.name = m.name;
            throw err;
          }
          return { done: true, value: undefined };
        },
        async return(): Promise<IteratorResult<Batch>> {
          await finish();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
