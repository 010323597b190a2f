import { auc, buildModel, DEFAULT_OPTIMIZER, MODEL_NAMES, type BaseRates, type ZooModel } from '@esm2/core';
import { batchToFeeds, fitEncoders, openDataset, writeSynthetic, type Batch, type Encoders } from '@esm2/data';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFactory } from './engines.js';
import { initialWeights } from './init.js';

let dir: string;
let train: string;
let test: string;
let encoders: Encoders;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-init-'));
  train = join(dir, 'train.csv');
  test = join(dir, 'test.csv');
  // The generator's default world (20 k users, 30 k items; about 4 % clicks): 61 steps of 1024 rows.
  await writeSynthetic(train, { rows: 62_000, seed: 1, worldSeed: 5 });
  await writeSynthetic(test, { rows: 20_000, seed: 2, worldSeed: 5 });
  encoders = await fitEncoders(train);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(file: string, batchSize = 4096): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of openDataset(file, { encoders, batchSize })) out.push(b);
  return out;
}

/** Means of the named outputs over the rows where `mask` is 1 (all rows without one). */
async function meanPredictions(model: ZooModel, weights: ReturnType<typeof initialWeights>, batches: Batch[]) {
  const engine = await (await engineFactory('onnx')).create({ model, weights, optimizer: DEFAULT_OPTIMIZER });
  const outputs = [...model.predictions, ...model.towers];
  const sums = new Map<string, { all: number; clicked: number; daction: number; oaction: number }>(outputs.map((o) => [o, { all: 0, clicked: 0, daction: 0, oaction: 0 }]));
  const n = { all: 0, clicked: 0, daction: 0, oaction: 0 };
  try {
    for (const batch of batches) {
      const p = await engine.predict(batchToFeeds(model.graph, batch), outputs);
      const { click, daction } = batch.labels;
      for (let i = 0; i < batch.size; i++) {
        const c = click[i] === 1;
        const a = c && daction[i] === 1;
        n.all++;
        if (c) n.clicked++;
        if (a) n.daction++;
        if (c && !a) n.oaction++;
        for (const o of outputs) {
          const s = sums.get(o)!;
          const x = p[o]![i]!;
          s.all += x;
          if (c) s.clicked += x;
          if (a) s.daction += x;
          if (c && !a) s.oaction += x;
        }
      }
    }
  } finally {
    engine.dispose();
  }
  const mean = (o: string, over: keyof typeof n) => sums.get(o)![over] / n[over];
  return mean;
}

/** The constant minimiser of BCE with positives weighted ×r at base rate π (DNN-OS's start). */
const oversampled = (rate: number, r: number) => (r * rate) / (r * rate + 1 - rate);

describe("init 'calibrated': the first predictions average the training data's base rates", () => {
  for (const name of MODEL_NAMES) {
    it(`${name}: every tower's mean initial prediction is its base rate`, async () => {
      const rates: BaseRates = encoders.baseRates!;
      const model = buildModel(encoders.schema, { model: name, init: 'calibrated' });
      const mean = await meanPredictions(model, initialWeights(model, 3, rates), (await collect(train)).slice(0, 6)); // 24 k rows
      // Each tower's output is sigmoid(bias + w·h): the random hidden part shifts and spreads the logits a little around the bias.
      const close = (got: number, want: number) => expect(Math.abs(got - want) / want, `${got} vs ${want}`).toBeLessThan(0.2);
      const r = name === 'dnn-os' ? model.config.oversampleRate : 1;
      close(mean('pctr', 'all'), oversampled(rates.ctr, r));
      if (name === 'esm2') {
        close(mean('y2', 'clicked'), rates.dactionGivenClick);
        close(mean('y3', 'daction'), rates.buyGivenDAction);
        close(mean('y4', 'oaction'), rates.buyGivenOAction);
        close(mean('pctavr', 'all'), rates.ctr * rates.dactionGivenClick);
      }
      close(mean('pcvr', 'clicked'), oversampled(rates.buyGivenClick, r));
      if (name === 'esm2' || name === 'esmm') close(mean('pctcvr', 'all'), rates.ctr * rates.buyGivenClick);

      // The paper's start is p = 0.5 everywhere: far from every rate here.
      const paper = buildModel(encoders.schema, { model: name, init: 'paper' });
      const meanPaper = await meanPredictions(paper, initialWeights(paper, 3, rates), (await collect(train)).slice(0, 1));
      expect(Math.abs(meanPaper('pctr', 'all') - 0.5)).toBeLessThan(0.1);
    });
  }

  it("the issue's case: a tiny ESM2 learns clicks within 60 steps from a calibrated start, better than from the paper's", async () => {
    const batches = await collect(train, 1024);
    const testBatches = await collect(test);
    const ctrAuc = async (init: 'paper' | 'calibrated', seed: number) => {
      const model = buildModel(encoders.schema, { model: 'esm2', towers: [4], init });
      const engine = await (await engineFactory('onnx')).create({ model, weights: initialWeights(model, seed, encoders.baseRates), optimizer: DEFAULT_OPTIMIZER });
      try {
        for (let step = 0; step < 60; step++) await engine.step(batchToFeeds(model.graph, batches[step]!));
        const scores: number[] = [];
        const labels: number[] = [];
        for (const b of testBatches) {
          const p = await engine.predict(batchToFeeds(model.graph, b), ['pctr']);
          scores.push(...p.pctr!);
          labels.push(...b.labels.click);
        }
        return auc(Float64Array.from(scores), Float64Array.from(labels));
      } finally {
        engine.dispose();
      }
    };
    // From p = 0.5 the first steps only drag every output down towards the click rate; a calibrated start spends them on ranking.
    for (const seed of [1, 2]) {
      const [paper, calibrated] = [await ctrAuc('paper', seed), await ctrAuc('calibrated', seed)];
      expect(calibrated, `seed ${seed}`).toBeGreaterThan(0.57);
      expect(calibrated, `seed ${seed}: paper ${paper}`).toBeGreaterThan(paper + 0.02);
    }
  });

  it("refuses a calibrated start without base rates, and leaves the paper's start at zero biases", () => {
    const model = buildModel(encoders.schema, { model: 'esmm', init: 'calibrated' });
    expect(() => initialWeights(model, 1, undefined)).toThrow(/base rates/);
    const paper = buildModel(encoders.schema, { model: 'esmm', init: 'paper' });
    const w = initialWeights(paper, 1, encoders.baseRates);
    expect([...w.get('ctr/out/b')!, ...w.get('cvr/out/b')!]).toEqual([0, 0]);
  });
});
