import { buildModel, DEFAULT_OPTIMIZER, GraphBuilder, HostEmbeddingEngine, initWeights, MODEL_NAMES, ops } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { createOnnxTrainingEngine, onnxCompiler, threadCompiler } from './engine.js';
import { onnxEngineFactory } from './factory.js';

/** Data parallelism in the onnx engine: sessions on shares of the batch, gradients summed, one optimizer step. */
describe('onnx training engine with workers', () => {
  const schema = smallSchema();

  for (const name of MODEL_NAMES) {
    it(`${name}: 20 steps with 2 workers give the losses and weights of 1 worker within 1e-5`, async () => {
      const model = buildModel(schema, { model: name, towers: [16, 8], embeddingDim: 4, numericDim: 3 });
      const weights = initWeights(model.graph, 13);
      const optimizer = { ...DEFAULT_OPTIMIZER, lr: 0.003, clipNorm: name === 'esm2' ? 0.1 : 0, embeddingOptimizer: name === 'esmm' ? ('adagrad' as const) : ('adam' as const) };
      const one = await createOnnxTrainingEngine({ model, weights, optimizer });
      const two = await createOnnxTrainingEngine({ model, weights, optimizer }, { workers: 2 });
      expect(two.description).toMatch(/, 2 workers × 1 intra-op thread$/);
      for (let s = 0; s < 20; s++) {
        // An odd batch: the shards are 32 and 33 rows.
        const feeds = randomFeeds(model.graph, schema, 65, 200 + s);
        const [a, b] = [await one.step(feeds), await two.step(feeds)];
        for (const l of model.losses) expect(Math.abs(a.losses[l]! - b.losses[l]!), `${l} step ${s}`).toBeLessThan(1e-5);
      }
      const [wa, wb] = [one.getWeights(), two.getWeights()];
      let moved = 0;
      for (const p of model.graph.params) {
        const [x, y] = [wa.get(p.name)!, wb.get(p.name)!];
        for (let i = 0; i < x.length; i++) {
          expect(Math.abs(x[i]! - y[i]!), `${p.name}[${i}]`).toBeLessThan(1e-5);
          moved = Math.max(moved, Math.abs(x[i]! - weights.get(p.name)![i]!));
        }
      }
      expect(moved).toBeGreaterThan(0.01);
      // The optimizer state is the same layout and values: a checkpoint moves between worker counts.
      const [sa, sb] = [one.getState(), two.getState()];
      expect([...sb.keys()]).toEqual([...sa.keys()]);
      for (const [k, v] of sa) for (let i = 0; i < v.data.length; i++) expect(Math.abs(v.data[i]! - sb.get(k)!.data[i]!), k).toBeLessThan(1e-6);
      one.dispose();
      two.dispose();
    });
  }

  it('a session on its own thread computes what one on this thread does, into the given buffers; after release a run fails saying so (never hangs)', async () => {
    const model = buildModel(schema, { towers: [8], embeddingDim: 4, numericDim: 3 });
    const weights = initWeights(model.graph, 3);
    const feeds = randomFeeds(model.graph, schema, 9, 4);
    // The predict graph's inputs: looked-up rows and dense weights, as the engine feeds them.
    const engine = await HostEmbeddingEngine.create({ model, weights, optimizer: DEFAULT_OPTIMIZER }, onnxCompiler(1, false), 'onnx', '');
    const want = (await engine.predict(feeds, ['pctcvr'])).pctcvr!;
    const threaded = await HostEmbeddingEngine.create({ model, weights, optimizer: DEFAULT_OPTIMIZER }, threadCompiler(1, false), 'onnx', '');
    expect(Array.from((await threaded.predict(feeds, ['pctcvr'])).pctcvr!)).toEqual(Array.from(want));
    const b = new GraphBuilder('tiny');
    b.output('y', ops.tanh(b, b.input('x', 'f32', ['batch', 2])));
    const runner = await threadCompiler(1, false)(b.build());
    const into = { y: new Float32Array(2) };
    const got = await runner.run({ x: { shape: [1, 2], data: Float32Array.of(0.5, -1) } }, ['y'], into);
    expect(got.y).toBe(into.y);
    expect(into.y[0]).toBeCloseTo(Math.tanh(0.5), 6);
    await expect(runner.run({}, ['y'])).rejects.toThrow("missing input 'x'");
    runner.release!();
    await expect(runner.run({ x: { shape: [1, 2], data: Float32Array.of(0.5, -1) } }, ['y'])).rejects.toThrow('onnx session worker exited');
    engine.dispose();
    threaded.dispose();
  });

  it('refuses a bad worker count when the factory is made', () => {
    expect(() => onnxEngineFactory({ workers: 0 })).toThrow('workers must be a positive integer, got 0');
    expect(() => onnxEngineFactory({ workers: 2.5 })).toThrow(/got 2\.5/);
  });
});
