import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TfjsEngine } from './engine.js';
import { DEFAULT_TEST_OPTIMIZER, cpuRuntime } from './testing/engine.js';
import { fixture } from './testing/fixtures.js';

beforeAll(cpuRuntime);

describe('tensor hygiene', () => {
  it('steps, predictions and state round-trips leave tf.memory().numTensors flat; dispose frees everything', async () => {
    const start = tf.memory().numTensors;
    const { model, weights, feeds } = fixture({ model: 'esm2', towers: [8, 4] }, 21, 16);
    const engine = new TfjsEngine(model, weights, { ...DEFAULT_TEST_OPTIMIZER, clipNorm: 1, embeddingL2: 1e-4 }, await cpuRuntime());
    await engine.step(feeds);
    const afterFirst = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      await engine.step(feeds);
      await engine.predict(feeds, ['pcvr', 'pctcvr']);
      await engine.gradients(feeds);
      engine.setState(engine.getState());
      expect(tf.memory().numTensors).toBe(afterFirst);
    }
    engine.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('a failing step (bad ids) leaks nothing either', async () => {
    const { model, weights, feeds } = fixture({ model: 'esmm', towers: [4] }, 22, 8);
    const engine = new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, await cpuRuntime());
    const before = tf.memory().numTensors;
    const bad = { ...feeds, user: { shape: [8], data: Int32Array.of(0, 1, 2, 3, 4, 5, 6, 99) } };
    await expect(engine.step(bad)).rejects.toThrow("input 'user': id 99 at position 7 is outside table 'emb/user' of 7 rows");
    const badShape = { ...feeds, price: { shape: [7], data: new Float32Array(7) } };
    await expect(engine.predict(badShape, ['pcvr'])).rejects.toThrow(/batch size 7/);
    const badTags = { ...feeds, tags: { shape: [8, 2], data: new Int32Array(16) } };
    await expect(engine.step(badTags)).rejects.toThrow(/input 'tags' has shape \[8,2\], the graph expects \[8,3\]/);
    expect(tf.memory().numTensors).toBe(before);
    engine.dispose();
  });
});
