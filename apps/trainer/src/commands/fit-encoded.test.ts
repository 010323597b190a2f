import { readArtifact } from '@esm2/core';
import { writeSynthetic } from '@esm2/data';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
