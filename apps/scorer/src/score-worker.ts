import { OnnxSession, type SessionOptions } from '@esm2/backend-onnx';
import { Piscina } from 'piscina';
import type { Feeds } from './feeds.js';
import type { ModelSource } from './model.js';

/**
 * A piscina worker: one onnxruntime session per worker thread, because
 * session.run keeps its calling thread busy; the HTTP thread stays free.
 */
export interface WorkerData {
  source: ModelSource;
  session: SessionOptions;
}

export interface ScoreTask {
  feeds: Feeds;
  outputs: string[];
}

const data = Piscina.workerData as WorkerData;
const session = OnnxSession.load(data.source.kind === 'file' ? data.source.path : data.source.bytes, data.session);
// A load failure is reported by the first task that awaits it, not as an unhandled rejection killing the thread.
session.catch(() => undefined);

/** Scores packed output-major ([outputs.length × rows]) in one buffer, moved back without a copy. */
export default async function score(task: ScoreTask): Promise<Float32Array> {
  const result = await (await session).run(task.feeds, task.outputs);
  const rows = result[task.outputs[0]!]!.data.length;
  const packed = new Float32Array(rows * task.outputs.length);
  task.outputs.forEach((name, k) => packed.set(result[name]!.data, k * rows));
  return Piscina.move(packed) as Float32Array;
}
