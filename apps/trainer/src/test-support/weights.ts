import type { ModelArtifact } from '@esm2/core';
import { expect } from 'vitest';

/** The largest absolute difference between two artifacts' weights, parameter by parameter (each parameter's size checked equal). */
export function worstWeight(a: ModelArtifact, b: ModelArtifact): number {
  let worst = 0;
  for (const [name, w] of a.weights) {
    const v = b.weights.get(name)!;
    expect(v.length, name).toBe(w.length);
    for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i]! - v[i]!));
  }
  return worst;
}
