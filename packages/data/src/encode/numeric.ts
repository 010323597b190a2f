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

/**
 * A normalisation as x ↦ (x − shift) · scale, the one arithmetic both the
 * encoders and the raw-feature ONNX export apply; a constant column gets
 * scale 0 (it maps to 0) rather than a division by zero.
 */
export function affineNormalization(kind: Normalization, s: NumericStatsJSON): { shift: number; scale: number } {
  if (kind === 'zscore') return { shift: s.mean, scale: s.std > 0 ? 1 / s.std : 0 };
  if (kind === 'minmax') {
    const range = s.max - s.min;
    return { shift: s.min, scale: range > 0 ? 1 / range : 0 };
  }
  return { shift: 0, scale: 1 };
}

/** Returns x ↦ normalised x (see affineNormalization). */
export function normalizer(kind: Normalization, s: NumericStatsJSON): (x: number) => number {
  if (kind === 'none') return (x) => x;
  const { shift, scale } = affineNormalization(kind, s);
  return (x) => (x - shift) * scale;
}
