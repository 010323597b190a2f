import { interpret, type Graph, type HostTensor } from '@esm2/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TfjsEngine } from './engine.js';
import { DEFAULT_TEST_OPTIMIZER, cpuRuntime } from './testing/engine.js';
import { zooCases } from '@esm2/core/conformance';
import { asFloat64, fixture } from './testing/fixtures.js';

beforeAll(cpuRuntime);

/** Central difference of the interpreter's loss in f64 (h small: f64 has room). */
function centralDifference(graph: Graph, weights: Map<string, Float64Array>, feeds: Record<string, HostTensor>, param: string, index: number, h = 1e-6): number {
  const at = (delta: number) => {
    const w = new Map(weights);
    const copy = Float64Array.from(weights.get(param)!);
    copy[index]! += delta;
    w.set(param, copy);
    return interpret(graph, w, feeds, { outputs: ['loss'] }).loss!.data[0]!;
  };
  return (at(h) - at(-h)) / (2 * h);
}

const close = (got: number, want: number) => Math.abs(got - want) <= 2e-4 + 2e-3 * Math.abs(want);

describe.each(zooCases({}, ['relu', 'tanh']))('gradients vs finite differences of the interpreter: $name', ({ config }) => {
  it('dense params and touched embedding rows agree; untouched rows get none', async () => {
    const { model, weights, feeds } = fixture(config, 5, 24);
    const engine = new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, await cpuRuntime());
    const g = await engine.gradients(feeds);
    const w64 = asFloat64(weights);
    const graph = model.graph;
    const mismatches: string[] = [];
    let checked = 0;
    const check = (param: string, index: number, got: number) => {
      const want = centralDifference(graph, w64, feeds, param, index);
      checked++;
      if (!close(got, want)) mismatches.push(`${param}[${index}]: tfjs ${got}, finite difference ${want}`);
    };
    for (const p of graph.params) {
      const dense = g.dense.get(p.name);
      if (dense) {
        // First, last and a middle element of every dense parameter.
        for (const i of new Set([0, dense.length >> 1, dense.length - 1])) check(p.name, i, dense[i]!);
        continue;
      }
      const rows = g.rows.get(p.name)!;
      expect(rows, `no gradient for ${p.name}`).toBeDefined();
      const dim = (p.type.shape as number[])[1]!;
      for (const k of new Set([0, rows.ids.length - 1])) for (const d of [0, dim - 1]) check(p.name, rows.ids[k]! * dim + d, rows.grads[k * dim + d]!);
      const vocab = (p.type.shape as number[])[0]!;
      const untouched = Array.from({ length: vocab }, (_, i) => i).find((i) => !rows.ids.includes(i));
      if (untouched !== undefined) expect(Math.abs(centralDifference(graph, w64, feeds, p.name, untouched * dim))).toBeLessThan(1e-9);
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(10);
    expect(g.losses.loss).toBeCloseTo(interpret(graph, weights, feeds, { outputs: ['loss'] }).loss!.data[0]!, 5);
    engine.dispose();
  });
});

describe('objective extras', () => {
  it('L2 on embedding rows adds 2·λ·row to exactly the touched rows', async () => {
    const { model, weights, feeds } = fixture({ model: 'esm2', towers: [4] }, 6, 8);
    const runtime = await cpuRuntime();
    const plain = new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, runtime);
    const l2 = new TfjsEngine(model, weights, { ...DEFAULT_TEST_OPTIMIZER, embeddingL2: 0.1 }, runtime);
    const a = (await plain.gradients(feeds)).rows.get('emb/user')!;
    const b = (await l2.gradients(feeds)).rows.get('emb/user')!;
    const table = weights.get('emb/user')!;
    const dim = 16;
    for (let k = 0; k < a.ids.length; k++) {
      for (let d = 0; d < dim; d++) expect(b.grads[k * dim + d]!).toBeCloseTo(a.grads[k * dim + d]! + 0.2 * table[a.ids[k]! * dim + d]!, 5);
    }
    plain.dispose();
    l2.dispose();
  });

  it('global-norm clipping scales every gradient by clip/‖g‖ when ‖g‖ exceeds it', async () => {
    const { model, weights, feeds } = fixture({ model: 'esmm', towers: [4] }, 7, 5);
    // Distinct ids and one tag per row: each lookup row is its own table row, so the
    // per-lookup-row norm (the definition clipping uses) equals the norm of the row gradients.
    feeds.user = { shape: [5], data: Int32Array.of(0, 1, 2, 3, 4) };
    feeds.item = { shape: [5], data: Int32Array.of(6, 2, 9, 0, 4) };
    feeds.tags = { shape: [5, 3], data: Int32Array.of(0, -1, -1, 3, -1, -1, 1, -1, -1, 4, -1, -1, 2, -1, -1) };
    const runtime = await cpuRuntime();
    const free = await new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, runtime).gradients(feeds);
    const all = [...free.dense.values(), ...[...free.rows.values()].map((r) => r.grads)];
    const norm = Math.sqrt(all.reduce((s, g) => s + g.reduce((t, x) => t + x * x, 0), 0));
    const clip = norm / 4;
    const clipped = await new TfjsEngine(model, weights, { ...DEFAULT_TEST_OPTIMIZER, clipNorm: clip }, runtime).gradients(feeds);
    for (const [name, g] of free.dense) {
      const c = clipped.dense.get(name)!;
      for (let i = 0; i < g.length; i++) expect(c[i]!).toBeCloseTo(g[i]! / 4, 6);
    }
    for (const [name, r] of free.rows) {
      const c = clipped.rows.get(name)!.grads;
      for (let i = 0; i < r.grads.length; i++) expect(c[i]!).toBeCloseTo(r.grads[i]! / 4, 6);
    }
  });
});
