import { buildModel, DEFAULT_OPTIMIZER, initWeights, mulberry32, type HostTensor } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainTorchEpochs, type TorchEpoch, type TorchFitRequest } from './fit.js';
import { torchInfo, TorchMissingError, torchPython } from './run.js';
import { trainTorch } from './train.js';

const info = await torchInfo().catch((e: unknown) => e as Error);
const skip = info instanceof TorchMissingError && process.env.CI !== 'true';
if (skip) console.warn(`backend-torch epoch tests: skipped — ${(info as Error).message}; under CI=true they fail instead`);

const schema = smallSchema();
const model = buildModel(schema, { model: 'esm2', towers: [8], embeddingDim: 4, numericDim: 3 });
const ROWS = 250;
const BATCH = 32;
const rows = randomFeeds(model.graph, schema, ROWS, 77);

/**
 * An encoded-shards directory as `esm2-train data encode` writes it (the
 * manifest's fields esm2_torch.fit reads): the rows in 2 shards, one raw
 * little-endian file per graph input.
 */
async function writeShards(dir: string): Promise<void> {
  const cut = [0, 120, ROWS];
  const columns: Record<string, { dtype: string; width: number }> = {};
  type ColumnFile = { file: string; dtype: string; shape: number[] };
  const shards = cut.slice(1).map((end, k) => ({ rows: end - cut[k]!, columns: new Map<string, ColumnFile>() }));
  for (const input of model.graph.inputs) {
    const key = `${input.role === 'label' ? 'labels' : 'features'}/${input.name}`;
    const t = rows[input.name]!;
    const width = t.data.length / ROWS;
    const dtype = input.type.dtype === 'i32' ? '<i4' : '<f4';
    columns[key] = { dtype, width };
    for (const [k, shard] of shards.entries()) {
      const file = `shard-${k}/${key.replace('/', '.')}.bin`;
      await mkdir(join(dir, `shard-${k}`), { recursive: true });
      const part = t.data.slice(cut[k]! * width, cut[k + 1]! * width);
      await writeFile(join(dir, file), new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
      shard.columns.set(key, { file, dtype, shape: width === 1 ? [shard.rows] : [shard.rows, width] });
    }
  }
  const manifest = { format: 'esm2-encoded-shards', version: 1, rows: ROWS, columns, shards: shards.map((s) => ({ rows: s.rows, columns: Object.fromEntries(s.columns) })) };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

/** The data package's epoch order (shards/read.ts): a Fisher–Yates permutation drawn from core's mulberry32. */
function order(n: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** The rows `which` of every graph input, as one batch. */
function take(which: number[]): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(rows)) {
    const width = t.data.length / ROWS;
    const data = t.data instanceof Int32Array ? new Int32Array(which.length * width) : new Float32Array(which.length * width);
    which.forEach((r, i) => data.set(t.data.subarray(r * width, (r + 1) * width), i * width));
    out[name] = { shape: [which.length, ...t.shape.slice(1)], data };
  }
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-torch-fit-'));
  await writeShards(join(dir, 'data'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const request = (over: Partial<TorchFitRequest> = {}): TorchFitRequest => ({
  model,
  weights: initWeights(model.graph, 5),
  step: 0,
  optimizer: DEFAULT_OPTIMIZER,
  data: join(dir, 'data'),
  batchSize: BATCH,
  epochs: [{ epoch: 1, seed: 41 }],
  dir: join(dir, 'scratch'),
  ...over,
});

describe.skipIf(skip)('trainTorchEpochs', () => {
  it("an epoch reads the shards in the data package's seeded order and takes trainTorch's steps on its batches", async () => {
    const epochs: TorchEpoch[] = [];
    for await (const e of trainTorchEpochs(request({ step: 7 }))) epochs.push(e);
    expect(epochs.map((e) => [e.epoch, e.step, e.rows])).toEqual([[1, 7 + Math.ceil(ROWS / BATCH), ROWS]]);
    const p = order(ROWS, 41);
    const batches = Array.from({ length: Math.ceil(ROWS / BATCH) }, (_, k) => take(p.slice(k * BATCH, (k + 1) * BATCH)));
    const want = await trainTorch(model, initWeights(model.graph, 5), DEFAULT_OPTIMIZER, batches);
    let worst = 0;
    for (const param of model.graph.params) {
      const a = epochs[0]!.weights.get(param.name)!;
      const b = want.weights.get(param.name)!;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    }
    // The same steps in the same process: equal up to float32 rounding of the packed losses.
    expect(worst).toBeLessThan(1e-6);
    // The epoch's loss is the mean over its rows of the steps' losses.
    const mean = want.losses.reduce((sum, l, k) => sum + l.loss! * batches[k]!.click!.shape[0]!, 0) / ROWS;
    expect(Math.abs(epochs[0]!.losses.loss! - mean)).toBeLessThan(1e-6 * mean);
    // The optimizer state is core's STATE_KEYS layout; its step count is the optimizer's own (no state given: from 0).
    expect(epochs[0]!.state.get('step')).toEqual({ dtype: 'i32', shape: [], data: Int32Array.of(Math.ceil(ROWS / BATCH)) });
    expect([...epochs[0]!.state.keys()].filter((k) => k.startsWith('adam/m/emb/'))).not.toHaveLength(0);
    await expect(access(join(dir, 'scratch'))).rejects.toThrow();
  });

  it('leaving the iteration early stops the ranks under torchrun and removes the scratch directory', async () => {
    const epochs = Array.from({ length: 40 }, (_, k) => ({ epoch: k + 1, seed: k }));
    const seen: number[] = [];
    for await (const e of trainTorchEpochs(request({ epochs }), { launch: { nprocPerNode: 2 } })) {
      seen.push(e.epoch);
      if (e.epoch === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    await expect(access(join(dir, 'scratch'))).rejects.toThrow();
  });

  it('a directory that is not encoded shards is refused, naming it and what to run', async () => {
    const notEncoded = join(dir, 'plain');
    await mkdir(notEncoded, { recursive: true });
    const run = async () => {
      for await (const _ of trainTorchEpochs(request({ data: notEncoded }))) expect.fail('no epoch should train');
    };
    await expect(run()).rejects.toMatchObject({
      name: 'TorchRunError',
      message: `torch run failed (${torchPython()} -m esm2_torch.fit exited with code 1): FitError: ${join(notEncoded, 'manifest.json')}: no such file (not an encoded-shards directory: run esm2-train data encode first)`,
    });
  });
});
