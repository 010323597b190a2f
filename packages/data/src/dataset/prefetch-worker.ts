import { parentPort, workerData } from 'node:worker_threads';
import type { Batch } from '../batch.js';
import { Encoders } from '../encode/encoders.js';
import { openDataset } from './open.js';
import type { PrefetchWorkerData, WorkerMessage } from './prefetch.js';

/** Typed arrays of a batch, moved (not copied) to the training thread. */
function buffersOf(batch: Batch): ArrayBuffer[] {
  const arrays = [...Object.values(batch.features), ...Object.values(batch.labels), ...(batch.userIds ? [batch.userIds] : []), ...Object.values(batch.truth ?? {})];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

const data = workerData as PrefetchWorkerData;
const port = parentPort!;
let credit = 0;
let wake: (() => void) | undefined;
port.on('message', (m: { credit: number }) => {
  credit += m.credit;
  wake?.();
});
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const dataset = openDataset(data.path, {
    ...data.options,
    encoders: Encoders.fromJSON(data.encoders),
    shuffle: data.options.shuffle ? { ...data.options.shuffle, seed: data.options.shuffle.seed + data.epoch } : undefined,
    onProgress: (p) => post({ type: 'progress', progress: p }),
    onDone: (report) => post({ type: 'done', report }),
  });
  for await (const batch of dataset) {
    while (credit <= 0) await new Promise<void>((r) => (wake = r));
    credit--;
    post({ type: 'batch', batch }, buffersOf(batch));
  }
  post({ type: 'end' });
} catch (err) {
  post({ type: 'error', name: (err as Error).name ?? 'Error', message: (err as Error).message ?? String(err) });
}
