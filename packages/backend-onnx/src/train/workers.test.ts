import { buildModel, DEFAULT_OPTIMIZER, initWeights, MODEL_NAMES } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { createOnnxTrainingEngine } from './engine.js';
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

  it('the pool: a batch with fewer rows than workers steps like 1 worker; a bad feed or id fails the call, not the pool; after release a step fails saying so (never hangs)', async () => {
    const model = buildModel(schema, { towers: [8], embeddingDim: 4, numericDim: 3 });
    const weights = initWeights(model.graph, 3);
    const optimizer = { ...DEFAULT_OPTIMIZER, lr: 0.01 };
    const one = await createOnnxTrainingEngine({ model, weights, optimizer });
    const three = await createOnnxTrainingEngine({ model, weights, optimizer }, { workers: 3 });
    // 2 rows on 3 workers: the third has no share and adds nothing; then a full batch.
    for (const rows of [2, 1, 7]) {
      const feeds = randomFeeds(model.graph, schema, rows, rows);
      const [a, b] = [await one.step(feeds), await three.step(feeds)];
      expect(Math.abs(a.losses.loss! - b.losses.loss!)).toBeLessThan(1e-6);
    }
    const [wa, wb] = [one.getWeights(), three.getWeights()];
    for (const p of model.graph.params) for (let i = 0; i < wa.get(p.name)!.length; i++) expect(Math.abs(wa.get(p.name)![i]! - wb.get(p.name)![i]!)).toBeLessThan(1e-6);
    const bad = randomFeeds(model.graph, schema, 7, 1);
    const label = model.graph.inputs.find((i) => i.role === 'label')!.name;
    await expect(three.step({ ...bad, [label]: { shape: [7], data: Float64Array.from(bad[label]!.data) } })).rejects.toThrow(/must be a Float32Array/);
    // An id outside its table is refused before the workers start (they look the rows up), naming the input.
    const ids = model.graph.inputs.find((i) => i.type.dtype === 'i32')!.name;
    const outside = Int32Array.from(bad[ids]!.data);
    outside[3] = 1_000_000;
    await expect(three.step({ ...bad, [ids]: { shape: bad[ids]!.shape, data: outside } })).rejects.toThrow(new RegExp(`input '${ids}': id 1000000 at position 3 is outside table`));
    expect((await three.step(randomFeeds(model.graph, schema, 7, 2))).losses.loss).toBeGreaterThan(0);
    three.dispose();
    await expect(three.step(randomFeeds(model.graph, schema, 7, 3))).rejects.toThrow('the onnx shard pool was released');
    one.dispose();
  });

  it('refuses a bad worker count when the factory is made', () => {
    expect(() => onnxEngineFactory({ workers: 0 })).toThrow('workers must be a positive integer, got 0');
    expect(() => onnxEngineFactory({ workers: 2.5 })).toThrow(/got 2\.5/);
  });
});
