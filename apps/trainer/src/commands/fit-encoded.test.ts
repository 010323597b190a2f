import { readArtifact } from '@esm2/core/node';
import { treeDigest } from '@esm2/core/testing';
import { writeSynthetic } from '@esm2/data';
import { editedShards } from '@esm2/data/testing';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../train/checkpoint.js';
import { runTrainer } from '../test-support/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-fit-encoded-'));
  await writeSynthetic(join(dir, 'train.csv'), { rows: 2000, seed: 5 });
  await writeSynthetic(join(dir, 'valid.csv'), { rows: 800, seed: 6 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});


const small = ['--model', 'esm2', '--epochs', '1', '--batch-size', '100', '--towers', '8', '--embedding-dim', '4', '--seed', '3', '--select-by', 'ctr_auc'];

describe('fit --data <encoded directory>', () => {
  it("trains from the directory with its encoders, validates on one encoded with them, and writes the run", async () => {
    const [trainEnc, validEnc] = [join(dir, 'train.enc'), join(dir, 'valid.enc')];
    expect((await runTrainer('data', 'encode', '--in', join(dir, 'train.csv'), '--out', trainEnc, '--shards', '2')).code).toBe(0);
    const v = await runTrainer('data', 'encode', '--in', join(dir, 'valid.csv'), '--out', validEnc, '--encoders', trainEnc);
    expect(v.code).toBe(0);
    expect(v.out).toContain(`800 rows of ${join(dir, 'valid.csv')} → ${validEnc}: 1 shard(s) of 800 rows`);
    const out = join(dir, 'runs/enc');
    const r = await runTrainer('fit', '--data', trainEnc, '--valid', validEnc, '--out', out, ...small);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const ckpt = await readCheckpoint(join(out, 'checkpoint'));
    expect(ckpt.position).toMatchObject({ epoch: 1, step: 20, trainRows: 2000 });
    expect(ckpt.settings.train).toBe(trainEnc);
    const history = JSON.parse(await readFile(join(out, 'history.json'), 'utf8')) as { ctr_auc: number; samples_per_s: number }[];
    expect(history).toHaveLength(1);
    expect(history[0]!.ctr_auc).toBeGreaterThan(0.5);
    const best = await readArtifact(join(out, 'best'));
    expect(best.encoders).toEqual(JSON.parse(await readFile(join(trainEnc, 'encoders.json'), 'utf8')));
    // A resume reads the same directory again.
    expect((await runTrainer('fit', '--out', out, '--resume', '--epochs', '2')).code).toBe(0);
    expect((await readCheckpoint(join(out, 'checkpoint'))).position).toMatchObject({ epoch: 2, step: 40 });
  });

  it('refuses validation data encoded with other encoders, and a --daction the directory was not encoded with', async () => {
    const [trainEnc, own] = [join(dir, 'train.enc'), join(dir, 'valid-own.enc')];
    expect((await runTrainer('data', 'encode', '--in', join(dir, 'valid.csv'), '--out', own)).code).toBe(0);
    const r = await runTrainer('fit', '--data', trainEnc, '--valid', own, '--out', join(dir, 'runs/mismatch'), ...small);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--valid ${own}: encoded with other encoders than this run's`);
    const d = await runTrainer('fit', '--data', trainEnc, '--out', join(dir, 'runs/daction'), '--daction', 'cart', ...small);
    expect(d.code).toBe(1);
    expect(d.err).toContain(`--daction cart: ${trainEnc} was encoded with DAction = daction`);
  });
});

let copies = 0;
const edited = (from: string, k: number, key: string, edit: (a: Int32Array | Float32Array) => void, rehash = true) => editedShards(from, join(dir, `edited-${copies++}.enc`), k, key, edit, rehash);

describe('fit --data/--valid <encoded directory> checks the shards before training', () => {
  let runs = 0;
  /** fit refuses with `message` (exit 1), before training: no checkpoint or history, the shards unchanged. */
  async function refused(args: { data: string; valid?: string }, message: string) {
    const inputs = [args.data, ...(args.valid ? [args.valid] : [])];
    const before = await Promise.all(inputs.map(treeDigest));
    const out = join(dir, `runs/refused-${runs++}`);
    const r = await runTrainer('fit', '--data', args.data, ...(args.valid ? ['--valid', args.valid] : []), '--out', out, ...small);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
    await expect(access(join(out, 'checkpoint'))).rejects.toThrow();
    await expect(access(join(out, 'history.json'))).rejects.toThrow();
    expect(await Promise.all(inputs.map(treeDigest))).toEqual(before);
  }
  const trainEnc = () => join(dir, 'train.enc');

  it('refuses a click of 2, a NaN label, a buy without a click, naming the file, the row in its shard and the column', async () => {
    const two = await edited(trainEnc(), 1, 'labels/click', (a) => (a[5] = 2));
    await refused({ data: two.dir }, `${two.file}, row 5, column 'labels/click': label must be 0 or 1, got '2'`);
    const nan = await edited(trainEnc(), 0, 'labels/buy', (a) => (a[9] = NaN));
    await refused({ data: nan.dir }, `${nan.file}, row 9, column 'labels/buy': not a number (NaN)`);
    let row = -1;
    const click = await edited(trainEnc(), 0, 'labels/click', (a) => (row = a.indexOf(0)));
    const funnel = await edited(click.dir, 0, 'labels/buy', (a) => (a[row] = 1));
    await refused({ data: funnel.dir }, `${funnel.file}, row ${row}, column 'labels/buy': buy=1 but click=0`);
  });

  it('refuses a negative id and an id past its table, in training and in validation data', async () => {
    const negative = await edited(trainEnc(), 1, 'features/user_tags', (a) => (a[0] = -4));
    await refused({ data: negative.dir }, `${negative.file}, row 0, item 0, column 'features/user_tags': id -4 outside field 'user_tags's vocabulary's [0, `);
    const encoders = JSON.parse(await readFile(join(trainEnc(), 'encoders.json'), 'utf8')) as { vocabularies: Record<string, string[]> };
    const size = encoders.vocabularies['item_id']!.length + 1;
    const past = await edited(join(dir, 'valid.enc'), 0, 'features/item_id', (a) => (a[3] = size));
    await refused({ data: trainEnc(), valid: past.dir }, `${past.file}, row 3, column 'features/item_id': id ${size} outside field 'item_id's vocabulary's [0, ${size})`);
  });

  it('refuses a manifest that lists a shard twice, and a flipped byte by its checksum', async () => {
    const twice = await edited(trainEnc(), 0, 'labels/click', () => {});
    const { manifest } = twice;
    await writeFile(twice.manifestPath, JSON.stringify({ ...manifest, rows: manifest.rows + manifest.shards[1]!.rows, shards: [...manifest.shards, manifest.shards[1]] }));
    await refused({ data: twice.dir }, `${twice.manifestPath}: shards.2.columns.features/user_id.file: 'shard-00001/features.user_id.bin' is also shards.1.columns.features/user_id's file`);
    const flipped = await edited(trainEnc(), 1, 'features/price', (a) => (new Uint8Array(a.buffer, a.byteOffset)[6]! ^= 0x01), false);
    await refused({ data: flipped.dir }, `${flipped.file} is corrupt: checksum sha256 `);
  });
});
