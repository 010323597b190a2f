import { torchInfo, TorchMissingError } from '@esm2/backend-torch';
import type { ModelArtifact } from '@esm2/core';
import { requires } from '@esm2/core/testing';
import { writeSynthetic } from '@esm2/data';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fit } from '../api.js';
import { runTrainer } from '../test-support/cli.js';
import { readCheckpoint } from '../train/checkpoint.js';
import type { Lineage } from '../train/lineage.js';
import { worstWeight } from '../test-support/weights.js';

// Torch is Debian's python3-torch under /usr/bin/python3. Without it these tests skip, saying why; under CI=true they fail instead.
const info = await torchInfo().catch((e: unknown) => e as Error);
const torch = requires({ what: 'python3 with torch', missing: info instanceof TorchMissingError ? info.message : undefined, install: 'apt-get install python3-torch, or ESM2_PYTHON naming a python with torch' });

const sizes = { users: 150, items: 200, categories: 20, shops: 50, brands: 30, tags: 10, cities: 10 };
let dir: string;
const parentDir = () => join(dir, 'runs/parent');
const day1 = () => join(dir, 'day1.enc');

beforeAll(async () => {
  if (!torch.run) return;
  dir = await mkdtemp(join(tmpdir(), 'esm2-warm-torch-'));
  for (const day of [0, 1]) await writeSynthetic(join(dir, `day${day}.csv`), { rows: 400, seed: 20 + day, worldSeed: 9, sizes });
  await fit({ model: 'esm2', epochs: 1, batchSize: 100, towers: [8], embeddingDim: 4, seed: 3, workers: 1, lr: 0.01, train: join(dir, 'day0.csv'), out: parentDir() });
  // Day 1 encoded with the parent's encoders extended on it, in 2 shards.
  const encode = await runTrainer('data', 'encode', '--in', join(dir, 'day1.csv'), '--out', day1(), '--warm-start', parentDir(), '--shards', '2');
  expect(encode.err).toBe('');
});
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));
afterEach(() => {
  process.exitCode = undefined;
});

const lineageOf = (a: ModelArtifact) => (a.metadata as { lineage?: Lineage }).lineage;

describe.runIf(torch.run)('fit --warm-start --backend torch', () => {
  beforeAll(torch.check);
  const monitorInterval = process.env.PET_MONITOR_INTERVAL;
  beforeAll(() => {
    process.env.PET_MONITOR_INTERVAL = '0.1'; // torchrun looks at its ranks every 0.1 s (see fit-torch.test.ts)
  });
  afterAll(() => {
    if (monitorInterval === undefined) delete process.env.PET_MONITOR_INTERVAL;
    else process.env.PET_MONITOR_INTERVAL = monitorInterval;
  });

  it('the same warm start on the onnx and torch engines: weights within 1e-5; under torchrun with 2 ranks the same', async () => {
    const warm = { train: day1(), warmStart: parentDir(), epochs: 1 } as const;
    const onnx = await fit({ ...warm, out: join(dir, 'runs/warm-onnx') });
    const one = await fit({ ...warm, out: join(dir, 'runs/warm-torch-1'), backend: 'torch' });
    const r = await runTrainer('fit', '--data', day1(), '--warm-start', parentDir(), '--epochs', '1', '--out', join(dir, 'runs/warm-torch-2'), '--backend', 'torch', '--nproc-per-node', '2');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.logs).toContain('engine: torch — PyTorch under torchrun, 2 rank(s) (gloo)');
    expect(r.logs).toMatch(/warm start from .*runs\/parent\/checkpoint \(optimizer step 4\)/);
    const [co, c1, c2] = await Promise.all([onnx.checkpoint, one.checkpoint, join(dir, 'runs/warm-torch-2/checkpoint')].map(readCheckpoint));
    // 400 rows in batches of 100: 4 steps, the optimizer's step count continuing the parent's 4.
    for (const c of [co, c1, c2]) {
      expect(c!.position).toMatchObject({ epoch: 1, step: 4 });
      expect(c!.state.get('step')!.data[0]).toBe(8);
      expect(lineageOf(c!.artifact)).toEqual(lineageOf(co!.artifact));
    }
    expect(lineageOf(co!.artifact)!.parent.path).toBe(join(parentDir(), 'checkpoint'));
    expect(worstWeight(co!.artifact, c1!.artifact)).toBeLessThan(1e-5);
    expect(worstWeight(c1!.artifact, c2!.artifact)).toBeLessThan(1e-5);
    expect([...c2!.state.keys()].sort()).toEqual([...co!.state.keys()].sort());
    // The grown tables: more rows than the parent's.
    const parent = await readCheckpoint(join(parentDir(), 'checkpoint'));
    expect(c2!.artifact.weights.get('emb/user_id')!.length).toBeGreaterThan(parent.artifact.weights.get('emb/user_id')!.length);
  });
});
