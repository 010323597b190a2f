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
import { GraphBuilder } from '../ir/builder.js';
import { buildTrainStep, denseAdam, trainStepNames as N } from './train-step.js';

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

describe('denseAdam (the IR Adam)', () => {
  it('steps as the host Adam (adamUpdate) within 1e-7 per step (relative above 1), over 30 steps of gradients from 1e-6 to 1', () => {
    const n = 257;
    const optimizer = { ...DEFAULT_OPTIMIZER, lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6 };
    const b = new GraphBuilder('adam');
    b.input(N.params, 'f32', [n], 'state');
    denseAdam(b, optimizer, n, b.input('grad', 'f32', [n], 'feature'));
    const graph = b.build();
    const wave = (i: number, seed: number) => Math.sin(i * 12.9898 + seed * 78.233);
    const w = Float32Array.from({ length: n }, (_, i) => wave(i, 1));
    const [m, v] = [new Float32Array(n), new Float32Array(n)];
    let worst = 0;
    for (let t = 1; t <= 30; t++) {
      // Gradients from 1e-6 to 1 in size, both signs, some exact zeros.
      const g = Float32Array.from({ length: n }, (_, i) => (i % 17 === 0 ? 0 : wave(i, t + 1) * 10 ** ((i % 7) - 6)));
      const { stepSize, epsHat } = adamScalars(optimizer, t);
      const flat = (data: Float32Array) => ({ shape: [n], data: Float32Array.from(data) });
      const out = interpret(graph, new Map(), {
        [N.params]: flat(w),
        [N.firstMoment]: flat(m),
        [N.secondMoment]: flat(v),
        [N.stepSize]: { shape: [], data: Float32Array.of(stepSize) },
        [N.epsHat]: { shape: [], data: Float32Array.of(epsHat) },
        grad: flat(g),
      });
      adamUpdate(w, g, m, v, t, optimizer);
      for (const [name, host] of [[N.nextParams, w], [N.nextFirstMoment, m], [N.nextSecondMoment, v]] as const) {
        const ir = out[name]!.data;
        for (let i = 0; i < n; i++) {
          const d = Math.abs(ir[i]! - host[i]!) / Math.max(1, Math.abs(host[i]!));
          worst = Math.max(worst, d);
          if (!(d <= 1e-7)) expect.fail(`step ${t}, ${name}[${i}]: IR ${ir[i]} vs host ${host[i]}`);
        }
      }
    }
    // The parameters moved: the comparison is not of untouched values.
    expect(Math.abs(w[3]! - wave(3, 1))).toBeGreaterThan(1e-3);
    expect(worst).toBeLessThanOrEqual(1e-7);
  });
});
