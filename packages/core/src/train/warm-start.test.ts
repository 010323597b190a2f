import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { initWeights } from '../ir/init.js';
import { parseFeatureSchema, type FeatureSchema } from '../schema.js';
import { randomFeeds } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { STATE_KEYS } from './engine-state.js';
import { HostEmbeddingEngine, interpretCompiler } from './host-engine.js';
import { embeddingTableFields, growState, growWeights, initialEngineState } from './warm-start.js';

/** user: vocabulary of `users` table rows (OOV row included); item: hashed (never grows); tags: multi-valued vocabulary. */
const schemaOf = (users: number, tags = 3): FeatureSchema =>
  parseFeatureSchema({
    fields: [
      { kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', size: users } },
      { kind: 'categorical', name: 'item', encoding: { kind: 'hash', buckets: 4 } },
      { kind: 'multiCategorical', name: 'tags', encoding: { kind: 'vocabulary', size: tags }, maxLength: 2, pooling: 'mean' },
      { kind: 'numeric', name: 'price' },
    ],
  });
const config = { towers: [3], embeddingDim: 2, numericDim: 2 };

/** Every value of every parameter set to `base` + its parameter's index + its position / 1000, so each row is recognisable. */
function marked(weights: Map<string, Float32Array>, base: number): Map<string, Float32Array> {
  return new Map([...weights].map(([name, w], p) => [name, w.map((_, i) => base + p + i / 1000)]));
}

describe('growWeights', () => {
  const oldModel = buildModel(schemaOf(3), config);
  const newModel = buildModel(schemaOf(5), config);
  const old = marked(initWeights(oldModel.graph, 1), 100);
  const fresh = marked(initWeights(newModel.graph, 2), 500);

  it('maps every embedding table to the field it is looked up by (the DNN baseline has two per field)', () => {
    expect(Object.fromEntries(embeddingTableFields(oldModel.graph))).toEqual({ 'emb/user': 'user', 'emb/item': 'item', 'emb/tags': 'tags' });
    const dnn = buildModel(schemaOf(3), { ...config, model: 'dnn' });
    expect(Object.fromEntries(embeddingTableFields(dnn.graph))).toMatchObject({ 'emb/user': 'user', 'ctr/emb/user': 'user' });
  });

  it('keeps known rows, takes fresh, reused and appended rows from the new run, and copies dense parameters', () => {
    // user: 3 → 5 rows; row 2 was freed and reused, rows 3 and 4 are new. tags: unchanged size, row 1 freed.
    const grown = growWeights(newModel.graph, old, fresh, new Map([['user', { rows: 5, fresh: Int32Array.of(2, 3, 4) }], ['tags', { rows: 3, fresh: Int32Array.of(1) }]]));
    const p = (name: string) => newModel.graph.params.findIndex((q) => q.name === name);
    const userOld = 100 + p('emb/user');
    const userFresh = 500 + p('emb/user');
    // [rows, dim 2] row-major: value at (r, k) = base + p + (2r + k)/1000.
    const want = [0, 1, 2, 3, 4].map((r) => [0, 1].map((k) => (r < 2 ? userOld : userFresh) + (2 * r + k) / 1000));
    expect(Array.from(grown.get('emb/user')!)).toEqual(want.flat().map((x) => Math.fround(x)));
    const tagsOld = 100 + p('emb/tags');
    const tagsFresh = 500 + p('emb/tags');
    expect(Array.from(grown.get('emb/tags')!)).toEqual([tagsOld, tagsOld + 0.001, tagsFresh + 0.002, tagsFresh + 0.003, tagsOld + 0.004, tagsOld + 0.005].map((x) => Math.fround(x)));
    // A field without growth (the hashed item) and every dense parameter: the parent's, untouched.
    for (const q of newModel.graph.params.filter((q) => !['emb/user', 'emb/tags'].includes(q.name))) expect(grown.get(q.name)).toEqual(old.get(q.name));
  });

  it('grows rows past the old table even when the growth lists none of them', () => {
    const grown = growWeights(newModel.graph, old, fresh, new Map([['user', { rows: 5, fresh: new Int32Array(0) }]]));
    const u = grown.get('emb/user')!;
    expect(Array.from(u.subarray(0, 6))).toEqual(Array.from(old.get('emb/user')!));
    expect(Array.from(u.subarray(6))).toEqual(Array.from(fresh.get('emb/user')!.subarray(6)));
  });

  it('refuses a dense parameter of another size, a shrinking table, the OOV row as fresh, and a table without growth that changed size', () => {
    const wider = buildModel(schemaOf(5), { ...config, towers: [4] });
    expect(() => growWeights(wider.graph, old, initWeights(wider.graph, 2), new Map([['user', { rows: 5, fresh: new Int32Array(0) }]]))).toThrow(
      /parameter 'y1\/l0\/w' has 24 values in the parent, the new model needs 32/,
    );
    const smaller = buildModel(schemaOf(2), config);
    expect(() => growWeights(smaller.graph, old, initWeights(smaller.graph, 2), new Map([['user', { rows: 2, fresh: new Int32Array(0) }]]))).toThrow(/tables never shrink/);
    expect(() => growWeights(newModel.graph, old, fresh, new Map([['user', { rows: 5, fresh: Int32Array.of(0) }]]))).toThrow(/fresh row 0 is outside rows 1…4/);
    expect(() => growWeights(newModel.graph, old, fresh, new Map())).toThrow(/parameter 'emb\/user' has 6 values in the parent, the new model needs 10/);
  });
});

describe('growState', () => {
  const oldModel = buildModel(schemaOf(3), config);
  const newModel = buildModel(schemaOf(5), config);
  const growth = new Map([['user', { rows: 5, fresh: Int32Array.of(2, 3, 4) }]]);

  it('keeps the step and known rows, zeroes fresh rows (Adam moments and the Adagrad accumulator), and copies dense moments', () => {
    for (const opt of ['adam', 'adagrad'] as const) {
      const old = initialEngineState(oldModel.graph, opt);
      let k = 0;
      for (const t of old.values()) if (t.dtype === 'f32') t.data.forEach((_, i) => (t.data[i] = ++k + i));
      old.set(STATE_KEYS.step, { dtype: 'i32', shape: [], data: Int32Array.of(42) });
      const grown = growState(newModel.graph, opt, old, growth);
      expect(grown.get(STATE_KEYS.step)!.data[0]).toBe(42);
      expect([...grown.keys()].sort()).toEqual([...old.keys()].sort());
      for (const slot of opt === 'adam' ? ['m', 'v'] : ['acc']) {
        const key = STATE_KEYS.table(opt, slot, 'emb/user');
        const was = old.get(key)!.data;
        expect(grown.get(key)!.shape).toEqual([5, 2]);
        expect(Array.from(grown.get(key)!.data)).toEqual([...Array.from(was.subarray(0, 4)), 0, 0, 0, 0, 0, 0]);
      }
      for (const [key, t] of old) if (!key.endsWith('/emb/user')) expect(grown.get(key)!.data).toEqual(t.data);
    }
  });

  it('refuses a state of another embedding optimizer, naming the keys', () => {
    expect(() => growState(newModel.graph, 'adagrad', initialEngineState(oldModel.graph, 'adam'), growth)).toThrow(/embedding optimizer 'adagrad'.*missing: adagrad\/acc\/emb\/user/);
  });

  it('a grown model and state: old ids predict as the parent did, and training continues from the kept step', async () => {
    const optimizer = { ...DEFAULT_OPTIMIZER, lr: 0.05 };
    const parent = await HostEmbeddingEngine.create({ model: oldModel, weights: initWeights(oldModel.graph, 3), optimizer }, interpretCompiler, 'interpreter', '');
    const schema = schemaOf(3);
    for (let s = 0; s < 3; s++) await parent.step(randomFeeds(oldModel.graph, schema, 16, s));
    // Users 3 and 4 are new; every old id (0 = OOV, 1, 2) is still known.
    const appended = new Map([['user', { rows: 5, fresh: Int32Array.of(3, 4) }]]);
    const weights = growWeights(newModel.graph, parent.getWeights(), initWeights(newModel.graph, 9), appended);
    const state = growState(newModel.graph, optimizer.embeddingOptimizer, parent.getState(), appended);
    const child = await HostEmbeddingEngine.create({ model: newModel, weights, optimizer }, interpretCompiler, 'interpreter', '');
    child.setState(state);
    // Rows of old ids only (the parent's feeds): identical predictions.
    const feeds = randomFeeds(oldModel.graph, schema, 20, 11);
    const outputs = [...oldModel.predictions];
    const [a, b] = [await parent.predict(feeds, outputs), await child.predict(feeds, outputs)];
    for (const o of outputs) expect(b[o]).toEqual(a[o]);
    expect(child.getState().get(STATE_KEYS.step)!.data[0]).toBe(3);
    await child.step(randomFeeds(newModel.graph, schemaOf(5), 16, 4));
    expect(child.getState().get(STATE_KEYS.step)!.data[0]).toBe(4);
    parent.dispose();
    child.dispose();
  });
});
