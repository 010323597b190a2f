import { describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
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

  it('DNN-CVR learns from clicked rows only; DNN-CTR from all rows', () => {
    const cvr = buildModel(schema, { ...config, model: 'dnn', task: 'cvr' });
    const feeds = randomFeeds(cvr.graph, schema, 24, 9);
    const weights = initWeights(cvr.graph, 9);
    const out = interpret(cvr.graph, weights, feeds);
    let sum = 0;
    let clicks = 0;
    for (let i = 0; i < 24; i++) {
      if (!feeds.click!.data[i]) continue;
      sum += bce(out.pcvr!.data[i]!, feeds.buy!.data[i]!);
      clicks++;
    }
    expect(out.loss!.data[0]).toBeCloseTo(sum / clicks, 10);
    // Changing an unclicked row's buy label cannot change the loss (it is never seen).
    const unclicked = feeds.click!.data.indexOf(0);
    const changed = { ...feeds, buy: { shape: [24], data: Float32Array.from(feeds.buy!.data) } };
    changed.buy.data[unclicked] = 1;
    expect(interpret(cvr.graph, weights, changed).loss!.data[0]).toBe(out.loss!.data[0]);

    const ctr = buildModel(schema, { ...config, model: 'dnn', task: 'ctr' });
    const outCtr = interpret(ctr.graph, initWeights(ctr.graph, 9), feeds);
    const all = Array.from(outCtr.pctr!.data).reduce((s, p, i) => s + bce(p, feeds.click!.data[i]!), 0) / 24;
    expect(outCtr.loss!.data[0]).toBeCloseTo(all, 10);
  });

  it('DNN-OS weighs positives by the over-sampling rate', () => {
    const rate = 4;
    const os = buildModel(schema, { ...config, model: 'dnn-os', task: 'cvr', oversampleRate: rate });
    const feeds = randomFeeds(os.graph, schema, 30, 11);
    const out = interpret(os.graph, initWeights(os.graph, 11), feeds);
    let num = 0;
    let den = 0;
    for (let i = 0; i < 30; i++) {
      const w = feeds.click!.data[i]! * (feeds.buy!.data[i] ? rate : 1);
      num += w * bce(out.pcvr!.data[i]!, feeds.buy!.data[i]!);
      den += w;
    }
    expect(out.loss!.data[0]).toBeCloseTo(num / den, 10);
  });

  it('seeded init reproduces and differs across seeds', () => {
    const model = buildModel(schema, config);
    const a = initWeights(model.graph, 1).get('y1/l0/w')!;
    expect(initWeights(model.graph, 1).get('y1/l0/w')).toEqual(a);
    expect(initWeights(model.graph, 2).get('y1/l0/w')).not.toEqual(a);
  });
});
