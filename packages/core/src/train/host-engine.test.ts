import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../autodiff/grad.js';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { adamUpdate } from './adam.js';
import { GraphBuilder, ops } from '../ir/builder.js';
import { STATE_KEYS } from './engine-state.js';
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

  it('refuses optimizer state of another embedding optimizer or size before changing anything', async () => {
    const weights = initWeights(model.graph, 7);
    const feeds = randomFeeds(model.graph, schema, 16, 8);
    const adam = await HostEmbeddingEngine.create({ model, weights, optimizer }, interpretCompiler, 'interpreter', '');
    const adagrad = await HostEmbeddingEngine.create({ model, weights, optimizer: { ...optimizer, embeddingOptimizer: 'adagrad' } }, interpretCompiler, 'interpreter', '');
    await adam.step(feeds);
    await adagrad.step(feeds);
    // A state the engine has moved on from (other step count and moments), each time with one defect.
    const short = adagrad.getState();
    const bad = adagrad.getState();
    await adagrad.step(randomFeeds(model.graph, schema, 16, 9));
    const before = adagrad.getState();
    expect(before.get(STATE_KEYS.step)!.data[0]).toBe(2);
    expect(() => adagrad.setState(adam.getState())).toThrow(/embedding optimizer 'adagrad'.*missing: adagrad\/acc\/emb\/user.*unexpected: adam\/m\/emb\/user/);
    // The last key restored: an engine that restored as it checked would have overwritten everything else.
    const last = STATE_KEYS.table('adagrad', 'acc', 'emb/tags');
    short.set(last, { dtype: 'f32', shape: [1], data: new Float32Array(1) });
    expect(() => adagrad.setState(short)).toThrow(`optimizer state '${last}' has 1 values`);
    bad.set(last, { dtype: 'i32', shape: [1], data: new Int32Array(before.get(last)!.data.length) });
    expect(() => adagrad.setState(bad)).toThrow(`optimizer state '${last}' is i32, expected f32`);
    expect(adagrad.getState()).toEqual(before);
  });

  it('refuses a model whose embedding table cannot stay on the host, naming the node', async () => {
    const b = new GraphBuilder('tiny');
    const table = b.param('emb/t', [10, 4], { kind: 'normal', std: 0.1 }, 'embedding');
    b.output('loss', ops.mean(b, ops.matmul(b, b.input('x', 'f32', ['batch', 10]), table)));
    const tiny = { ...model, graph: b.build(), losses: ['loss'] };
    await expect(HostEmbeddingEngine.create({ model: tiny, weights: initWeights(tiny.graph, 1), optimizer }, interpretCompiler, 'interpreter', '')).rejects.toThrow(
      /node '%\d+' \(matmul\) reads embedding table 'emb\/t'/,
    );
  });

  it('refuses initial weights that do not fit the model, listing every problem', async () => {
    const weights = initWeights(model.graph, 1);
    weights.delete('emb/user');
    weights.set('emb/item', new Float32Array(3));
    weights.set('stray', new Float32Array(1));
    await expect(HostEmbeddingEngine.create({ model, weights, optimizer }, interpretCompiler, 'interpreter', '')).rejects.toThrow(
      /initial weights do not fit model '.*': param 'emb\/user' has no weights; param 'emb\/item' has 3 values but the graph declares \[\d+,3\] = \d+; weights has 'stray'/,
    );
  });
});
