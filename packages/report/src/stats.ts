/** Mean and sample standard deviation (n − 1; NaN for one value) of the finite values; NaN mean when none. */
export function meanSd(values: readonly (number | null | undefined)[]): { mean: number; sd: number; n: number } {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { mean: NaN, sd: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, sd: NaN, n };
  const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (n - 1)), n };
}
