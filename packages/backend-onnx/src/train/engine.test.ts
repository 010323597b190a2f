import { buildModel, DEFAULT_OPTIMIZER, HostEmbeddingEngine, initWeights, interpretCompiler, MODEL_NAMES } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { createOnnxTrainingEngine } from './engine.js';
import { onnxEngineFactory } from './factory.js';

const relClose = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

describe('onnx training engine', () => {
  const schema = smallSchema();

  for (const name of MODEL_NAMES) {
    it(`${name}: 10 steps match the interpreter engine (losses and weights)`, async () => {
      const model = buildModel(schema, { model: name, towers: [8, 4], embeddingDim: 4, numericDim: 3 });
      const weights = initWeights(model.graph, 11);
      const optimizer = { ...DEFAULT_OPTIMIZER, lr: 0.01, clipNorm: name === 'esm2' ? 0.5 : 0, embeddingOptimizer: name === 'esmm' ? ('adagrad' as const) : ('adam' as const) };
      const onnx = await createOnnxTrainingEngine({ model, weights, optimizer });
      const oracle = await HostEmbeddingEngine.create({ model, weights, optimizer }, interpretCompiler, 'interpreter', '');
      for (let s = 0; s < 10; s++) {
        const feeds = randomFeeds(model.graph, schema, 24, 100 + s);
        const [a, b] = [await onnx.step(feeds), await oracle.step(feeds)];
        for (const l of model.losses) expect(relClose(a.losses[l]!, b.losses[l]!, 1e-4), `${l} step ${s}: ${a.losses[l]} vs ${b.losses[l]}`).toBe(true);
      }
      const [wa, wb] = [onnx.getWeights(), oracle.getWeights()];
      for (const p of model.graph.params) {
        const [x, y] = [wa.get(p.name)!, wb.get(p.name)!];
        for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-4);
      }
      const feeds = randomFeeds(model.graph, schema, 7, 999);
      const [pa, pb] = [await onnx.predict(feeds, model.predictions), await oracle.predict(feeds, model.predictions)];
      for (const o of model.predictions) for (let i = 0; i < 7; i++) expect(Math.abs(pa[o]![i]! - pb[o]![i]!)).toBeLessThan(1e-5);
      onnx.dispose();
    });
  }

  it('takes its onnxruntime settings when the factory is made, and refuses a bad thread count then', async () => {
    const model = buildModel(schema, { towers: [4], embeddingDim: 2, numericDim: 2 });
    const options = { model, weights: initWeights(model.graph, 1), optimizer: DEFAULT_OPTIMIZER };
    const plain = await onnxEngineFactory().create(options);
    const tuned = await onnxEngineFactory({ threads: 2, spinning: true }).create(options);
    expect(plain.description).toMatch(/, 1 intra-op thread$/);
    expect(tuned.description).toMatch(/, 2 intra-op threads, spinning$/);
    plain.dispose();
    tuned.dispose();
    expect(() => onnxEngineFactory({ threads: 0 })).toThrow('threads must be a positive integer, got 0');
    expect(() => onnxEngineFactory({ threads: 1.5 })).toThrow(/got 1\.5/);
  });
});
