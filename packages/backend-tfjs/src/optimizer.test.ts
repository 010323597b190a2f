import { adamUpdate, type OptimizerConfig } from '@esm2/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TfjsEngine } from './engine.js';
import { DEFAULT_TEST_OPTIMIZER, cpuRuntime } from './testing/engine.js';
import { fixture } from './testing/fixtures.js';

beforeAll(cpuRuntime);

/** Adam by hand, in f64, from zero moments: the textbook update of one element over successive gradients. */
function adamByHand(p0: number, grads: number[], o: OptimizerConfig): number {
  let [p, m, v] = [p0, 0, 0];
  grads.forEach((g, k) => {
    const t = k + 1;
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g * g;
    p -= (o.lr * (m / (1 - o.beta1 ** t))) / (Math.sqrt(v / (1 - o.beta2 ** t)) + o.eps);
  });
  return p;
}

const OPT: OptimizerConfig = { ...DEFAULT_TEST_OPTIMIZER, lr: 0.01, beta1: 0.8, beta2: 0.9, eps: 1e-3 };

describe('optimizer updates', () => {
  it('one step of dense Adam and sparse row Adam equals the hand computation', async () => {
    const { model, weights, feeds } = fixture({ model: 'esm2', towers: [4] }, 11, 8);
    const engine = new TfjsEngine(model, weights, OPT, await cpuRuntime());
    const g = await engine.gradients(feeds);
    await engine.step(feeds);
    const after = engine.getWeights();
    for (const [name, grad] of g.dense) {
      const before = weights.get(name)!;
      for (let i = 0; i < grad.length; i++) expect(after.get(name)![i]!).toBeCloseTo(adamByHand(before[i]!, [grad[i]!], OPT), 6);
    }
    const rows = g.rows.get('emb/user')!;
    const dim = 16;
    const before = weights.get('emb/user')!;
    const table = after.get('emb/user')!;
    for (let r = 0; r < 7; r++) {
      const k = rows.ids.indexOf(r);
      for (let d = 0; d < dim; d++) {
        const want = k < 0 ? before[r * dim + d]! : adamByHand(before[r * dim + d]!, [rows.grads[k * dim + d]!], OPT);
        expect(table[r * dim + d]!).toBeCloseTo(want, 6);
      }
    }
    engine.dispose();
  });

  it('two steps follow Adam with bias correction (moments carried over)', async () => {
    const { model, weights, feeds } = fixture({ model: 'dnn', towers: [3] }, 12, 8);
    const engine = new TfjsEngine(model, weights, OPT, await cpuRuntime());
    const g1 = (await engine.gradients(feeds)).dense.get('cvr/out/b')![0]!;
    await engine.step(feeds);
    const g2 = (await engine.gradients(feeds)).dense.get('cvr/out/b')![0]!;
    await engine.step(feeds);
    expect(engine.getWeights().get('cvr/out/b')![0]!).toBeCloseTo(adamByHand(weights.get('cvr/out/b')![0]!, [g1, g2], OPT), 6);
    engine.dispose();
  });

  it("the dense update is core's host Adam (adamUpdate), bit for bit, over three steps", async () => {
    const { model, weights, feeds } = fixture({ model: 'esm2', towers: [4] }, 14, 8);
    const engine = new TfjsEngine(model, weights, OPT, await cpuRuntime());
    const host = new Map([...(await engine.gradients(feeds)).dense.keys()].map((name) => [name, { w: Float32Array.from(weights.get(name)!), m: new Float32Array(weights.get(name)!.length), v: new Float32Array(weights.get(name)!.length) }]));
    for (let t = 1; t <= 3; t++) {
      const g = (await engine.gradients(feeds)).dense;
      await engine.step(feeds);
      for (const [name, s] of host) adamUpdate(s.w, g.get(name)!, s.m, s.v, t, OPT);
    }
    const after = engine.getWeights();
    const state = engine.getState();
    for (const [name, s] of host) {
      expect(Array.from(after.get(name)!)).toEqual(Array.from(s.w));
      expect(Array.from(state.get(`adam/m/${name}`)!.data)).toEqual(Array.from(s.m));
      expect(Array.from(state.get(`adam/v/${name}`)!.data)).toEqual(Array.from(s.v));
    }
    engine.dispose();
  });

  it('sparse Adagrad: acc = g², row −= lr·g/(√acc + ε)', async () => {
    const opt: OptimizerConfig = { ...OPT, embeddingOptimizer: 'adagrad' };
    const { model, weights, feeds } = fixture({ model: 'esmm', towers: [4] }, 13, 8);
    const engine = new TfjsEngine(model, weights, opt, await cpuRuntime());
    const rows = (await engine.gradients(feeds)).rows.get('emb/item')!;
    await engine.step(feeds);
    const table = engine.getWeights().get('emb/item')!;
    const before = weights.get('emb/item')!;
    const dim = 3;
    for (let k = 0; k < rows.ids.length; k++) {
      for (let d = 0; d < dim; d++) {
        const g = rows.grads[k * dim + d]!;
        const i = rows.ids[k]! * dim + d;
        expect(table[i]!).toBeCloseTo(before[i]! - (opt.lr * g) / (Math.abs(g) + opt.eps), 6);
      }
    }
    expect([...engine.getState().keys()].some((k) => k.startsWith('adagrad/acc/'))).toBe(true);
    engine.dispose();
  });
});
