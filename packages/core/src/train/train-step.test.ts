import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../autodiff/grad.js';
import { DEFAULT_OPTIMIZER, type OptimizerConfig } from '../engine.js';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import type { HostTensor } from '../ir/tensor.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { adamScalars, adamUpdate, clipScale } from './adam.js';
import { SparseEmbeddingTable } from './sparse-table.js';
import { buildTrainStep, trainStepNames as N } from './train-step.js';

describe('buildTrainStep', () => {
  const schema = smallSchema();
  const batch = 12;

  function run(optimizer: OptimizerConfig, model: 'esm2' | 'dnn-os') {
    const zoo = buildModel(schema, { model, towers: [5, 3], embeddingDim: 3, numericDim: 2 });
    const weights = initWeights(zoo.graph, 4);
    const feeds = randomFeeds(zoo.graph, schema, batch, 6);
    const step = buildTrainStep(zoo, optimizer);
    const t = 3;
    const rand = (i: number) => ((i * 7919) % 97) / 970;
    // Non-trivial moments, as after a few steps.
    const dense = step.layout.map((s) => s.name);
    const moments = new Map(dense.map((p) => [p, weights.get(p)!.map((_, i) => rand(i) - 0.05)]));
    const second = new Map(dense.map((p) => [p, weights.get(p)!.map((_, i) => rand(i + 1) * 0.01)]));
    const flat = (values: Map<string, Float32Array>) => {
      const out = new Float32Array(step.flatSize);
      for (const slot of step.layout) out.set(values.get(slot.name)!, slot.offset);
      return { shape: [step.flatSize], data: out };
    };
    const stepFeeds: Record<string, HostTensor> = { ...feeds };
    stepFeeds[N.params] = flat(weights);
    stepFeeds[N.firstMoment] = flat(moments);
    stepFeeds[N.secondMoment] = flat(second);
    for (const l of step.lookups) {
      const table = new SparseEmbeddingTable(l.rows, l.dim, weights.get(l.table)!, optimizer);
      const rows = new Float32Array(batch * l.dim);
      const ids = feeds[l.ids]!.data as Int32Array;
      if (l.kind === 'gather') table.gather(ids, rows);
      else table.gatherPooled(ids, ids.length / batch, l.mode, rows);
      stepFeeds[l.rowsInput] = { shape: [batch, l.dim], data: rows };
    }
    const { stepSize, epsHat } = adamScalars(optimizer, t);
    stepFeeds[N.stepSize] = { shape: [], data: Float32Array.of(stepSize) };
    stepFeeds[N.epsHat] = { shape: [], data: Float32Array.of(epsHat) };
    const out = interpret(step.graph, new Map(), stepFeeds);

    // Reference: full-graph gradients from autodiff, Adam from the TS reference.
    const ref = interpret(grad(zoo.graph), weights, feeds);
    /** A parameter's slice of a flat output. */
    const slice = (output: string, p: string) => {
      const slot = step.layout.find((x) => x.name === p)!;
      return out[output]!.data.subarray(slot.offset, slot.offset + slot.size);
    };
    return { step, dense, out, slice, ref, weights, moments, second, t, feeds };
  }

  it('one interpreted step equals autodiff gradients + the Adam reference (ESM2, no clipping)', () => {
    const opt = { ...DEFAULT_OPTIMIZER, lr: 0.01 };
    const { step, dense, out, slice, ref, weights, moments, second, t } = run(opt, 'esm2');
    expect(step.layout.length).toBeGreaterThan(10);
    expect(step.flatSize).toBe(step.layout.reduce((n, s) => n + s.size, 0));
    expect(out.loss!.data[0]).toBeCloseTo(ref.loss!.data[0]!, 6);
    for (const p of dense) {
      const w = Float32Array.from(weights.get(p)!);
      const m = Float32Array.from(moments.get(p)!);
      const v = Float32Array.from(second.get(p)!);
      adamUpdate(w, ref[gradName(p)]!.data, m, v, t, opt);
      const got = slice(N.nextParams, p);
      const gotM = slice(N.nextFirstMoment, p);
      for (let i = 0; i < w.length; i++) {
        expect(got[i]).toBeCloseTo(w[i]!, 5);
        expect(gotM[i]).toBeCloseTo(m[i]!, 6);
      }
    }
  });

  it('step rows gradients summed per id equal the table gradients', () => {
    const { step, out, ref, feeds } = run(DEFAULT_OPTIMIZER, 'esm2');
    for (const l of step.lookups) {
      const table = new SparseEmbeddingTable(l.rows, l.dim, new Float32Array(l.rows * l.dim), DEFAULT_OPTIMIZER);
      const ids = feeds[l.ids]!.data as Int32Array;
      table.accumulate(ids, Float32Array.from(out[N.rowsGrad(l.rowsInput)]!.data), ids.length / batch, l.mode);
      const expected = ref[gradName(l.table)]!.data;
      table.touchedRows.forEach((row, slot) => {
        for (let k = 0; k < l.dim; k++) expect(table.touchedGradients[slot * l.dim + k]).toBeCloseTo(expected[row * l.dim + k]!, 6);
      });
    }
  });

  it('clipping scales every gradient by limit / global norm', () => {
    const noClip = run(DEFAULT_OPTIMIZER, 'dnn-os');
    let sumSquares = 0;
    for (const p of noClip.dense) for (const v of noClip.ref[gradName(p)]!.data) sumSquares += v * v;
    for (const l of noClip.step.lookups) for (const v of noClip.out[N.rowsGrad(l.rowsInput)]!.data) sumSquares += v * v;
    const limit = Math.sqrt(sumSquares) / 4;
    const clipped = run({ ...DEFAULT_OPTIMIZER, clipNorm: limit }, 'dnn-os');
    const scale = clipScale(sumSquares, limit);
    expect(scale).toBeCloseTo(0.25, 10);
    for (const l of clipped.step.lookups) {
      const a = noClip.out[N.rowsGrad(l.rowsInput)]!.data;
      const b = clipped.out[N.rowsGrad(l.rowsInput)]!.data;
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]! * scale, 8);
    }
    // First moment moves by (1−β₁)·scaled gradient.
    for (const p of clipped.dense) {
      const g = clipped.ref[gradName(p)]!.data;
      const m0 = clipped.moments.get(p)!;
      const m1 = clipped.slice(N.nextFirstMoment, p);
      for (let i = 0; i < g.length; i++) expect(m1[i]).toBeCloseTo(0.9 * m0[i]! + 0.1 * g[i]! * scale, 6);
    }
  });
});
