import { splitByClass } from './auc.js';
import { erfc, normalQuantile } from './distributions.js';
import { aucOfSorted, midPlacement } from './mann-whitney.js';
import { checkSameLength, type NumericArray } from './validate.js';

/** DeLong's comparison of two AUCs measured on the same rows. */
export interface DelongResult {
  /** AUC of model A and B (exact, ties averaged: the same numbers as `auc`). */
  aucA: number;
  aucB: number;
  /** aucA − aucB. */
  difference: number;
  /** DeLong variance of the difference, and its square root. */
  variance: number;
  se: number;
  /** difference ± z₀.₉₇₅ · se. */
  ci95: [number, number];
  /** difference / se, and the two-sided normal p-value of "no difference". */
  z: number;
  pValue: number;
  /** DeLong variances of each AUC and their covariance (the 2×2 matrix). */
  varianceA: number;
  varianceB: number;
  covariance: number;
  /** Selected rows of each class the figures rest on. */
  positives: number;
  negatives: number;
  /** Set, in words, when a figure is NaN because the data cannot support it. */
  reason?: string;
}

const Z975 = normalQuantile(0.975);

/**
 * DeLong, DeLong & Clarke-Pearson (1988): the variance of the difference of
 * two correlated AUCs (two models scored on the same rows against the same
 * labels) from the structural components V10 (each positive's placement
 * among the negatives) and V01 (each negative's among the positives):
 *   Var(Â − B̂) = Var_i(V10ᴬ − V10ᴮ)/m + Var_j(V01ᴬ − V01ᴮ)/n,
 * sample variances over the m positives and n negatives. The components are
 * the midrank differences of Sun & Xu (2014), computed in O(n log n): each
 * class is sorted once and every row's mid-placement (count below + half the
 * ties) found by binary search, so ties count ½ exactly as in `auc`.
 *
 * `mask[i] = 1` keeps row i, as in `auc`. Bad input (NaN score, label not
 * 0/1, length mismatch) throws naming the index; data that cannot support the
 * test (a class missing, or fewer than 2 rows in a class, where a sample
 * variance does not exist) gives NaN with `reason`. With zero variance (e.g.
 * two identical rankings) the interval collapses to the difference and the
 * p-value is 1 for a zero difference, 0 otherwise.
 */
export function delongTest(
  scoresA: NumericArray,
  scoresB: NumericArray,
  labels: NumericArray,
  mask?: NumericArray,
): DelongResult {
  checkSameLength('delongTest', { scoresA, scoresB, labels, mask });
  const a = splitByClass('delongTest', scoresA, labels, mask);
  const b = splitByClass('delongTest', scoresB, labels, mask);
  const m = a.pos.length;
  const n = a.neg.length;
  const nan = (reason: string, aucA = NaN, aucB = NaN): DelongResult => ({
    aucA,
    aucB,
    difference: aucA - aucB,
    variance: NaN,
    se: NaN,
    ci95: [NaN, NaN],
    z: NaN,
    pValue: NaN,
    varianceA: NaN,
    varianceB: NaN,
    covariance: NaN,
    positives: m,
    negatives: n,
    reason,
  });
  if (m === 0 || n === 0) {
    return nan(`no ${m === 0 ? 'positives' : 'negatives'} among the ${m + n} selected rows: AUC is undefined`);
  }
  const sortedPosA = a.pos.slice().sort();
  const sortedNegA = a.neg.slice().sort();
  const sortedPosB = b.pos.slice().sort();
  const sortedNegB = b.neg.slice().sort();
  const aucA = aucOfSorted(sortedPosA, sortedNegA);
  const aucB = aucOfSorted(sortedPosB, sortedNegB);
  if (m < 2 || n < 2) {
    return nan(
      `${m} positives and ${n} negatives: DeLong's variance needs at least 2 of each`,
      aucA,
      aucB,
    );
  }

  // Structural components, paired by row (both splits keep row order).
  const v10 = covarianceOf(
    m,
    (i) => midPlacement(sortedNegA, a.pos[i]!) / n,
    (i) => midPlacement(sortedNegB, b.pos[i]!) / n,
  );
  const v01 = covarianceOf(
    n,
    (j) => 1 - midPlacement(sortedPosA, a.neg[j]!) / m,
    (j) => 1 - midPlacement(sortedPosB, b.neg[j]!) / m,
  );
  const varianceA = v10.xx / m + v01.xx / n;
  const varianceB = v10.yy / m + v01.yy / n;
  const covariance = v10.xy / m + v01.xy / n;
  // Var(x − y) from the paired differences directly: no cancellation between
  // two nearly equal variances when the models rank alike.
  const variance = Math.max(0, v10.dd / m + v01.dd / n);
  const se = Math.sqrt(variance);
  const difference = aucA - aucB;
  let z: number;
  let pValue: number;
  if (se === 0) {
    z = difference === 0 ? 0 : Math.sign(difference) * Infinity;
    pValue = difference === 0 ? 1 : 0;
  } else {
    z = difference / se;
    pValue = Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
  }
  return {
    aucA,
    aucB,
    difference,
    variance,
    se,
    ci95: [difference - Z975 * se, difference + Z975 * se],
    z,
    pValue,
    varianceA,
    varianceB,
    covariance,
    positives: m,
    negatives: n,
  };
}

/** Sample (n − 1) variances and covariance of paired x_k, y_k, and the variance of x − y. */
function covarianceOf(
  count: number,
  x: (k: number) => number,
  y: (k: number) => number,
): { xx: number; yy: number; xy: number; dd: number } {
  const xs = new Float64Array(count);
  const ys = new Float64Array(count);
  let sx = 0;
  let sy = 0;
  for (let k = 0; k < count; k++) {
    xs[k] = x(k);
    ys[k] = y(k);
    sx += xs[k]!;
    sy += ys[k]!;
  }
  const mx = sx / count;
  const my = sy / count;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  let dd = 0;
  for (let k = 0; k < count; k++) {
    const dx = xs[k]! - mx;
    const dy = ys[k]! - my;
    xx += dx * dx;
    yy += dy * dy;
    xy += dx * dy;
    dd += (dx - dy) * (dx - dy);
  }
  const d = count - 1;
  return { xx: xx / d, yy: yy / d, xy: xy / d, dd: dd / d };
}
