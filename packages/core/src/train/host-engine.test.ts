import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../autodiff/grad.js';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { adamUpdate } from './adam.js';
import { HostEmbeddingEngine, interpretCompiler } from './host-engine.js';

describe('HostEmbeddingEngine on the interpreter', () => {
  const schema = smallSchema();
  const model = buildModel(schema, { towers: [6, 3], embeddingDim: 3, numericDim: 2 });
  const optimizer = { ...DEFAULT_OPTIMIZER, lr: 0.02 };

  it('one step equals full-graph autodiff followed by Adam on every parameter', async () => {
    const weights = initWeights(model.graph, 2);
    const feeds = randomFeeds(model.graph, schema, 10, 3);
    const engine = await HostEmbeddingEngine.create({ model, weights, optimizer }, interpretCompiler, 'interpreter', 'f64 interpreter');
    const { losses } = await engine.step(feeds);
    const ref = interpret(grad(model.graph), weights, feeds);
    expect(losses.loss).toBeCloseTo(ref.loss!.data[0]!, 6);
    const after = engine.getWeights();
    for (const p of model.graph.params) {
      // Step 1 from zero moments: lazy (sparse) Adam and dense Adam agree, untouched rows stay.
      const w = Float32Array.from(weights.get(p.name)!);
      adamUpdate(w, ref[gradName(p.name)]!.data, new Float32Array(w.length), new Float32Array(w.length), 1, optimizer);
      const got = after.get(p.name)!;
      for (let i = 0; i < w.length; i++) expect(got[i]).toBeCloseTo(w[i]!, 5);
    }
  });

  it('training lowers the loss, predict matches the interpreter, and state round-trips', async () => {
    const weights = initWeights(model.graph, 5);
    const feeds = randomFeeds(model.graph, schema, 32, 6);
    const engine = await HostEmbeddingEngine.create({ model, weights, optimizer }, interpretCompiler, 'interpreter', '');
    const first = (await engine.step(feeds)).losses.loss!;
    let last = first;
    for (let i = 0; i < 30; i++) last = (await engine.step(feeds)).losses.loss!;
    expect(last).toBeLessThan(first * 0.8);
    const pred = await engine.predict(feeds, ['pctcvr', 'y2']);
    const ref = interpret(model.graph, engine.getWeights(), feeds, { outputs: ['pctcvr', 'y2'] });
    for (let i = 0; i < 32; i++) expect(pred.pctcvr![i]).toBeCloseTo(ref.pctcvr!.data[i]!, 6);

    // A second engine restored from weights + state continues identically.
    const twin = await HostEmbeddingEngine.create({ model, weights: engine.getWeights(), optimizer }, interpretCompiler, 'interpreter', '');
    twin.setState(engine.getState());
    const a = await engine.step(feeds);
    const b = await twin.step(feeds);
    expect(b.losses.loss).toBe(a.losses.loss);
    expect(twin.getWeights().get('emb/user')).toEqual(engine.getWeights().get('emb/user'));
  });
});
