import { artifactFromModel } from '@esm2/core';
import { readArtifact, writeArtifact } from '@esm2/core/node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TfjsEngine } from './engine.js';
import { DEFAULT_TEST_OPTIMIZER, cpuRuntime } from './testing/engine.js';
import { fixture } from './testing/fixtures.js';
import { randomFeeds } from '@esm2/core/testing';

let dir: string;
beforeAll(async () => {
  await cpuRuntime();
  dir = await mkdtemp(join(tmpdir(), 'esm2-tfjs-artifact-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('core artifact', () => {
  it('weights and optimizer state written after training resume bit-exactly in a fresh engine', async () => {
    const { schema, model, weights } = fixture({ model: 'esm2', towers: [6, 3] }, 31, 16);
    const batches = [1, 2, 3, 4].map((s) => randomFeeds(model.graph, schema, 16, 300 + s));
    const runtime = await cpuRuntime();
    const a = new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, runtime);
    await a.step(batches[0]!);
    await a.step(batches[1]!);
    await writeArtifact(join(dir, 'ckpt'), artifactFromModel(model, schema, a.getWeights(), { state: a.getState() }));

    const read = await readArtifact(join(dir, 'ckpt'));
    const b = new TfjsEngine(model, read.weights, DEFAULT_TEST_OPTIMIZER, runtime);
    b.setState(read.state!);
    expect(await b.predict(batches[2]!, ['pcvr'])).toEqual(await a.predict(batches[2]!, ['pcvr']));
    for (const batch of batches.slice(2)) expect(await b.step(batch)).toEqual(await a.step(batch));
    expect(b.getWeights()).toEqual(a.getWeights());
    a.dispose();
    b.dispose();
  });

  it('refuses state from another embedding optimizer with a clear message', async () => {
    const { model, weights } = fixture({ model: 'dnn', towers: [3] }, 32);
    const runtime = await cpuRuntime();
    const adam = new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, runtime);
    const adagrad = new TfjsEngine(model, weights, { ...DEFAULT_TEST_OPTIMIZER, embeddingOptimizer: 'adagrad' }, runtime);
    expect(() => adagrad.setState(adam.getState())).toThrow(/embedding optimizer 'adagrad'.*missing: adagrad\/acc\/emb\/user/);
    adam.dispose();
    adagrad.dispose();
  });
});
