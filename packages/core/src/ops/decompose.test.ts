import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { GraphBuilder, ops } from '../ir/builder.js';
import { interpret } from '../ir/interpret.js';
import type { HostTensor } from '../ir/tensor.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { adamScalars } from '../train/adam.js';
import { buildTrainStep, trainStepNames as N } from '../train/train-step.js';
import { buildModel } from '../zoo/index.js';
import { decomposeComposites } from './decompose.js';
import { COMPOSITE_OPS, PRIMITIVE_OPS } from './index.js';
import type { OpName } from './support/record.js';

describe('decomposeComposites', () => {
  const schema = smallSchema();
  const batch = 7;

  it.each([
    { model: 'esm2', interaction: 'dot', activation: 'tanh', clipNorm: 0.5, clip: 'on' },
    { model: 'dnn-os', interaction: 'cross', activation: 'relu', clipNorm: 0, clip: 'off' },
  ] as const)('a $model train step ($interaction, $activation, clip $clip) in primitives only interprets to the same losses and state within 1e-6', (config) => {
    const { model, interaction, activation } = config;
    const zoo = buildModel(schema, { model, interaction, activation, towers: [5, 3], embeddingDim: 3, numericDim: 2 });
    const step = buildTrainStep(zoo, { ...DEFAULT_OPTIMIZER, clipNorm: config.clipNorm });
    const primitive = decomposeComposites(step.graph, new Set());
    const used = new Set(step.graph.nodes.map((n) => n.op));
    expect(COMPOSITE_OPS.filter((op) => used.has(op)).length).toBeGreaterThanOrEqual(8);
    expect(primitive.nodes.filter((n) => !PRIMITIVE_OPS.includes(n.op)).map((n) => n.op)).toEqual([]);
    expect(primitive.inputs).toEqual(step.graph.inputs);
    expect(primitive.outputs).toEqual(step.graph.outputs);

    const feeds: Record<string, HostTensor> = randomFeeds(step.graph, schema, batch, 3);
    // Adam's second moment is ≥ 0 and its step scalars positive, as in training.
    feeds[N.secondMoment] = { shape: feeds[N.secondMoment]!.shape, data: feeds[N.secondMoment]!.data.map((v) => Math.abs(v) * 0.01) };
    const { stepSize, epsHat } = adamScalars(DEFAULT_OPTIMIZER, 3);
    feeds[N.stepSize] = { shape: [], data: Float32Array.of(stepSize) };
    feeds[N.epsHat] = { shape: [], data: Float32Array.of(epsHat) };
    const want = interpret(step.graph, new Map(), feeds);
    const got = interpret(primitive, new Map(), feeds);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) {
      const g = got[name]!;
      expect(g.shape, name).toEqual(w.shape);
      expect(w.data.every(Number.isFinite), name).toBe(true);
      for (let i = 0; i < w.data.length; i++) expect(Math.abs(g.data[i]! - w.data[i]!), `${name}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(w.data[i]!)));
    }
  });

  it('leaves primitives and the composites a backend lowers as they are', () => {
    const zoo = buildModel(schema, { model: 'esm2', interaction: 'dot', towers: [4], embeddingDim: 3, numericDim: 2 });
    expect(decomposeComposites(zoo.graph, new Set(COMPOSITE_OPS))).toEqual(zoo.graph);
    const keptSub = decomposeComposites(zoo.graph, new Set<OpName>(['pairwiseDot']));
    expect(keptSub.nodes.filter((n) => n.op === 'pairwiseDot').length).toBe(zoo.graph.nodes.filter((n) => n.op === 'pairwiseDot').length);
    // Decomposed nodes keep their ids: the last equation of a decomposition takes the node's.
    const ids = new Set(decomposeComposites(zoo.graph, new Set()).nodes.map((n) => n.id));
    for (const n of zoo.graph.nodes) expect(ids.has(n.id), n.id).toBe(true);
  });

  it('an output that a decomposition aliases (sumTo to its own shape) reads the aliased value', () => {
    const b = new GraphBuilder('alias');
    const x = b.input('x', 'f32', ['batch', 2]);
    const same = b.op('sumTo', [x], { shape: ['batch', 2] });
    b.output('same', same);
    b.output('twice', ops.add(b, same, same));
    const graph = decomposeComposites(b.build(), new Set());
    expect(graph.outputs.same).toBe('x');
    expect(graph.nodes.map((n) => [n.op, n.inputs])).toEqual([['add', ['x', 'x']]]);
  });
});
