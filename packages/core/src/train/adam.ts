import type { OptimizerConfig } from '../engine.js';

/**
 * Bias corrections folded into the step size and epsilon (the Adam paper's
 * efficient form) for 1-based step t: lr·√(1−β₂ᵗ)/(1−β₁ᵗ) and ε·√(1−β₂ᵗ).
 */
export function adamScalars(cfg: Pick<OptimizerConfig, 'lr' | 'beta1' | 'beta2' | 'eps'>, t: number): { stepSize: number; epsHat: number } {
  const c2 = Math.sqrt(1 - cfg.beta2 ** t);
  return { stepSize: (cfg.lr * c2) / (1 - cfg.beta1 ** t), epsHat: cfg.eps * c2 };
}

/** What one Adam step needs besides the arrays: the betas and adamScalars of step t, computed once per step. */
export interface AdamStep {
  beta1: number;
  beta2: number;
  stepSize: number;
  epsHat: number;
}

/** The per-step constants of Adam at 1-based step `t`. */
export function adamStep(cfg: Pick<OptimizerConfig, 'lr' | 'beta1' | 'beta2' | 'eps'>, t: number): AdamStep {
  return { beta1: cfg.beta1, beta2: cfg.beta2, ...adamScalars(cfg, t) };
}

/**
 * The host Adam update, written once: every host-side Adam (adamUpdate, the shard pool's
 * dense ranges, the sparse tables' rows, the tfjs engine's dense parameters)
 * goes through adamRange, whose loops step each value with this formula:
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  w ← w − stepSize·m / (√v + epsHat).
 * Small enough for the engine to inline into the loops; the scalars come
 * as arguments, not as an object, which keeps the sparse tables' short rows
 * as fast as the inline loop they had (measured).
 */
function adamAt(w: Float32Array, m: Float32Array, v: Float32Array, i: number, g: number, beta1: number, beta2: number, c1: number, c2: number, stepSize: number, epsHat: number): void {
  const mi = beta1 * m[i]! + c1 * g;
  const vi = beta2 * v[i]! + c2 * g * g;
  m[i] = mi;
  v[i] = vi;
  w[i] = w[i]! - (stepSize * mi) / (Math.sqrt(vi) + epsHat);
}

/**
 * Adam in place on w, m, v over `length` values from `offset` — or, given
 * `rows`, over `length` values from rows[s]·length for each s (a table's
 * touched rows, `length` its width) — from the gradient
 * g = scale · Σⱼ grads[j] (summed in array order, in double, read
 * contiguously from `gOffset`; `scale` is the global-norm clip factor, 1
 * without clipping). Fused so the arrays are read once (the shard pool's
 * several gradients included). The IR's denseAdam (train-step.ts) is the
 * same formula as graph ops, tested against this.
 */
export function adamRange(
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  grads: readonly ArrayLike<number>[],
  offset: number,
  length: number,
  gOffset: number,
  scale: number,
  step: AdamStep,
  rows?: ArrayLike<number>,
): void {
  const { beta1, beta2, stepSize, epsHat } = step;
  const [c1, c2] = [1 - beta1, 1 - beta2];
  const [g0, g1] = [grads[0]!, grads[1]];
  if (grads.length === 1) {
    const segments = rows ? rows.length : 1;
    for (let s = 0; s < segments; s++) {
      const base = rows ? rows[s]! * length : offset;
      const shift = gOffset + s * length - base;
      for (let i = base, end = base + length; i < end; i++) adamAt(w, m, v, i, g0[i + shift]! * scale, beta1, beta2, c1, c2, stepSize, epsHat);
    }
    return;
  }
  if (rows) throw new Error('adamRange: rows take one gradient');
  const shift = gOffset - offset;
  if (grads.length === 2 && g1 !== undefined) {
    for (let i = offset, end = offset + length; i < end; i++) adamAt(w, m, v, i, (g0[i + shift]! + g1[i + shift]!) * scale, beta1, beta2, c1, c2, stepSize, epsHat);
    return;
  }
  for (let i = offset, end = offset + length; i < end; i++) {
    let g = g0[i + shift]!;
    for (let k = 1; k < grads.length; k++) g += grads[k]![i + shift]!;
    adamAt(w, m, v, i, g * scale, beta1, beta2, c1, c2, stepSize, epsHat);
  }
}

/**
 * One Adam step on a slice of parameters, in place (adamRange on one
 * gradient): the reference every engine's optimizer is tested against.
 * `t` is the 1-based step count; `scale` multiplies the gradient first
 * (global-norm clipping).
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
  adamRange(w, m, v, [g], offset, length, gOffset, scale, adamStep(cfg, t));
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
