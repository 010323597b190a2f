import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { adamUpdate, clipScale } from './adam.js';
import { SparseEmbeddingTable } from './sparse-table.js';

describe('adamUpdate', () => {
  it('matches a hand computation of two steps', () => {
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    const w = Float32Array.of(1);
    const m = new Float32Array(1);
    const v = new Float32Array(1);
    adamUpdate(w, [0.5], m, v, 1, cfg);
    // step 1: m̂ = g, v̂ = g², update = lr·g/|g| = 0.1
    expect(w[0]).toBeCloseTo(0.9, 6);
    adamUpdate(w, [-0.2], m, v, 2, cfg);
    const m2 = 0.9 * 0.05 + 0.1 * -0.2;
    const v2 = 0.999 * 0.001 * 0.25 + 0.001 * 0.04;
    const expected = 0.9 - (0.1 * (m2 / (1 - 0.81))) / (Math.sqrt(v2 / (1 - 0.999 ** 2)) + 1e-8);
    expect(w[0]).toBeCloseTo(expected, 5);
  });

  it('clipScale leaves small norms alone and scales large ones to the limit', () => {
    expect(clipScale(9, 0)).toBe(1);
    expect(clipScale(9, 5)).toBe(1);
    expect(clipScale(100, 5)).toBe(0.5);
  });
});

const sumSquares = (g: Float32Array) => g.reduce((s, x) => s + x * x, 0);

describe('SparseEmbeddingTable', () => {
  const cfg = { ...DEFAULT_OPTIMIZER, lr: 0.01 };

  it('aggregates duplicate ids and updates only touched rows, like dense Adam on step 1', () => {
    const rows = 6;
    const dim = 2;
    const init = Float32Array.from({ length: rows * dim }, (_, i) => i / 10);
    const table = new SparseEmbeddingTable(rows, dim, Float32Array.from(init), cfg);
    const ids = Int32Array.of(4, 1, 4);
    const grad = Float32Array.of(1, 2, 3, 4, 5, 6);
    table.accumulate(ids, grad);
    expect(Array.from(table.touchedRows)).toEqual([4, 1]);
    expect(sumSquares(table.pending().grads)).toBeCloseTo(6 * 6 + 8 * 8 + 3 * 3 + 4 * 4, 10);
    table.update(1);
    const dense = Float32Array.from(init);
    const denseGrad = new Float32Array(rows * dim);
    denseGrad.set([3, 4], 2);
    denseGrad.set([6, 8], 8);
    adamUpdate(dense, denseGrad, new Float32Array(rows * dim), new Float32Array(rows * dim), 1, cfg);
    expect(Array.from(table.weights)).toEqual(Array.from(dense));
    expect(table.weights[0]).toBe(init[0]);
    expect(table.touchedRows.length).toBe(0);
  });

  it('pooled lookups skip padding and spread mean gradients over the ids', () => {
    const table = new SparseEmbeddingTable(3, 1, Float32Array.of(1, 2, 4), { ...cfg, embeddingOptimizer: 'adagrad' });
    const out = new Float32Array(2);
    table.gatherPooled(Int32Array.of(0, 2, -1, 1, -1, -1), 3, 'mean', out);
    expect(Array.from(out)).toEqual([2.5, 2]);
    table.accumulate(Int32Array.of(0, 2, -1, 1, -1, -1), Float32Array.of(1, 3), 3, 'mean');
    expect(sumSquares(table.pending().grads)).toBeCloseTo(0.25 + 9 + 0.25, 10);
  });

  it('rejects out-of-range ids with their position', () => {
    const table = new SparseEmbeddingTable(3, 1, new Float32Array(3), cfg, 'emb/user');
    expect(() => table.gather(Int32Array.of(0, 3), new Float32Array(2), 'user')).toThrow("input 'user': id 3 at position 1 is outside table 'emb/user' of 3 rows");
    expect(() => table.gatherPooled(Int32Array.of(0, -1, 7, 1), 2, 'mean', new Float32Array(2))).toThrow("id 7 at position 2 is outside table 'emb/user' of 3 rows");
  });
});

describe('SparseEmbeddingTable: embeddingLr', () => {
  it('steps the rows at embeddingLr (Adam and Adagrad, hand-computed) and at lr when it is 0', () => {
    const ids = Int32Array.of(1);
    const grad = Float32Array.of(0.5, -2);
    const stepped = (optimizer: typeof DEFAULT_OPTIMIZER) => {
      const table = new SparseEmbeddingTable(2, 2, Float32Array.of(0, 0, 1, 1), optimizer);
      table.accumulate(ids, grad);
      table.update(1);
      return [...table.weights];
    };
    // Adam's first step moves each touched value by the rate times sign(g); row 0 is untouched.
    const adam = { ...DEFAULT_OPTIMIZER, lr: 0.1, embeddingLr: 0.004 };
    const w = stepped(adam);
    expect(w.slice(0, 2)).toEqual([0, 0]);
    expect(w[2]).toBeCloseTo(1 - 0.004, 6);
    expect(w[3]).toBeCloseTo(1 + 0.004, 6);
    expect(stepped({ ...adam, embeddingLr: 0 })[2]).toBeCloseTo(1 - 0.1, 6);
    // Adagrad, first step: w − lr·g/(|g| + eps).
    const adagrad = { ...adam, embeddingOptimizer: 'adagrad' as const };
    expect(stepped(adagrad)[3]).toBeCloseTo(1 + (0.004 * 2) / (2 + adagrad.eps), 6);
  });
});
