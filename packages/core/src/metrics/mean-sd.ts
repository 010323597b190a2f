/** Mean and sample sd of one figure over runs (seeds), with the runs where it was undefined. */
export interface MeanSd {
  /** NaN when any run's value is undefined (NaN, null or absent): a mean over the runs that worked would hide the ones that failed. */
  mean: number;
  /** Sample standard deviation (n − 1); NaN for one value, or when any is undefined. */
  sd: number;
  /** Runs with a value. */
  n: number;
  /** Positions (in the order given) of the runs whose value is undefined. */
  missing: number[];
}

/**
 * The one mean ± sd over seeds of the project (comparison.md and the HTML
 * reports both use it, so they cannot disagree). NaN rule: an undefined value
 * in any run (NaN, null — JSON's NaN — or absent) makes the mean and sd NaN,
 * and `missing` says which runs; values undefined in every run are simply
 * absent (n = 0).
 */
export function meanSd(values: readonly (number | null | undefined)[]): MeanSd {
  const missing: number[] = [];
  const xs: number[] = [];
  values.forEach((v, i) => (typeof v === 'number' && Number.isFinite(v) ? xs.push(v) : missing.push(i)));
  const n = xs.length;
  if (n === 0 || missing.length > 0) return { mean: NaN, sd: NaN, n, missing };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? NaN : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, sd, n, missing };
}
