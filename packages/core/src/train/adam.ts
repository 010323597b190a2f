import type { OptimizerConfig } from '../engine.js';

/**
 * Bias corrections folded into the step size and epsilon (the Adam paper's
 * efficient form) for 1-based step t: lr·√(1−β₂ᵗ)/(1−β₁ᵗ) and ε·√(1−β₂ᵗ).
 */
export function adamScalars(cfg: Pick<OptimizerConfig, 'lr' | 'beta1' | 'beta2' | 'eps'>, t: number): { stepSize: number; epsHat: number } {
  const c2 = Math.sqrt(1 - cfg.beta2 ** t);
  return { stepSize: (cfg.lr * c2) / (1 - cfg.beta1 ** t), epsHat: cfg.eps * c2 };
}

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
  const { beta1, beta2 } = cfg;
  const { stepSize, epsHat } = adamScalars(cfg, t);
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
