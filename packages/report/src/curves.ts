import { ESM2_TASKS, PREDICTION_OF, esm2TaskRows, splitByClass, type Esm2Predictions, type NumericArray, type PerTask } from '@esm2/core';

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
  if (!Number.isInteger(maxPoints) || maxPoints < 3) throw new Error(`rocCurve: maxPoints = ${maxPoints}, expected an integer ≥ 3`);
  // Each class sorted natively, then walked from the top score down (a merge, ties consumed together).
  const { pos, neg } = splitByClass('rocCurve', scores, labels, mask);
  pos.sort();
  neg.sort();
  const positives = pos.length;
  const negatives = neg.length;
  if (positives === 0 || negatives === 0) return { fpr: [], tpr: [], positives, negatives };
  const fpr = [0];
  const tpr = [0];
  let i = positives - 1;
  let j = negatives - 1;
  while (i >= 0 || j >= 0) {
    const s = Math.max(i >= 0 ? pos[i]! : -Infinity, j >= 0 ? neg[j]! : -Infinity);
    while (i >= 0 && pos[i] === s) i--;
    while (j >= 0 && neg[j] === s) j--;
    fpr.push((negatives - 1 - j) / negatives);
    tpr.push((positives - 1 - i) / positives);
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
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`${fn}: bins = ${bins}, expected an integer ≥ 1`);
  const { pos, neg } = splitByClass(fn, p, labels, mask);
  for (let r = 0; r < p.length; r++) {
    if (mask !== undefined && mask[r] !== 1) continue;
    const q = p[r]!;
    if (!(q >= 0 && q <= 1)) throw new Error(`${fn}: p[${r}] is ${q}, expected a probability in [0, 1]`);
  }
  pos.sort();
  neg.sort();
  // Walk both classes in ascending prediction (a merge); row r of n goes to bin floor(r · k / n).
  const n = pos.length + neg.length;
  const k = Math.min(bins, n);
  const out: ReliabilityBin[] = [];
  let i = 0;
  let j = 0;
  for (let b = 0; b < k; b++) {
    const to = Math.floor(((b + 1) * n) / k);
    let rows = 0;
    let positives = 0;
    let sumP = 0;
    let lo = Infinity;
    let hi = -Infinity;
    while (i + j < to) {
      const takePos = j >= neg.length || (i < pos.length && pos[i]! <= neg[j]!);
      const q = takePos ? pos[i++]! : neg[j++]!;
      if (takePos) positives++;
      rows++;
      sumP += q;
      lo = Math.min(lo, q);
      hi = Math.max(hi, q);
    }
    out.push({ lo, hi, rows, positives, meanPredicted: sumP / rows, observedRate: positives / rows });
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
