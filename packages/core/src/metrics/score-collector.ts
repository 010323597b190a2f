import { evaluateEsm2, type Esm2EvalInput, type Esm2Metrics, type Esm2Predictions } from './evaluate-esm2.js';
import { ESM2_TASKS, PREDICTION_OF } from './esm2-tasks.js';
import { checkFunnelLabels } from './funnel-labels.js';
import { ensureCapacity } from './growable.js';
import { checkSameLength, type NumericArray } from './validate.js';

export interface ScoreBatch {
  /** Named score arrays, e.g. { pctr, pcvr, pctcvr }. */
  predictions: Readonly<Record<string, NumericArray>>;
  click: NumericArray;
  daction: NumericArray;
  buy: NumericArray;
  userId?: ArrayLike<number | string>;
  /** True probabilities (synthetic data), same naming as predictions. */
  truth?: Readonly<Record<string, NumericArray>>;
}

/**
 * Accumulates evaluation batches into growing typed columns so metrics are
 * computed once, exactly, over the whole test set — an average of per-batch
 * AUCs is not the AUC. The first batch fixes which columns exist; later batches
 * must match, since a column missing from some batches would misalign rows.
 *
 * Predictions are stored as Float64 (exact for Float32 inputs); labels as
 * Uint8 after validation; user ids interned to Uint32 codes (one Map entry per
 * user, none per row). Arrays returned by accessors are views that stay valid
 * only until the next add().
 */
export class ScoreCollector {
  private n = 0;
  private click: Uint8Array;
  private daction: Uint8Array;
  private buy: Uint8Array;
  private readonly preds = new Map<string, Float64Array>();
  private readonly truths = new Map<string, Float64Array>();
  private users: Uint32Array | undefined;
  private readonly userCode = new Map<number | string, number>();
  private started = false;

  constructor(initialCapacity = 1024) {
    this.click = new Uint8Array(initialCapacity);
    this.daction = new Uint8Array(initialCapacity);
    this.buy = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.n;
  }

  add(batch: ScoreBatch): this {
    const where = `ScoreCollector.add (batch starting at row ${this.n})`;
    const truth = batch.truth ?? {};
    const m = checkSameLength(where, {
      click: batch.click,
      daction: batch.daction,
      buy: batch.buy,
      userId: batch.userId,
      ...batch.predictions,
      ...Object.fromEntries(Object.entries(truth).map(([k, v]) => [`truth.${k}`, v])),
    });
    // Validate everything before writing anything, so a rejected batch leaves
    // the collector unchanged.
    checkFunnelLabels(where, batch.click, batch.daction, batch.buy);
    if (!this.started) {
      for (const name of Object.keys(batch.predictions)) this.preds.set(name, new Float64Array(this.click.length));
      for (const name of Object.keys(truth)) this.truths.set(name, new Float64Array(this.click.length));
      if (batch.userId !== undefined) this.users = new Uint32Array(this.click.length);
    } else {
      checkSameNames(where, 'predictions', [...this.preds.keys()], Object.keys(batch.predictions));
      checkSameNames(where, 'truth', [...this.truths.keys()], Object.keys(truth));
      if ((batch.userId !== undefined) !== (this.users !== undefined)) {
        throw new Error(`${where}: userId must be given in every batch or in none`);
      }
    }
    if (batch.userId !== undefined) {
      for (let i = 0; i < m; i++) {
        const id = batch.userId[i];
        if (id === undefined || (typeof id === 'number' && Number.isNaN(id))) {
          throw new Error(`${where}: userId[${i}] is ${String(id)}, expected a user id`);
        }
      }
    }
    this.started = true;

    const used = this.n;
    const needed = used + m;
    this.click = ensureCapacity(this.click, used, needed);
    this.daction = ensureCapacity(this.daction, used, needed);
    this.buy = ensureCapacity(this.buy, used, needed);
    this.click.set(batch.click, used);
    this.daction.set(batch.daction, used);
    this.buy.set(batch.buy, used);
    appendColumns(this.preds, batch.predictions, used, needed);
    appendColumns(this.truths, truth, used, needed);
    if (this.users !== undefined && batch.userId !== undefined) {
      const users = (this.users = ensureCapacity(this.users, used, needed));
      for (let i = 0; i < m; i++) {
        const id = batch.userId[i]!;
        let code = this.userCode.get(id);
        if (code === undefined) {
          code = this.userCode.size;
          this.userCode.set(id, code);
        }
        users[used + i] = code;
      }
    }
    this.n = needed;
    return this;
  }

  predictionNames(): string[] {
    return [...this.preds.keys()];
  }

  prediction(name: string): Float64Array | undefined {
    return this.preds.get(name)?.subarray(0, this.n);
  }

  truth(name: string): Float64Array | undefined {
    return this.truths.get(name)?.subarray(0, this.n);
  }

  labels(): { click: Uint8Array; daction: Uint8Array; buy: Uint8Array } {
    return {
      click: this.click.subarray(0, this.n),
      daction: this.daction.subarray(0, this.n),
      buy: this.buy.subarray(0, this.n),
    };
  }

  /** Dense per-row user codes (first-seen order); equal codes = equal user ids. */
  userCodes(): Uint32Array | undefined {
    return this.users?.subarray(0, this.n);
  }

  /** Input for evaluateEsm2: columns named pctr/pctavr/pcvr/pctcvr are picked up, others ignored. */
  toEsm2Input(): Esm2EvalInput {
    const input: Esm2EvalInput = { ...this.labels() };
    const users = this.userCodes();
    if (users !== undefined) input.userId = users;
    const truth: Esm2Predictions = {};
    for (const task of ESM2_TASKS) {
      const name = PREDICTION_OF[task];
      const p = this.prediction(name);
      if (p !== undefined) input[name] = p;
      const t = this.truth(name);
      if (t !== undefined) truth[name] = t;
    }
    if (Object.keys(truth).length > 0) input.truth = truth;
    return input;
  }

  evaluate(topKFractions?: readonly number[]): Esm2Metrics {
    const input = this.toEsm2Input();
    if (topKFractions !== undefined) input.topKFractions = topKFractions;
    return evaluateEsm2(input);
  }
}

function appendColumns(
  columns: Map<string, Float64Array>,
  source: Readonly<Record<string, NumericArray>>,
  used: number,
  needed: number,
): void {
  for (const [name, column] of columns) {
    const grown = ensureCapacity(column, used, needed);
    grown.set(source[name]!, used);
    columns.set(name, grown);
  }
}

function checkSameNames(where: string, what: string, expected: string[], got: string[]): void {
  const a = [...expected].sort();
  const b = [...got].sort();
  if (a.length !== b.length || a.some((name, i) => name !== b[i])) {
    throw new Error(`${where}: ${what} columns [${b.join(', ')}] differ from the first batch's [${a.join(', ')}]`);
  }
}
