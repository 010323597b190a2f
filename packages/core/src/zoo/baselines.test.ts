import { describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import { finiteDifference } from '../autodiff/finite-difference.js';
import { grad, gradName } from '../autodiff/grad.js';
import type { HostTensor } from '../ir/tensor.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel } from './index.js';

const bce = (p: number, y: number) => -(y * Math.log(p) + (1 - y) * Math.log(1 - p));

describe('baselines', () => {
  const schema = smallSchema();
  const config = { towers: [6], embeddingDim: 3, numericDim: 2 };

  it('ESMM: pctcvr = pctr·pcvr and loss = BCE(pctr,c) + BCE(pctcvr,c·b) over all rows', () => {
    const model = buildModel(schema, { ...config, model: 'esmm' });
    const feeds = randomFeeds(model.graph, schema, 20, 5);
    const out = interpret(model.graph, initWeights(model.graph, 5), feeds);
    let ctr = 0;
    let ctcvr = 0;
    for (let i = 0; i < 20; i++) {
      const [pctr, pcvr] = [out.pctr!.data[i]!, out.pcvr!.data[i]!];
      expect(out.pctcvr!.data[i]).toBeCloseTo(pctr * pcvr, 14);
      ctr += bce(pctr, feeds.click!.data[i]!);
      ctcvr += bce(pctr * pcvr, feeds.click!.data[i]! * feeds.buy!.data[i]!);
    }
    expect(out.loss!.data[0]).toBeCloseTo((ctr + ctcvr) / 20, 10);
    expect(model.predictions).toEqual(['pctr', 'pcvr', 'pctcvr']);
  });

  /** Per-row predictions and the hand-computed losses of the paper's DNN: CTR on all rows, CVR on clicked rows, positives ×rate. */
  function dnnLosses(out: Record<string, HostTensor>, feeds: Record<string, HostTensor>, rate: number) {
    const n = feeds.click!.data.length;
    const sums = { ctr: 0, ctrW: 0, cvr: 0, cvrW: 0 };
    for (let i = 0; i < n; i++) {
      const [c, y] = [feeds.click!.data[i]!, feeds.buy!.data[i]!];
      const wCtr = c ? rate : 1;
      sums.ctr += wCtr * bce(out.pctr!.data[i]!, c);
      sums.ctrW += wCtr;
      const wCvr = c * (y ? rate : 1);
      sums.cvr += wCvr * bce(out.pcvr!.data[i]!, y);
      sums.cvrW += wCvr;
    }
    return { ctr: sums.ctr / sums.ctrW, cvr: sums.cvr / sums.cvrW };
  }

  for (const [name, rate] of [['dnn', 1], ['dnn-os', 4]] as const) {
    it(`${name}: a CTR and a CVR network, pctcvr = pctr·pcvr exactly, loss = BCE(pctr,c) over all rows + BCE(pcvr,b) over clicks${rate > 1 ? ', positives ×rate' : ''}`, () => {
      const model = buildModel(schema, { ...config, model: name, oversampleRate: rate });
      expect(model.predictions).toEqual(['pctr', 'pcvr', 'pctcvr']);
      expect(model.losses).toEqual(['loss', 'loss_ctr', 'loss_cvr']);
      const weights = initWeights(model.graph, 9);
      // Biases away from 0.5 so the product is not a trivial 0.25.
      weights.set('ctr/out/b', Float32Array.of(-1.3));
      weights.set('cvr/out/b', Float32Array.of(0.8));
      const feeds = randomFeeds(model.graph, schema, 24, 9);
      // A tiny hand-made label set: clicks, purchases only among them.
      feeds.click = { shape: [24], data: Float32Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 1 : 0)) };
      feeds.buy = { shape: [24], data: Float32Array.from({ length: 24 }, (_, i) => (i % 6 === 0 ? 1 : 0)) };
      const out = interpret(model.graph, weights, feeds);
      for (let i = 0; i < 24; i++) expect(out.pctcvr!.data[i]).toBe(out.pctr!.data[i]! * out.pcvr!.data[i]!);
      expect(new Set(Array.from(out.pctcvr!.data)).size).toBeGreaterThan(1);
      const want = dnnLosses(out, feeds, rate);
      expect(out.loss_ctr!.data[0]).toBeCloseTo(want.ctr, 6);
      expect(out.loss_cvr!.data[0]).toBeCloseTo(want.cvr, 6);
      expect(out.loss!.data[0]).toBeCloseTo(want.ctr + want.cvr, 6);

      // The CVR loss never sees an unclicked row: flipping their buy labels changes nothing.
      const flipped = { ...feeds, buy: { shape: [24], data: feeds.buy.data.map((y, i) => (feeds.click!.data[i] ? y : 1 - y)) } };
      const outFlipped = interpret(model.graph, weights, flipped);
      expect(outFlipped.loss_cvr!.data[0]).toBe(out.loss_cvr!.data[0]);
      expect(outFlipped.loss!.data[0]).toBe(out.loss!.data[0]);
      // ...while a clicked row's buy label does count.
      const clickedFlip = { ...feeds, buy: { shape: [24], data: feeds.buy.data.map((y, i) => (i === 3 ? 1 - y : y)) } };
      expect(interpret(model.graph, weights, clickedFlip).loss_cvr!.data[0]).not.toBe(out.loss_cvr!.data[0]);
    });
  }

  it('DNN: the two networks share nothing, so each is trained only by its own loss', () => {
    const model = buildModel(schema, { ...config, model: 'dnn' });
    const embeddings = model.graph.params.filter((p) => p.kind === 'embedding').map((p) => p.name);
    expect(embeddings).toEqual(['emb/user', 'emb/item', 'emb/tags', 'ctr/emb/user', 'ctr/emb/item', 'ctr/emb/tags']);
    const weights = new Map([...initWeights(model.graph, 4)].map(([k, v]) => [k, Float64Array.from(v, (x) => (x === 0 ? 0.05 : x))]));
    const feeds = randomFeeds(model.graph, schema, 16, 4);
    const withGrads = interpret(grad(model.graph), weights, feeds);
    for (const p of model.graph.params) {
      const g = withGrads[gradName(p.name)]!.data;
      const loss = p.name.startsWith('ctr/') ? 'loss_ctr' : 'loss_cvr';
      // Each network's gradient is that of its own loss (central differences on the f64 interpreter)...
      for (const i of [0, g.length - 1]) {
        const own = finiteDifference(model.graph, weights, feeds, p.name, i, { loss });
        expect(Math.abs(g[i]! - own)).toBeLessThan(1e-6 + 1e-4 * Math.abs(own));
        // ...and the other network's loss does not depend on it at all.
        const other = finiteDifference(model.graph, weights, feeds, p.name, i, { loss: loss === 'loss_ctr' ? 'loss_cvr' : 'loss_ctr' });
        expect(other).toBe(0);
      }
    }
  });

  it("DNN's `task` (still in saved configs) changes nothing: one graph holds both networks, so test kits cannot tell a 'CTR' DNN from a 'CVR' one", () => {
    for (const model of ['dnn', 'dnn-os'] as const) {
      const [ctr, cvr] = (['ctr', 'cvr'] as const).map((task) => buildModel(schema, { ...config, model, task }));
      expect(JSON.stringify(ctr!.graph)).toBe(JSON.stringify(cvr!.graph));
      expect(Object.keys(ctr!.graph.outputs)).toEqual(expect.arrayContaining(['pctr', 'pcvr', 'loss_ctr', 'loss_cvr']));
    }
  });

  it('seeded init reproduces and differs across seeds', () => {
    const model = buildModel(schema, config);
    const a = initWeights(model.graph, 1).get('y1/l0/w')!;
    expect(initWeights(model.graph, 1).get('y1/l0/w')).toEqual(a);
    expect(initWeights(model.graph, 2).get('y1/l0/w')).not.toEqual(a);
  });
});
