import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { matrixProductFlops, productFlops } from './flops.js';
import { buildTrainStep } from './train-step.js';

/**
 * Hand counts on the small schema (user, item, tags at width 3; 2 numerics
 * projected to 2): the towers read 3 + 3 + 3 + 2 = 11 columns, and each of
 * the four towers [5, 3] multiplies 11×5, 5×3 and 3×1 per row.
 */
describe('matrixProductFlops', () => {
  const schema = smallSchema();
  const options = { towers: [5, 3], embeddingDim: 3, numericDim: 2 };
  const towerMacs = 11 * 5 + 5 * 3 + 3 * 1; // 73 multiply-adds per row and tower
  const numericMacs = 2 * 2;

  it('counts 2·m·k·n per matmul of the forward graph, per row', () => {
    const model = buildModel(schema, options);
    const flops = matrixProductFlops(model.graph, 1024);
    expect(flops.perSample).toBe(2 * (4 * towerMacs + numericMacs)); // 592
    expect(flops.products).toHaveLength(4 * 3 + 1);
    expect(flops.products.filter((p) => p.m === 'batch' && p.k === 11 && p.n === 5)).toHaveLength(4);
  });

  it('counts the training step: the forward products, dW of every weight, dX of every layer whose input needs a gradient', () => {
    const model = buildModel(schema, options);
    const step = matrixProductFlops(buildTrainStep(model, DEFAULT_OPTIMIZER).graph, 1024);
    // Towers: forward, dX and dW of each layer (the first layer's dX reaches the embedding rows); the numeric
    // projection: forward and dW only (the numeric inputs take no gradient).
    expect(step.perSample).toBe(2 * (3 * 4 * towerMacs + 2 * numericMacs)); // 1768
    // dW = Xᵀ·dY sums over the rows: k is the batch; dX = dY·Wᵀ.
    expect(step.products.filter((p) => p.transA && p.k === 'batch' && p.m === 11 && p.n === 5)).toHaveLength(4);
    expect(step.products.filter((p) => p.transB && p.m === 'batch' && p.k === 5 && p.n === 11)).toHaveLength(4);
  });

  it('counts the interaction modules: cross layers D×D, dot products as the per-row Gram matrix', () => {
    const cross = matrixProductFlops(buildModel(schema, { ...options, interaction: 'cross', crossLayers: 2 }).graph, 64);
    expect(cross.perSample).toBe(2 * (4 * towerMacs + numericMacs + 2 * 11 * 11));
    // dot: 4 fields of width 3 (the numerics projected 2 → 3), 6 pairs appended to the 11 columns.
    const dot = matrixProductFlops(buildModel(schema, { ...options, interaction: 'dot' }).graph, 64);
    const dotTowerMacs = 17 * 5 + 5 * 3 + 3 * 1;
    expect(dot.perSample).toBe(2 * (4 * dotTowerMacs + numericMacs + 2 * 3 + 4 * 3 * 4));
    expect(dot.products.find((p) => p.op === 'pairwiseDot')).toMatchObject({ batch: 'batch', m: 4, k: 3, n: 4 });
  });

  it('shares a product without the batch dimension between the rows', () => {
    const p = { node: '%1', op: 'matmul', batch: 1, m: 4, k: 5, n: 6, transA: false, transB: false } as const;
    expect(productFlops(p, 10)).toBe(240);
    expect(productFlops({ ...p, m: 'batch' }, 10)).toBe(600);
  });
});
