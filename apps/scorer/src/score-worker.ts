import type { OnnxModelInfo } from '@esm2/backend-onnx';
import { OnnxSession, type SessionOptions } from '@esm2/backend-onnx';
import { Piscina } from 'piscina';
import type { Feeds } from './feeds.js';
import { scoringModel, type ModelSource, type ScoringGraph } from './model.js';
import { answerBatch, prepareContext, type PrepareContext, type RawRequest } from './prepare.js';

/**
 * A piscina worker: one onnxruntime session per worker thread, because
 * session.run keeps its calling thread busy; the HTTP thread stays free.
 * Given the model's metadata, a worker also answers request bodies (answer
 * tasks: parse, validate, encode, score, write the response body), so none
 * of that runs on the HTTP thread.
 */
export interface WorkerData {
  source: ModelSource;
  session: SessionOptions;
  /** For answer tasks: the model's export metadata, its stored scoring graph, what --model named, the name and version it is served under. */
  model?: { info: OnnxModelInfo; graph: ScoringGraph; origin: string; name: string; version: string };
}

export interface ScoreTask {
  feeds: Feeds;
  outputs: string[];
}

export interface AnswerTask {
  answer: RawRequest[];
  maxBatchRows: number;
}

const data = Piscina.workerData as WorkerData;
const session = OnnxSession.load(data.source.kind === 'file' ? data.source.path : data.source.bytes, data.session);
// A load failure is reported by the first task that awaits it, not as an unhandled rejection killing the thread.
session.catch(() => undefined);
// Built once, up front: the first request should not pay for it. A failure is reported by the answer tasks.
let context: PrepareContext | Error | undefined;
try {
  context = data.model ? prepareContext(scoringModel(data.model.info, data.model.graph, data.source, data.model.origin, data.model.name, data.model.version)) : undefined;
} catch (e) {
  context = e instanceof Error ? e : new Error(String(e));
}

/** Scores packed output-major ([outputs.length × rows]) in one buffer, moved back without a copy; or a batch of requests answered. */
export default async function score(task: ScoreTask | AnswerTask): Promise<unknown> {
  if ('answer' in task) {
    if (!context) throw new Error('this pool was started without the model that answer tasks need');
    if (context instanceof Error) throw context;
    const { predictions } = context.model;
    const s = await session;
    return answerBatch(context, task.answer, task.maxBatchRows, async (feeds) => {
      const result = await s.run(feeds, predictions);
      return Object.fromEntries(predictions.map((name) => [name, result[name]!.data]));
    });
  }
  const result = await (await session).run(task.feeds, task.outputs);
  const rows = result[task.outputs[0]!]!.data.length;
  const packed = new Float32Array(rows * task.outputs.length);
  task.outputs.forEach((name, k) => packed.set(result[name]!.data, k * rows));
  return Piscina.move(packed);
}
