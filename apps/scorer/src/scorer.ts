import type { SessionOptions } from '@esm2/backend-onnx';
import type { PredictionName } from '@esm2/core';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { allowedFields, parseRows } from './request.js';

/** Rows encoded and run per onnxruntime call, so a large array is scored in bounded memory. */
const CHUNK_ROWS = 4096;

/**
 * Raw rows in, predictions out, on the calling thread: the library face of
 * `esm2-score`. Rows are objects keyed by the training file's columns
 * (ids, categories, tag lists, numbers), encoded with the encoders saved
 * in the model exactly as training read them; unseen categories fall to
 * the out-of-vocabulary id. Key and label columns may be present; an
 * unknown key is refused (a misspelt field is not scored as missing).
 *
 *     const scorer = await Scorer.load('runs/esm2/best'); // or an exported .onnx
 *     const [p] = await scorer.score([{ user_id: 7, item_id: 12, … }]);
 *     await scorer.close();
 */
export class Scorer {
  readonly #model: ScoringModel;
  readonly #session: LocalScorer;
  readonly #allowed: ReadonlySet<string>;

  private constructor(model: ScoringModel, session: LocalScorer) {
    this.#model = model;
    this.#session = session;
    this.#allowed = allowedFields(model);
  }

  /** From a run directory, a model artifact directory or an exported `.onnx` file. */
  static async load(path: string, options: SessionOptions = {}): Promise<Scorer> {
    const model = await loadScoringModel(path);
    return new Scorer(model, await LocalScorer.create(model, options));
  }

  /** What each row gets, e.g. ['pctr', 'pctavr', 'pcvr', 'pctcvr'] for ESM2. */
  get predictions(): readonly PredictionName[] {
    return this.#model.predictions;
  }

  /** The columns a row may carry: the model's inputs, key and label columns. */
  get fields(): string[] {
    return [...this.#allowed].sort();
  }

  /** One object of predictions per row, in order; bad rows throw an error naming the row and field. */
  async score(rows: readonly Record<string, unknown>[]): Promise<Record<string, number>[]> {
    const out: Record<string, number>[] = [];
    for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
      const chunk = rows.slice(start, start + CHUNK_ROWS);
      try {
        parseRows({ rows: chunk }, this.#allowed, CHUNK_ROWS, this.#model.encoders.columns(false));
        out.push(...(await this.#session.scoreRows(this.#model, chunk)));
      } catch (e) {
        if (start === 0) throw e;
        throw new Error(`rows ${start}–${start + chunk.length - 1}: ${(e as Error).message}`, { cause: e });
      }
    }
    return out;
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    await this.#session.close();
  }
}
