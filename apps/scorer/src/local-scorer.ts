import { OnnxSession, type SessionOptions } from '@esm2/backend-onnx';
import type { Feeds, Scores } from './feeds.js';
import { scoresToRows } from './feeds.js';
import type { ScoringModel } from './model.js';
import { encodeRows } from './request.js';
import { warmupFeeds } from './warmup.js';

/**
 * A session on the calling thread: the reference the service is tested
 * against, the scorer for tools that own their thread anyway, and what
 * `esm2-score serve --workers 0` scores with (on the HTTP thread: no hand-off
 * to a worker, the least CPU per row, one core).
 */
export class LocalScorer {
  /** One run at a time (the service's batcher dispatches to it one batch at a time). */
  readonly workers = 1;
  /** Scores on the thread that calls it: no worker thread (the service reports 0 workers). */
  readonly onCallingThread = true;
  private constructor(private readonly session: OnnxSession) {}

  static async create(model: ScoringModel, options: SessionOptions = {}): Promise<LocalScorer> {
    const source = model.source.kind === 'file' ? model.source.path : model.source.bytes;
    return new LocalScorer(await OnnxSession.load(source, options));
  }

  /**
   * A scorer that has run the model once (one all-OOV row): a model the
   * runtime cannot run fails here, naming where it came from, and the first
   * request does not pay for the session's first run. Released again on failure.
   */
  static async warm(model: ScoringModel, options: SessionOptions = {}): Promise<LocalScorer> {
    const scorer = await LocalScorer.create(model, options).catch((e: Error) => Promise.reject(new Error(`cannot score with ${model.origin}: ${e.message}`)));
    try {
      await scorer.score(warmupFeeds(model.graph), model.predictions);
    } catch (e) {
      await scorer.close().catch(() => undefined);
      throw new Error(`cannot score with ${model.origin}: ${(e as Error).message}`);
    }
    return scorer;
  }

  async score(feeds: Feeds, outputs: string[]): Promise<Scores> {
    const result = await this.session.run(feeds, outputs);
    const scores: Scores = {};
    for (const name of outputs) scores[name] = result[name]!.data;
    return scores;
  }

  /** JSON-style rows in, per-row predictions out: what POST /v1/score answers, computed directly. */
  async scoreRows(model: ScoringModel, rows: Record<string, unknown>[]): Promise<Record<string, number>[]> {
    const scores = await this.score(encodeRows(model, rows) as Feeds, model.predictions);
    return scoresToRows(scores, model.predictions, rows.length);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
