import { describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel } from './index.js';

const logit = (p: number) => Math.log(p / (1 - p));

describe('ESM2', () => {
  const schema = smallSchema();

  it('satisfies the composition identities on random weights', () => {
    for (const seed of [1, 2, 3]) {
      const model = buildModel(schema, { towers: [8, 4], embeddingDim: 4, numericDim: 3 });
      const weights = initWeights(model.graph, seed);
      // Random biases move the towers away from 0.5 so the identities are not trivially met.
      for (const t of model.towers) weights.set(`${t}/out/b`, Float32Array.of((seed * 0.7 + t.charCodeAt(1)) % 3 - 1.5));
      const out = interpret(model.graph, weights, randomFeeds(model.graph, schema, 32, seed));
      const v = (k: string) => out[k]!.data;
      for (let i = 0; i < 32; i++) {
        const [y1, y2, y3, y4] = [v('y1')[i]!, v('y2')[i]!, v('y3')[i]!, v('y4')[i]!];
        expect(v('pctr')[i]).toBe(y1);
        expect(v('pctavr')[i]).toBeCloseTo(y1 * y2, 14);
        expect(v('pcvr')[i]).toBeCloseTo(y2 * y3 + (1 - y2) * y4, 14);
        expect(v('pctcvr')[i]).toBeCloseTo(v('pctr')[i]! * v('pcvr')[i]!, 14);
        expect(v('pctcvr')[i]).toBeLessThanOrEqual(v('pctr')[i]!);
      }
      expect(new Set(Array.from(v('y2'))).size).toBeGreaterThan(1);
    }
  });

  it('loss equals a hand computation on 4 rows', () => {
    const model = buildModel(schema, { towers: [4], embeddingDim: 2, numericDim: 2, lossWeights: { ctr: 1, ctavr: 0.5, ctcvr: 2 } });
    const weights = initWeights(model.graph, 7);
    // Zero output weights make each tower a constant: y = sigmoid(bias).
    const towerValue = { y1: 0.5, y2: 0.2, y3: 0.6, y4: 0.1 };
    for (const [t, p] of Object.entries(towerValue)) {
      weights.get(`${t}/out/w`)!.fill(0);
      weights.set(`${t}/out/b`, Float32Array.of(logit(p)));
    }
    const feeds = randomFeeds(model.graph, schema, 4, 3);
    feeds.click = { shape: [4], data: Float32Array.of(1, 1, 0, 1) };
    feeds.daction = { shape: [4], data: Float32Array.of(1, 0, 0, 0) };
    feeds.buy = { shape: [4], data: Float32Array.of(1, 0, 0, 1) };
    const out = interpret(model.graph, weights, feeds);
    // pctavr = 0.5·0.2 = 0.1; pcvr = 0.2·0.6 + 0.8·0.1 = 0.2; pctcvr = 0.5·0.2 = 0.1 (f32 biases: ~1e-8 off)
    const lossCtr = -Math.log(0.5);
    const lossCtavr = (-Math.log(0.1) - 3 * Math.log(0.9)) / 4;
    const lossCtcvr = (-2 * Math.log(0.1) - 2 * Math.log(0.9)) / 4;
    expect(out.loss_ctr!.data[0]).toBeCloseTo(lossCtr, 6);
    expect(out.loss_ctavr!.data[0]).toBeCloseTo(lossCtavr, 6);
    expect(out.loss_ctcvr!.data[0]).toBeCloseTo(lossCtcvr, 6);
    expect(out.loss!.data[0]).toBeCloseTo(lossCtr + 0.5 * lossCtavr + 2 * lossCtcvr, 6);
  });

  it('exposes towers, the four predictions and the three losses', () => {
    const model = buildModel(schema);
    expect(Object.keys(model.graph.outputs).sort()).toEqual(
      ['loss', 'loss_ctavr', 'loss_ctcvr', 'loss_ctr', 'pctavr', 'pctcvr', 'pctr', 'pcvr', 'y1', 'y2', 'y3', 'y4'].sort(),
    );
    // Default towers 256-128-64 on the concatenated embeddings.
    const w0 = model.graph.params.find((p) => p.name === 'y1/l0/w')!;
    expect(w0.type.shape).toEqual([16 + 3 + 16 + 16, 256]);
    expect(model.graph.params.find((p) => p.name === 'y4/l2/w')!.type.shape).toEqual([128, 64]);
    // One embedding table per field, shared by all four towers.
    expect(model.graph.params.filter((p) => p.kind === 'embedding').map((p) => p.name)).toEqual(['emb/user', 'emb/item', 'emb/tags']);
  });
});
