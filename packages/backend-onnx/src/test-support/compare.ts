import type { HostTensor } from '@esm2/core';

/**
 * Largest |got − want| / max(1, |want|) over all elements: absolute for
 * probabilities and small gradients, relative for large loss-like values.
 */
export function worstError(got: ArrayLike<number>, want: HostTensor): number {
  if (got.length !== want.data.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const w = want.data[i]!;
    const err = Math.abs(got[i]! - w) / Math.max(1, Math.abs(w));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}
