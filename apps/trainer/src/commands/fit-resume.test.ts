import { writeSynthetic } from '@esm2/data';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../train/checkpoint.js';
import type { EpochRecord } from '../train/settings.js';
import { spawnCli, stderrLine } from '../test-support/cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-fit-resume-'));
  await writeSynthetic(join(dir, 'train.csv'), { rows: 4000, seed: 5 });
  await writeSynthetic(join(dir, 'valid.csv'), { rows: 1500, seed: 6 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cli = (args: string[]) => spawnCli(args, dir, { ESM2_TFJS_BACKEND: 'cpu' });

const fitArgs = (out: string) => ['fit', '--data', 'train.csv', '--valid', 'valid.csv', '--model', 'esm2', '--out', out, '--epochs', '4', '--batch-size', '50', '--towers', '8', '--embedding-dim', '4', '--lr', '0.01', '--seed', '3'];

const history = async (out: string) => JSON.parse(await readFile(join(dir, out, 'history.json'), 'utf8')) as EpochRecord[];

describe('fit: kill and resume', () => {
  it('a run SIGKILLed mid-training resumes from its intact checkpoint and ends exactly like an uninterrupted run', async () => {
    const first = cli(fitArgs('runs/killed'));
    // Kill during epoch 2: the moment epoch 1's checkpoint is reported saved (an event on stderr, not a sleep).
    await stderrLine(first.child, 'checkpoint: epoch 1 saved', 'its first checkpoint');
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');

    const ckpt = await readCheckpoint(join(dir, 'runs/killed/checkpoint'));
    const doneEpochs = ckpt.position.epoch;
    expect(doneEpochs).toBeGreaterThanOrEqual(1);
    expect(doneEpochs).toBeLessThan(4);
    expect(ckpt.position.step).toBe(doneEpochs * 80);
    expect((await history('runs/killed')).length).toBe(doneEpochs);

    const resumed = await cli(['fit', '--out', 'runs/killed', '--resume']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`after epoch ${doneEpochs} (step ${doneEpochs * 80}) of 4`);
    expect(resumed.stdout).not.toContain('epoch 1:');
    expect(resumed.stdout).toContain(`epoch ${doneEpochs + 1}:`);

    const reference = await cli(fitArgs('runs/reference')).done;
    expect(reference.code, reference.stderr).toBe(0);
    const [got, want] = [await history('runs/killed'), await history('runs/reference')];
    expect(got.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    // Same weights, optimizer moments and shuffle order after the resume: identical losses and metrics.
    expect(got.map((h) => [h.train_loss, h.ctcvr_auc])).toEqual(want.map((h) => [h.train_loss, h.ctcvr_auc]));
    expect((await readCheckpoint(join(dir, 'runs/killed/checkpoint'))).position.step).toBe(320);
  });

  it('bad flags and paths fail with clear messages', async () => {
    const [missing, noResume, badMetric, evalMissing] = await Promise.all([
      cli(['fit', '--data', 'nope.csv', '--model', 'esm2', '--out', 'runs/x']).done,
      cli(['fit', '--out', 'runs/none', '--resume']).done,
      cli(['fit', '--data', 'train.csv', '--model', 'esm2', '--out', 'runs/y', '--valid', 'valid.csv', '--early-stop', 'accuracy']).done,
      // Its own path: `fit --resume` above holds runs/none (its lock) while it runs, in parallel with this.
      cli(['eval', '--model', 'runs/absent', '--data', 'valid.csv']).done,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--data .*nope\.csv: no such file/);
    expect(noResume.stderr).toMatch(/--resume: .*runs\/none\/checkpoint holds no checkpoint/);
    expect(badMetric.stderr).toMatch(/unknown metric 'accuracy'/);
    expect(evalMissing.stderr).toMatch(/--model .*runs\/absent: no such directory/);
  });
});
