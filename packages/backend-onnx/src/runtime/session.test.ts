import { initWeights } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import { encodeModel } from '../proto/codec.js';
import { zooModel } from '../test-support/graphs.js';
import { OnnxSession, toOrtTensor } from './session.js';

const model = zooModel('esm2');
const bytes = encodeModel(modelProto(compileGraph(model.graph, initWeights(model.graph, 1), { outputs: model.predictions })));
const feeds = randomFeeds(model.graph, smallSchema(), 300, 4);

describe('OnnxSession', () => {
  it('gives identical results for every thread count and spinning setting', async () => {
    const base = await OnnxSession.load(bytes);
    const want = await base.run(feeds);
    for (const options of [{ threads: 2, spinning: true }, { threads: 2, spinning: false }, { threads: 1, spinning: true }]) {
      const s = await OnnxSession.load(bytes, options);
      const got = await s.run(feeds, ['pcvr']);
      expect(Object.keys(got)).toEqual(['pcvr']);
      expect(got.pcvr!.data).toEqual(want.pcvr!.data);
      await s.release();
    }
    await base.release();
  });

  it('rejects a non-positive thread count', async () => {
    await expect(OnnxSession.load(bytes, { threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
  });

  it('names a missing input and a non-integer id', async () => {
    const s = await OnnxSession.load(bytes);
    const { user: _dropped, ...rest } = feeds;
    await expect(s.run(rest)).rejects.toThrow(/missing input 'user'/);
    await expect(s.run({ ...feeds, user: { shape: [300], data: new Float32Array(300).fill(0.5) } })).rejects.toThrow(
      /input 'user' holds ids, got 0.5/,
    );
    await s.release();
  });
});

describe('OnnxSession with int32 id inputs', () => {
  const int32 = encodeModel(modelProto(compileGraph(model.graph, initWeights(model.graph, 1), { outputs: model.predictions, idType: 'int32' })));

  it('scores exactly as the int64 graph', async () => {
    const [a, b] = [await OnnxSession.load(int32), await OnnxSession.load(bytes)];
    expect(await a.run(feeds)).toEqual(await b.run(feeds));
    await Promise.all([a.release(), b.release()]);
  });

  it('hands an Int32Array to onnxruntime as it is (no copy); widens it for int64; copies one in shared memory', () => {
    const ids = Int32Array.of(3, -1, 0);
    const tensor = toOrtTensor('user', 'int32', { shape: [3], data: ids });
    expect(tensor.type).toBe('int32');
    expect(tensor.data).toBe(ids);
    const wide = toOrtTensor('user', 'int64', { shape: [3], data: ids });
    expect(wide.data).toEqual(BigInt64Array.of(3n, -1n, 0n));
    const shared = new Int32Array(new SharedArrayBuffer(12));
    shared.set(ids);
    const copied = toOrtTensor('user', 'int32', { shape: [3], data: shared });
    expect(copied.data).not.toBe(shared);
    expect(copied.data).toEqual(ids);
  });

  it('names a non-integer id, an id past int32, and strings', async () => {
    const s = await OnnxSession.load(int32);
    await expect(s.run({ ...feeds, user: { shape: [300], data: new Float32Array(300).fill(0.5) } })).rejects.toThrow(/input 'user' holds ids, got 0.5 at element 0/);
    const big = new Float64Array(300);
    big[7] = 2 ** 31;
    await expect(s.run({ ...feeds, user: { shape: [300], data: big } })).rejects.toThrow(`input 'user' holds int32 ids, got ${2 ** 31} at element 7`);
    await expect(s.run({ ...feeds, user: { shape: [300], data: Array<string>(300).fill('u1') } })).rejects.toThrow("input 'user' has type int32, got strings");
    // Whole numbers in another array type are taken.
    const whole = Float64Array.from(feeds.user!.data);
    expect(await s.run({ ...feeds, user: { shape: [300], data: whole } })).toEqual(await s.run(feeds));
    await s.release();
  });
});

describe('OnnxSession from shared memory', () => {
  it('loads model bytes that live on a SharedArrayBuffer (as handed to worker threads)', async () => {
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    const s = await OnnxSession.load(shared);
    expect((await s.run(feeds, ['pctr'])).pctr!.data).toHaveLength(300);
    await s.release();
  });
});
