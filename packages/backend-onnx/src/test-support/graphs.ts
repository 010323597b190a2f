import { GraphBuilder, buildModel, grad, mulberry32, ops, type Graph, type HostTensor, type ModelConfigInput, type ZooModel } from '@esm2/core';
import { smallSchema } from '@esm2/core/testing';

/**
 * Every zoo model with each interaction module, one-layer towers. 'dot'
 * needs one width for every field (the small schema's 'item' is 3 wide);
 * ESM2's numerics join the dots as they are (numericDim 3), the others'
 * through the projection (numericDim 2). DNN's two networks each carry one.
 */
export const INTERACTION_VARIANTS: Record<string, ModelConfigInput> = Object.fromEntries(
  (['esm2', 'esmm', 'dnn', 'dnn-os'] as const).flatMap((model) => [
    [`${model}-dot`, { model, towers: [4], interaction: 'dot', embeddingDim: 3, numericDim: model === 'esm2' ? 3 : 2 }],
    [`${model}-cross`, { model, towers: [4], interaction: 'cross', crossLayers: model === 'esm2' ? 2 : 1 }],
  ]),
);

/** Every zoo model (and the variants that change the graph), with small towers so the f64 interpreter stays quick. */
export const ZOO_VARIANTS: Record<string, ModelConfigInput> = {
  esm2: { model: 'esm2', towers: [8, 4] },
  'esm2-tanh': { model: 'esm2', towers: [6], activation: 'tanh' },
  esmm: { model: 'esmm', towers: [8, 4] },
  'dnn-cvr': { model: 'dnn', task: 'cvr', towers: [8, 4] },
  'dnn-ctr': { model: 'dnn', task: 'ctr', towers: [8] },
  'dnn-os': { model: 'dnn-os', oversampleRate: 4, towers: [8, 4] },
  ...INTERACTION_VARIANTS,
};

export function zooModel(variant: string): ZooModel {
  return buildModel(smallSchema(), ZOO_VARIANTS[variant]);
}

/** The model's training graph with gradients of `loss` for every parameter. */
export function trainingGraph(model: ZooModel): Graph {
  return grad(model.graph);
}

/**
 * A hand-built graph putting every backward and optimizer op (and the
 * forward ops the zoo does not use: sub, transposed matmul) on edge cases:
 * padding ids, rows of padding only, clipped probabilities, sums over
 * broadcast axes of several kinds.
 */
export function backwardOpsGraph(): Graph {
  const b = new GraphBuilder('backward-ops');
  const x = b.input('x', 'f32', ['batch', 4]);
  const dy = b.input('dy', 'f32', ['batch', 4]);
  const g = b.input('g', 'f32', ['batch']);
  const p = b.input('p', 'f32', ['batch']);
  const y = b.input('y', 'f32', ['batch'], 'label');
  const w = b.input('w', 'f32', ['batch']);
  const ids = b.input('ids', 'i32', ['batch']);
  const multi = b.input('multi', 'i32', ['batch', 3]);
  const m = b.param('m', [4, 4], { kind: 'glorotUniform' });
  const out: Record<string, ReturnType<typeof ops.add>> = {
    reluGrad: b.op('reluGrad', [dy, x], {}),
    bceGrad: b.op('bceGrad', [g, p, y], { eps: 1e-7 }),
    bceGradWide: b.op('bceGrad', [g, p, y], { eps: 0.05 }),
    meanGrad: b.op('meanGrad', [ops.constant(b, 2.5), x], {}),
    weightedMeanGrad: b.op('weightedMeanGrad', [ops.constant(b, 0.7), w], {}),
    weightedMean: ops.weightedMean(b, g, w),
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
    sqrt: b.op('sqrt', [b.op('maximum', [x, ops.constant(b, 0)], {})], {}),
    div: b.op('div', [x, b.op('maximum', [dy, ops.constant(b, 0.5)], {})], {}),
    sum: b.op('sum', [x], {}),
  };
  for (const [name, v] of Object.entries(out)) b.output(name, v);
  return b.build();
}

/**
 * Feeds for backwardOpsGraph: ids with padding (-1) in scatter inputs, a
 * row of padding only, probabilities at and beyond the clip, and optionally
 * all-zero weights (weightedMean's 0/0 case).
 */
export function backwardOpsFeeds(batch: number, seed: number, zeroWeights = false): Record<string, HostTensor> {
  const r = mulberry32(seed);
  const f32 = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  const specialP = [0, 1e-9, 1, 1 - 1e-9, 0.05, 0.95];
  return {
    x: { shape: [batch, 4], data: f32(batch * 4, () => r() * 4 - 2) },
    dy: { shape: [batch, 4], data: f32(batch * 4, () => r() * 2 - 1) },
    g: { shape: [batch], data: f32(batch, () => r() * 2 - 1) },
    p: { shape: [batch], data: f32(batch, (i) => specialP[i] ?? 0.01 + r() * 0.98) },
    y: { shape: [batch], data: f32(batch, () => (r() < 0.4 ? 1 : 0)) },
    w: { shape: [batch], data: f32(batch, () => (zeroWeights ? 0 : r() < 0.3 ? 0 : r() * 3)) },
    ids: { shape: [batch], data: Int32Array.from({ length: batch }, () => (r() < 0.2 ? -1 : Math.floor(r() * 6))) },
    multi: {
      shape: [batch, 3],
      data: Int32Array.from({ length: batch * 3 }, (_, i) => (i < 3 || r() < 0.3 ? -1 : Math.floor(r() * 6))),
    },
  };
}
