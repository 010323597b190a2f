import { buildModel, DEFAULT_OPTIMIZER, initWeights, mulberry32, type HostTensor } from '@esm2/core';
import { batchToFeeds, EncodedShards, fitEncoders, writeEncodedShards, writeSynthetic, type Encoders } from '@esm2/data';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requires, treeDigest } from '@esm2/core/testing';
import { editedShards } from '@esm2/data/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainTorchEpochs, type TorchEpoch, type TorchFitRequest } from './fit.js';
import { TorchMissingError } from './errors.js';
import { torchInfo } from './run.js';
import { trainTorch } from './train.js';

const info = await torchInfo().catch((e: unknown) => e as Error);
const torch = requires({ what: 'python3 with torch', missing: info instanceof TorchMissingError ? info.message : undefined, install: 'apt-get install python3-torch, or ESM2_PYTHON naming a python with torch' });

const ROWS = 250;
const BATCH = 32;
let dir: string;
let encoders: Encoders;
let model: ReturnType<typeof buildModel>;
/** Every graph input over the rows, in file order. */
let rows: Record<string, HostTensor>;

/** An encoded-shards directory as `esm2-train data encode` writes it: synthetic rows in 2 shards. */
async function writeShards(out: string): Promise<void> {
  const csv = join(dir, 'rows.csv');
  const data = await writeSynthetic(csv, { rows: ROWS, seed: 77 });
  encoders = await fitEncoders(csv, data.config);
  await writeEncodedShards(csv, encoders, out, { shards: 2 });
  model = buildModel(encoders.schema, { model: 'esm2', towers: [8], embeddingDim: 4, numericDim: 3 });
  const [all] = (await EncodedShards.load(out)).batches({ batchSize: ROWS });
  rows = batchToFeeds(model.graph, all!);
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

describe.runIf(torch.run)('trainTorchEpochs', () => {
  beforeAll(torch.check);
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

  it('a directory that is not encoded shards, or shards that break the rules, are refused before python starts, naming the file', async () => {
    // A python that cannot start: reaching it would fail otherwise.
    const noPython = { python: join(dir, 'no-such-python') };
    const run = async (data: string) => {
      for await (const _ of trainTorchEpochs(request({ data }), noPython)) expect.fail('no epoch should train');
    };
    const notEncoded = join(dir, 'plain');
    await mkdir(notEncoded, { recursive: true });
    await expect(run(notEncoded)).rejects.toThrow(`${join(notEncoded, 'manifest.json')}: no such file (not an encoded-shards directory: ${notEncoded})`);
    // Buy without a click in shard 1, the manifest's checksum updated to match: the values are refused on their own.
    let row = -1;
    const clicks = await editedShards(join(dir, 'data'), join(dir, 'bad-click'), 1, 'labels/click', (a) => (row = a.indexOf(0)));
    const bad = await editedShards(clicks.dir, join(dir, 'bad'), 1, 'labels/buy', (a) => (a[row] = 1));
    const before = await treeDigest(bad.dir);
    await expect(run(bad.dir)).rejects.toThrow(`${bad.file}, row ${row}, column 'labels/buy': buy=1 but click=0`);
    // Nothing written: no scratch directory, the shards as they were.
    await expect(access(join(dir, 'scratch'))).rejects.toThrow();
    expect(await treeDigest(bad.dir)).toEqual(before);
    // The same directory without the check reaches python (which memory-maps it as it is): the refusal above came first.
    await expect(run(join(dir, 'data'))).rejects.toThrow(join(dir, 'no-such-python'));
  });
});
