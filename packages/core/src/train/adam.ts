import type { OptimizerConfig } from '../engine.js';

/**
 * One Adam step on a slice of parameters, in place: the reference every
 * engine's optimizer is tested against. `t` is the 1-based step count;
 * `scale` multiplies the gradient first (global-norm clipping).
 */
export function adamUpdate(
  w: Float32Array,
  g: ArrayLike<number>,
  m: Float32Array,
  v: Float32Array,
  t: number,
  cfg: Pick<OptimizerConfig, 'lr' | 'beta1' | 'beta2' | 'eps'>,
  offset = 0,
  length = w.length - offset,
  gOffset = 0,
  scale = 1,
): void {
  const { lr, beta1, beta2, eps } = cfg;
  // Bias corrections folded into the step size, as in the Adam paper's efficient form.
  const stepSize = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
  const epsHat = eps * Math.sqrt(1 - beta2 ** t);
  for (let k = 0; k < length; k++) {
    const i = offset + k;
    const gi = g[gOffset + k]! * scale;
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i]! - (stepSize * mi) / (Math.sqrt(vi) + epsHat);
  }
}

/** One Adagrad step in place (accumulator starts at 0; eps keeps the first step finite). */
export function adagradUpdate(
  w: Float32Array,
  g: ArrayLike<number>,
  acc: Float32Array,
  cfg: Pick<OptimizerConfig, 'lr' | 'eps'>,
  offset = 0,
  length = w.length - offset,
  gOffset = 0,
  scale = 1,
): void {
  for (let k = 0; k < length; k++) {
    const i = offset + k;
    const gi = g[gOffset + k]! * scale;
    const a = acc[i]! + gi * gi;
    acc[i] = a;
    w[i] = w[i]! - (cfg.lr * gi) / (Math.sqrt(a) + cfg.eps);
  }
}

/** Global-norm clipping factor: 1 when off or under the limit. */
export function clipScale(sumSquares: number, clipNorm: number): number {
  if (!(clipNorm > 0)) return 1;
  const norm = Math.sqrt(sumSquares);
  return norm > clipNorm ? clipNorm / norm : 1;
}
