import { studentTCdf, studentTQuantile } from './distributions.js';

/** A metric's difference between two models over the same training seeds. */
export interface SeedIntervalResult {
  /** Seeds (pairs) the figures rest on. */
  seeds: number;
  meanA: number;
  meanB: number;
  /** Mean over seeds of a − b (= meanA − meanB). */
  difference: number;
  /** Sample standard deviation (n − 1) of the per-seed differences, and the standard error sd/√n. */
  sd: number;
  se: number;
  /** Degrees of freedom (n − 1) and the Student t quantile t(0.975, n − 1) used. */
  df: number;
  tQuantile: number;
  /** difference ± tQuantile · se. */
  ci95: [number, number];
  /** Paired t statistic and its two-sided p-value for "no difference". */
  t: number;
  pValue: number;
  /** Set, in words, when figures are NaN because the data cannot support them. */
  reason?: string;
}

/**
 * Paired-over-seeds interval: model A and B trained with the same seeds, one
 * metric value each per seed; the per-seed differences' mean, sd and a
 * Student t 95 % interval with n − 1 degrees of freedom (the paired t-test).
 * The t quantile is computed, not tabulated (`studentTQuantile`: exact CDF,
 * bisection), so any number of seeds is right, not only 1..30.
 *
 * This interval is about training randomness only: it says whether another
 * seed would likely flip the comparison, not whether another test set would
 * (that is the bootstrap's or DeLong's job). NaN with `reason` for fewer than
 * 2 seeds or an undefined (NaN) metric value; a zero spread gives a
 * zero-width interval, p = 1 for a zero difference and 0 otherwise.
 */
export function pairedSeedInterval(a: ArrayLike<number>, b: ArrayLike<number>): SeedIntervalResult {
  if (a.length !== b.length) {
    throw new Error(`pairedSeedInterval: ${a.length} values for model A but ${b.length} for model B (same seeds expected)`);
  }
  const n = a.length;
  let sa = 0;
  let sb = 0;
  const undefinedAt: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) undefinedAt.push(i);
    sa += a[i]!;
    sb += b[i]!;
  }
  const meanA = sa / n;
  const meanB = sb / n;
  const nan = (reason: string): SeedIntervalResult => ({
    seeds: n,
    meanA,
    meanB,
    difference: meanA - meanB,
    sd: NaN,
    se: NaN,
    df: n - 1,
    tQuantile: NaN,
    ci95: [NaN, NaN],
    t: NaN,
    pValue: NaN,
    reason,
  });
  if (undefinedAt.length > 0) {
    return nan(`the metric is undefined (NaN) for seed index ${undefinedAt.join(', ')}`);
  }
  if (n < 2) return nan(`${n} seed${n === 1 ? '' : 's'}: a spread over seeds needs at least 2`);
  let sd = 0;
  let difference = 0;
  for (let i = 0; i < n; i++) difference += a[i]! - b[i]!;
  difference /= n;
  for (let i = 0; i < n; i++) sd += (a[i]! - b[i]! - difference) ** 2;
  sd = Math.sqrt(sd / (n - 1));
  const se = sd / Math.sqrt(n);
  const df = n - 1;
  const tQuantile = studentTQuantile(0.975, df);
  let t: number;
  let pValue: number;
  if (se === 0) {
    t = difference === 0 ? 0 : Math.sign(difference) * Infinity;
    pValue = difference === 0 ? 1 : 0;
  } else {
    t = difference / se;
    pValue = Math.min(1, 2 * studentTCdf(-Math.abs(t), df));
  }
  return {
    seeds: n,
    meanA,
    meanB,
    difference,
    sd,
    se,
    df,
    tQuantile,
    ci95: [difference - tQuantile * se, difference + tQuantile * se],
    t,
    pValue,
  };
}
