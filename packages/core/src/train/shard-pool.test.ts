import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { adamUpdate, clipScale } from './adam.js';
import { applyDenseRange, denseRange, denseState, shardSquares } from './shard-pool.js';

/** The sharded step's dense update, range by range, against the reference Adam on the summed gradient. */
describe('dense update of a sharded step', () => {
  const n = 1001;
  const random = (seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5);

  for (const shards of [1, 2, 3]) {
    it(`${shards} shard(s), applied over 3 ranges with a clip factor, equals adamUpdate of the sum over the whole vector, bit for bit`, () => {
      const grads = Array.from({ length: shards }, (_, k) => random(k + 1));
      const optimizer = { ...DEFAULT_OPTIMIZER, lr: 0.01, clipNorm: 0.5 };
      const state = denseState(n, true);
      const want = denseState(n);
      for (const s of [state, want]) {
        s.params.set(random(7));
        s.first.set(random(8).map((x) => x * 0.1));
        s.second.set(random(9).map((x) => x * x));
      }
      // The summed gradient in double, shard order, as adamUpdate reads it.
      const sum = new Float64Array(n);
      for (const g of grads) for (let i = 0; i < n; i++) sum[i]! += g[i]!;
      let squares = 0;
      for (let i = 0; i < n; i++) squares += sum[i]! * sum[i]!;
      const ranges = [0, 1, 2].map((k) => denseRange(n, k, 3));
      expect(ranges.reduce((a, [lo, hi]) => a + shardSquares(grads, lo, hi), 0)).toBeCloseTo(squares, 9);
      const scale = clipScale(squares, optimizer.clipNorm);
      expect(scale).toBeLessThan(1);
      for (const t of [1, 2, 3]) {
        for (const [lo, hi] of ranges) applyDenseRange(state, grads, lo, hi, t, optimizer, scale);
        adamUpdate(want.params, sum, want.first, want.second, t, optimizer, 0, n, 0, scale);
      }
      expect(state.params.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Array.from(state.params)).toEqual(Array.from(want.params));
      expect(Array.from(state.first)).toEqual(Array.from(want.first));
      expect(Array.from(state.second)).toEqual(Array.from(want.second));
    });
  }

  it('splits the flat vector into contiguous ranges that cover it once', () => {
    expect([0, 1, 2].map((k) => denseRange(10, k, 3))).toEqual([[0, 3], [3, 6], [6, 10]]);
    expect(denseRange(5, 0, 1)).toEqual([0, 5]);
  });
});
