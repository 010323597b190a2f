import { formatType } from '../../ir/shape.js';
import type { TensorType } from '../../ir/tensor-type.js';

/** Number of pairs i < j among f rows. */
export const pairCount = (f: number): number => (f * (f - 1)) / 2;

/** The pairs [i, j], i < j, of f rows in pairwiseDot's output order (row-major upper triangle). */
export function upperTrianglePairs(f: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < f; i++) for (let j = i + 1; j < f; j++) pairs.push([i, j]);
  return pairs;
}

/**
 * For each cell (i, j) of an f×f matrix, row-major, the index of pair
 * {i, j} in pairwiseDot's output, and pairCount(f) on the diagonal: how
 * lowerings spread a pairwise gradient back into a symmetric matrix (gather
 * from the gradient with a zero column appended).
 */
export function symmetricPairIndex(f: number): number[] {
  const index = new Array<number>(f * f).fill(pairCount(f));
  upperTrianglePairs(f).forEach(([i, j], p) => {
    index[i * f + j] = p;
    index[j * f + i] = p;
  });
  return index;
}

/** x f32[n, F, D] with static F ≥ 2 and D: the operand of pairwiseDot; returns F or a message. */
export function pairRows(x: TensorType): number | string {
  const [, f, d] = x.shape;
  if (x.dtype !== 'f32' || x.shape.length !== 3 || typeof f !== 'number' || typeof d !== 'number') return `x must be f32[n,F,D] with static F and D, got ${formatType(x)}`;
  return f >= 2 ? f : `x must have at least 2 rows to pair, got ${formatType(x)}`;
}
