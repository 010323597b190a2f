import { GraphBuilder, mulberry32, ops, type Graph, type HostTensor, type Value } from '@esm2/core';

/**
 * A hand-built graph putting the ops zoo graphs and their gradients do not
 * reach (sub, sqrt, div, sum, maximum: the optimizer's) and the edge cases of
 * the others on one page: padding ids and rows of padding only in the
 * scatters, duplicate ids, probabilities at and beyond bce's clip, weights
 * summing to 0, sums over broadcast axes of several kinds, transposed matmuls.
 */
export function edgeOpsGraph(): Graph {
  const b = new GraphBuilder('edge-ops');
  const x = b.input('x', 'f32', ['batch', 4]);
  const dy = b.input('dy', 'f32', ['batch', 4]);
  const g = b.input('g', 'f32', ['batch']);
  const p = b.input('p', 'f32', ['batch']);
  const y = b.input('y', 'f32', ['batch'], 'label');
  const w = b.input('w', 'f32', ['batch']);
  const ids = b.input('ids', 'i32', ['batch']);
  const multi = b.input('multi', 'i32', ['batch', 3]);
  const m = b.param('m', [4, 4], { kind: 'glorotUniform' });
  const table = b.param('table', [6, 4], { kind: 'normal', std: 1 }, 'embedding');
  const out: Record<string, Value> = {
    pooledSum: ops.pooledGather(b, table, multi, 'sum'),
    pooledMean: ops.pooledGather(b, table, multi, 'mean'),
    bce: ops.bce(b, p, y),
    bceWide: ops.bce(b, p, y, 0.05),
    mean: ops.mean(b, g),
    weightedMean: ops.weightedMean(b, g, w),
    reluGrad: b.op('reluGrad', [dy, x], {}),
    bceGrad: b.op('bceGrad', [g, p, y], { eps: 1e-7 }),
    bceGradWide: b.op('bceGrad', [g, p, y], { eps: 0.05 }),
    meanGrad: b.op('meanGrad', [ops.constant(b, 2.5), x], {}),
    weightedMeanGrad: b.op('weightedMeanGrad', [ops.constant(b, 0.7), w], {}),
    sumToRow: b.op('sumTo', [x], { shape: [4] }),
    sumToCol: b.op('sumTo', [x], { shape: ['batch', 1] }),
    sumToScalar: b.op('sumTo', [x], { shape: [] }),
    sumToSame: b.op('sumTo', [x], { shape: ['batch', 4] }),
    slice: b.op('slice', [x], { axis: 1, start: 1, size: 2 }),
    scatterAdd: b.op('scatterAdd', [ids, dy], { rows: 6 }),
    pooledScatterMean: b.op('pooledScatterAdd', [multi, dy], { rows: 6, mode: 'mean' }),
    pooledScatterSum: b.op('pooledScatterAdd', [multi, dy], { rows: 6, mode: 'sum' }),
    sub: ops.sub(b, x, dy),
    matmulTransB: b.op('matmul', [x, m], { transB: true }),
    matmulTransA: b.op('matmul', [x, dy], { transA: true }),
    sqrt: ops.sqrt(b, ops.maximum(b, x, ops.constant(b, 0))),
    div: ops.div(b, x, ops.maximum(b, dy, ops.constant(b, 0.5))),
    sum: ops.sum(b, x),
    reshapeIds: ops.reshape(b, multi, ['batch', 1, 3]),
  };
  for (const [name, v] of Object.entries(out)) b.output(name, v);
  return b.build();
}

/**
 * Feeds for edgeOpsGraph: ids with padding (-1) and duplicates, a first row of
 * padding only, a second row holding one id twice, probabilities at and
 * beyond the clip, zeros in x, and weights at random, all zero (weightedMean's
 * 0/0 case) or negative (a sum below 0 also gives 0).
 */
export function edgeOpsFeeds(batch: number, seed: number, weights: 'random' | 'zero' | 'negative' = 'random'): Record<string, HostTensor> {
  const r = mulberry32(seed);
  const f32 = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  const specialP = [0, 1e-9, 1, 1 - 1e-9, 0.05, 0.95, 1e-7, 1 - 1e-7];
  return {
    // Every fifth x is exactly 0: relu's kink (reluGrad passes x > 0 only).
    x: { shape: [batch, 4], data: f32(batch * 4, (i) => (i % 5 === 0 ? 0 : r() * 4 - 2)) },
    dy: { shape: [batch, 4], data: f32(batch * 4, () => r() * 2 - 1) },
    g: { shape: [batch], data: f32(batch, () => r() * 2 - 1) },
    p: { shape: [batch], data: f32(batch, (i) => specialP[i] ?? 0.01 + r() * 0.98) },
    y: { shape: [batch], data: f32(batch, () => (r() < 0.4 ? 1 : 0)) },
    w: { shape: [batch], data: f32(batch, () => (weights === 'zero' ? 0 : weights === 'negative' ? -r() : r() < 0.3 ? 0 : r() * 3)) },
    ids: { shape: [batch], data: Int32Array.from({ length: batch }, () => (r() < 0.2 ? -1 : Math.floor(r() * 6))) },
    multi: {
      shape: [batch, 3],
      data: Int32Array.from({ length: batch * 3 }, (_, i) => (i < 3 || i === 5 ? -1 : i === 3 || i === 4 ? 2 : r() < 0.3 ? -1 : Math.floor(r() * 6))),
    },
  };
}
