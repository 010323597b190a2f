/** Running mean/variance (Welford: stable over millions of rows) plus range, for normalisation. */
export interface NumericStatsJSON {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

export class NumericAccumulator {
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;

  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  stats(): NumericStatsJSON {
    if (this.n === 0) return { count: 0, mean: 0, std: 1, min: 0, max: 0 };
    return { count: this.n, mean: this.mean, std: Math.sqrt(this.m2 / this.n), min: this.min, max: this.max };
  }
}

export type Normalization = 'zscore' | 'minmax' | 'none';

/** Returns x ↦ normalised x; a constant column maps to 0 rather than dividing by zero. */
export function normalizer(kind: Normalization, s: NumericStatsJSON): (x: number) => number {
  if (kind === 'zscore') {
    const inv = s.std > 0 ? 1 / s.std : 0;
    return (x) => (x - s.mean) * inv;
  }
  if (kind === 'minmax') {
    const range = s.max - s.min;
    const inv = range > 0 ? 1 / range : 0;
    return (x) => (x - s.min) * inv;
  }
  return (x) => x;
}
