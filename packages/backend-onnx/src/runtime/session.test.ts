import { initWeights } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import { encodeModel } from '../proto/codec.js';
import { zooModel } from '../test-support/graphs.js';
import { OnnxSession } from './session.js';

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

describe('OnnxSession from shared memory', () => {
  it('loads model bytes that live on a SharedArrayBuffer (as handed to worker threads)', async () => {
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    const s = await OnnxSession.load(shared);
    expect((await s.run(feeds, ['pctr'])).pctr!.data).toHaveLength(300);
    await s.release();
  });
});
