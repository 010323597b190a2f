import { ESM2_TASKS, PREDICTION_OF, esm2TaskRows, type Esm2Predictions, type NumericArray, type PerTask } from '@esm2/core';

/** One ROC curve: points (false positive rate, true positive rate) from (0,0) to (1,1), thresholds descending. */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  positives: number;
  negatives: number;
}

/** One bin of a reliability (calibration) diagram: rows whose predictions lie in [lo, hi]. */
export interface ReliabilityBin {
  /** Smallest and largest prediction in the bin. */
  lo: number;
  hi: number;
  rows: number;
  positives: number;
  meanPredicted: number;
  observedRate: number;
}

export const DEFAULT_ROC_POINTS = 500;
export const DEFAULT_RELIABILITY_BINS = 10;

function checkLengths(fn: string, scores: NumericArray, labels: NumericArray, mask: NumericArray | undefined): void {
  if (scores.length !== labels.length || (mask !== undefined && mask.length !== scores.length)) {
    throw new Error(
      `${fn}: scores has ${scores.length} rows, labels ${labels.length}${mask === undefined ? '' : `, mask ${mask.length}`}; they must be equal`,
    );
  }
}

function label(fn: string, labels: NumericArray, i: number): 0 | 1 {
  const y = labels[i];
  if (y !== 0 && y !== 1) throw new Error(`${fn}: labels[${i}] is ${String(y)}, expected 0 or 1`);
  return y;
}

function score(fn: string, scores: NumericArray, i: number): number {
  const s = scores[i]!;
  if (!Number.isFinite(s)) throw new Error(`${fn}: scores[${i}] is ${String(s)}, expected a finite number`);
  return s;
}

/**
 * The ROC curve of `scores` against 0/1 `labels` over the rows `mask` selects
 * (all rows without one): one point per distinct score (tied rows move the
 * curve diagonally, so the area under it is the AUC with ties averaged), then
 * thinned to at most `maxPoints` points by keeping a point whenever the path
 * has advanced by 2 / (maxPoints − 2) in FPR + TPR since the last kept one
 * (the first and last points are always kept). Empty arrays when a class is
 * missing (the curve is undefined).
 */
export function rocCurve(scores: NumericArray, labels: NumericArray, mask?: NumericArray, maxPoints = DEFAULT_ROC_POINTS): RocCurve {
  const fn = 'rocCurve';
  checkLengths(fn, scores, labels, mask);
  if (!Number.isInteger(maxPoints) || maxPoints < 3) throw new Error(`${fn}: maxPoints = ${maxPoints}, expected an integer ≥ 3`);
  const rows: number[] = [];
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    if (mask !== undefined && mask[i] === 0) continue;
    score(fn, scores, i);
    positives += label(fn, labels, i);
    rows.push(i);
  }
  const negatives = rows.length - positives;
  if (positives === 0 || negatives === 0) return { fpr: [], tpr: [], positives, negatives };
  rows.sort((a, b) => scores[b]! - scores[a]!);
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k]!;
    if (labels[i] === 1) tp++;
    else fp++;
    if (k + 1 < rows.length && scores[rows[k + 1]!] === scores[i]) continue;
    fpr.push(fp / negatives);
    tpr.push(tp / positives);
  }
  if (fpr.length <= maxPoints) return { fpr, tpr, positives, negatives };
  const step = 2 / (maxPoints - 2);
  const keptF = [0];
  const keptT = [0];
  const last = fpr.length - 1;
  for (let k = 1; k < last; k++) {
    if (fpr[k]! + tpr[k]! - keptF[keptF.length - 1]! - keptT[keptT.length - 1]! >= step) {
      keptF.push(fpr[k]!);
      keptT.push(tpr[k]!);
    }
  }
  keptF.push(1);
  keptT.push(1);
  return { fpr: keptF, tpr: keptT, positives, negatives };
}

/** Area under a curve's points by the trapezoid rule (the exact AUC for an unthinned `rocCurve`). */
export function areaUnder(curve: Pick<RocCurve, 'fpr' | 'tpr'>): number {
  let a = 0;
  for (let k = 1; k < curve.fpr.length; k++) a += ((curve.fpr[k]! - curve.fpr[k - 1]!) * (curve.tpr[k]! + curve.tpr[k - 1]!)) / 2;
  return a;
}

/**
 * Reliability (calibration) bins: the selected rows sorted by predicted
 * probability and cut into `bins` groups of (nearly) equal size — equal-count,
 * not equal-width, because conversion probabilities crowd near 0 and
 * equal-width bins would put almost every row into the first one. Per bin:
 * its prediction range, rows, positives, mean prediction and observed positive
 * rate. A calibrated model's bins lie on the diagonal.
 */
export function reliabilityBins(p: NumericArray, labels: NumericArray, mask?: NumericArray, bins = DEFAULT_RELIABILITY_BINS): ReliabilityBin[] {
  const fn = 'reliabilityBins';
  checkLengths(fn, p, labels, mask);
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`${fn}: bins = ${bins}, expected an integer ≥ 1`);
  const rows: number[] = [];
  for (let i = 0; i < p.length; i++) {
    if (mask !== undefined && mask[i] === 0) continue;
    const q = score(fn, p, i);
    if (q < 0 || q > 1) throw new Error(`${fn}: p[${i}] is ${q}, expected a probability in [0, 1]`);
    label(fn, labels, i);
    rows.push(i);
  }
  rows.sort((a, b) => p[a]! - p[b]!);
  const out: ReliabilityBin[] = [];
  const n = rows.length;
  const k = Math.min(bins, n);
  for (let b = 0; b < k; b++) {
    const from = Math.floor((b * n) / k);
    const to = Math.floor(((b + 1) * n) / k);
    let positives = 0;
    let sumP = 0;
    for (let j = from; j < to; j++) {
      positives += labels[rows[j]!]!;
      sumP += p[rows[j]!]!;
    }
    const size = to - from;
    out.push({ lo: p[rows[from]!]!, hi: p[rows[to - 1]!]!, rows: size, positives, meanPredicted: sumP / size, observedRate: positives / size });
  }
  return out;
}

export interface TaskCurves {
  roc: PerTask<RocCurve>;
  calibration: PerTask<ReliabilityBin[]>;
}

/**
 * ROC curves and reliability bins for every task whose prediction is given,
 * on the rows and labels core's metrics use (CVR: clicked rows only), so the
 * curves match `evaluateEsm2`'s AUC and PCOC.
 */
export function esm2Curves(
  input: Esm2Predictions & { click: NumericArray; daction: NumericArray; buy: NumericArray },
  options: { maxPoints?: number; bins?: number } = {},
): TaskCurves {
  const tasks = esm2TaskRows(input.click, input.daction, input.buy);
  const out: TaskCurves = { roc: {}, calibration: {} };
  for (const task of ESM2_TASKS) {
    const p = input[PREDICTION_OF[task]];
    if (p === undefined) continue;
    const { label: y, mask } = tasks[task];
    out.roc[task] = rocCurve(p, y, mask, options.maxPoints);
    out.calibration[task] = reliabilityBins(p, y, mask, options.bins);
  }
  return out;
}
