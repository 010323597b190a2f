import { auc } from './auc.js';
import { ESM2_TASKS, PREDICTION_OF, esm2TaskRows, type Esm2Task } from './esm2-tasks.js';
import { checkFunnelLabels } from './funnel-labels.js';
import { gauc } from './gauc.js';
import { logloss } from './logloss.js';
import { pcoc } from './pcoc.js';
import { DEFAULT_TOP_K_FRACTIONS, fractionLabel, topKPrecisionRecall } from './topk.js';
import { checkSameLength, type NumericArray } from './validate.js';

export interface Esm2Predictions {
  pctr?: NumericArray;
  pctavr?: NumericArray;
  pcvr?: NumericArray;
  pctcvr?: NumericArray;
}

export interface Esm2EvalInput extends Esm2Predictions {
  click: NumericArray;
  daction: NumericArray;
  buy: NumericArray;
  userId?: ArrayLike<number | string>;
  /** True probabilities from a synthetic generator: yields the `oracle` AUCs. */
  truth?: Esm2Predictions;
  /** Top-k cut fractions; defaults to the paper's 0.1 %, 0.6 %, 1 %. */
  topKFractions?: readonly number[];
}

export type PerTask<T> = Partial<Record<Esm2Task, T>>;
/** Keyed by fractionLabel: "0.1%", "0.6%", "1%". */
export type AtCut = Record<string, number>;
export type TopKTable = { cvr?: AtCut; ctcvr?: AtCut };

/**
 * Flat, JSON-friendly. A key exists only if its prediction was given; NaN marks
 * an undefined value (e.g. AUC with one class) and serialises as null.
 */
export interface Esm2Metrics {
  rows: number;
  clicks: number;
  dactions: number;
  buys: number;
  ctr_auc?: number;
  ctavr_auc?: number;
  cvr_auc?: number;
  ctcvr_auc?: number;
  cvr_gauc?: number;
  ctcvr_gauc?: number;
  /** Users with both classes behind each GAUC. */
  gauc_users?: { cvr?: number; ctcvr?: number };
  logloss: PerTask<number>;
  pcoc: PerTask<number>;
  f1_at?: TopKTable;
  precision_at?: TopKTable;
  recall_at?: TopKTable;
  /** Positive rows each task's AUC rests on (CVR: purchases among clicks). */
  positives: Record<Esm2Task, number>;
  oracle?: { ctr_auc?: number; ctavr_auc?: number; cvr_auc?: number; ctcvr_auc?: number };
}

type AucKey = 'ctr_auc' | 'ctavr_auc' | 'cvr_auc' | 'ctcvr_auc';
const aucKey = (t: Esm2Task): AucKey => `${t}_auc`;

/** Every ESM2 metric for one test set, computed exactly with the ESM2.md conventions. */
export function evaluateEsm2(input: Esm2EvalInput): Esm2Metrics {
  const { click, daction, buy, userId, truth } = input;
  checkSameLength('evaluateEsm2', {
    click,
    daction,
    buy,
    userId,
    pctr: input.pctr,
    pctavr: input.pctavr,
    pcvr: input.pcvr,
    pctcvr: input.pctcvr,
    'truth.pctr': truth?.pctr,
    'truth.pctavr': truth?.pctavr,
    'truth.pcvr': truth?.pcvr,
    'truth.pctcvr': truth?.pctcvr,
  });
  const rows = checkFunnelLabels('evaluateEsm2', click, daction, buy);
  const tasks = esm2TaskRows(click, daction, buy);

  const out: Esm2Metrics = {
    rows,
    clicks: count(click),
    dactions: count(daction),
    buys: count(buy),
    logloss: {},
    pcoc: {},
    positives: { ctr: 0, ctavr: 0, cvr: 0, ctcvr: 0 },
  };

  for (const task of ESM2_TASKS) {
    const { label, mask } = tasks[task];
    out.positives[task] = mask === undefined ? count(label) : countMasked(label, mask);
    const p = input[PREDICTION_OF[task]];
    if (p === undefined) continue;
    out[aucKey(task)] = auc(p, label, mask);
    out.logloss[task] = logloss(p, label, mask);
    out.pcoc[task] = pcoc(p, label, mask);
    if (task !== 'cvr' && task !== 'ctcvr') continue;
    if (userId !== undefined) {
      const g = gauc(p, label, userId, mask);
      out[`${task}_gauc`] = g.gauc;
      (out.gauc_users ??= {})[task] = g.users;
    }
    const cuts = topKPrecisionRecall(p, label, input.topKFractions ?? DEFAULT_TOP_K_FRACTIONS, mask);
    for (const cut of cuts) {
      const key = fractionLabel(cut.fraction);
      ((out.precision_at ??= {})[task] ??= {})[key] = cut.precision;
      ((out.recall_at ??= {})[task] ??= {})[key] = cut.recall;
      ((out.f1_at ??= {})[task] ??= {})[key] = cut.f1;
    }
  }

  if (truth !== undefined) {
    for (const task of ESM2_TASKS) {
      const t = truth[PREDICTION_OF[task]];
      if (t === undefined) continue;
      (out.oracle ??= {})[aucKey(task)] = auc(t, tasks[task].label, tasks[task].mask);
    }
  }
  return out;
}

function count(labels: NumericArray): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += labels[i]!;
  return s;
}

function countMasked(labels: NumericArray, mask: NumericArray): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += labels[i]! & mask[i]!;
  return s;
}
