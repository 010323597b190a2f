import { auc, buildModel, DEFAULT_OPTIMIZER, initWeights, MODEL_NAMES, type ModelConfigInput } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { engineFactory } from './engines.js';

/**
 * The two training engines compute gradients independently (tfjs autograd;
 * the IR's own autodiff compiled to ONNX) and step with core's one host
 * Adam (the IR Adam, tested against it, when onnx runs one session): from
 * the same weights and batches they must train the same model.
 */
describe('tfjs and onnx engines train identically', () => {
  const schema = smallSchema();
  const cases: { label: string; name: (typeof MODEL_NAMES)[number]; optimizer: typeof DEFAULT_OPTIMIZER; extra?: ModelConfigInput }[] = [
    ...MODEL_NAMES.map((name) => ({ label: name, name, optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.01 } })),
    // The interaction modules (the pairwise-dot op's backward in the ONNX step, tfjs autograd through its lowering); 'dot' needs the schema's one width, 3.
    { label: 'esm2 with interaction dot', name: 'esm2', optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.01 }, extra: { interaction: 'dot', embeddingDim: 3 } },
    { label: 'esm2 with interaction cross', name: 'esm2', optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.01 }, extra: { interaction: 'cross' } },
    { label: 'dnn with interaction dot', name: 'dnn', optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.01 }, extra: { interaction: 'dot', embeddingDim: 3 } },
    // Clipping that bites (gradient norms start at 0.15–0.33 here), L2 on embedding rows and Adagrad: the engines define all three alike.
    // A separate learning rate for the embedding rows (the host tables' step, shared by both engines; tfjs's dense Adam keeps lr).
    { label: 'esmm with embeddingLr', name: 'esmm' as const, optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.01, embeddingLr: 0.03 } },
    { label: 'esm2 with clipping, L2, adagrad', name: 'esm2', optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.03, clipNorm: 0.15, embeddingL2: 1e-3, embeddingOptimizer: 'adagrad' as const } },
  ];
  for (const { label, name, optimizer, extra } of cases) {
    it(`${label}: 100 steps give the same losses and the same final AUC`, async () => {
      const model = buildModel(schema, { model: name, towers: [16, 8], embeddingDim: 4, numericDim: 3, ...extra });
      const weights = initWeights(model.graph, 17);
      const factories = await Promise.all(['tfjs', 'onnx'].map((name) => engineFactory(name)));
      const engines = await Promise.all(factories.map((f) => f.create({ model, weights, optimizer })));
      let worst = 0;
      const onnxLosses: number[] = [];
      for (let step = 0; step < 100; step++) {
        // Eight batches in turn: random labels, but memorisable, so the loss must fall.
        const feeds = randomFeeds(model.graph, schema, 64, 1000 + (step % 8));
        const [a, b] = await Promise.all(engines.map((e) => e.step(feeds)));
        const [la, lb] = [a!.losses.loss!, b!.losses.loss!];
        worst = Math.max(worst, Math.abs(la - lb) / Math.abs(lb));
        onnxLosses.push(lb);
      }
      expect(worst).toBeLessThan(1e-3);
      // The engines really trained: the last pass over the eight batches scores well below the first.
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(onnxLosses.slice(-8))).toBeLessThan(mean(onnxLosses.slice(0, 8)) * 0.9);
      const test = randomFeeds(model.graph, schema, 2000, 7);
      const output = model.predictions.at(-1)!;
      const label = output === 'pctr' ? test.click!.data : test.buy!.data;
      const [pa, pb] = await Promise.all(engines.map((e) => e.predict(test, [output])));
      expect(auc(pa![output]!, label).toFixed(3)).toBe(auc(pb![output]!, label).toFixed(3));
      for (const e of engines) e.dispose();
    });
  }

  it('a checkpoint of either engine resumes on the other (one optimizer state layout)', async () => {
    const model = buildModel(schema, { model: 'esm2', towers: [8], embeddingDim: 4, numericDim: 3 });
    const weights = initWeights(model.graph, 5);
    const [tfjs, onnx] = await Promise.all(['tfjs', 'onnx'].map(async (name) => (await engineFactory(name)).create({ model, weights, optimizer: DEFAULT_OPTIMIZER })));
    for (let step = 0; step < 3; step++) await onnx!.step(randomFeeds(model.graph, schema, 32, 50 + step));
    const saved = onnx!.getState();
    expect([...tfjs!.getState()].map(([k, t]) => [k, t.dtype, t.shape]).sort()).toEqual([...saved].map(([k, t]) => [k, t.dtype, t.shape]).sort());
    // tfjs takes onnx's weights and state and then steps as onnx does.
    const resumed = await (await engineFactory('tfjs')).create({ model, weights: onnx!.getWeights(), optimizer: DEFAULT_OPTIMIZER });
    resumed.setState(saved);
    expect(resumed.getState()).toEqual(saved);
    const feeds = randomFeeds(model.graph, schema, 32, 60);
    const [a, b] = [await onnx!.step(feeds), await resumed.step(feeds)];
    expect(Math.abs(a.losses.loss! - b.losses.loss!)).toBeLessThan(1e-5);
    for (const e of [tfjs!, onnx!, resumed]) e.dispose();
  });
});
