import { OnnxSession, type SessionOptions } from '@esm2/backend-onnx';
import type { Feeds, Scores } from './feeds.js';
import { scoresToRows } from './feeds.js';
import type { ScoringModel } from './model.js';
import { encodeRows } from './request.js';

/**
 * A session on the calling thread: the reference the service is tested
 * against, and the scorer for tools that own their thread anyway.
 */
export class LocalScorer {
  readonly workers = 1;
  private constructor(private readonly session: OnnxSession) {}

  static async create(model: ScoringModel, options: SessionOptions = {}): Promise<LocalScorer> {
    const source = model.source.kind === 'file' ? model.source.path : model.source.bytes;
    return new LocalScorer(await OnnxSession.load(source, options));
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
