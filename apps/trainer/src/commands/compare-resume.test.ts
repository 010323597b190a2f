import { writeSynthetic } from '@esm2/data';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Comparison } from '../compare/summary.js';
import { spawnCli, stderrLine } from '../test-support/cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-compare-resume-'));
  await writeSynthetic(join(dir, 'train.csv'), { rows: 3000, seed: 21 });
  await writeSynthetic(join(dir, 'valid.csv'), { rows: 600, seed: 22 });
  await writeSynthetic(join(dir, 'test.csv'), { rows: 2000, seed: 23 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cli = (args: string[]) => spawnCli(args, dir);

const compareArgs = (out: string) =>
  ['compare', '--train', 'train.csv', '--valid', 'valid.csv', '--test', 'test.csv', '--models', 'esm2,dnn', '--seeds', '1', '--epochs', '3', '--batch-size', '50', '--towers', '8', '--embedding-dim', '4', '--out', out];

const exists = (p: string) => access(p).then(() => true, () => false);

describe('compare: kill and resume', () => {
  it('a compare SIGKILLed in its second cell resumes (skipping the first, continuing the second) and ends with the same comparison.json as an uninterrupted run', async () => {
    const first = cli(compareArgs('killed'));
    // The event: the second cell has saved its first epoch (so the first cell is finished). Never a sleep.
    await stderrLine(first.child, '[2/2 dnn-seed1] checkpoint: epoch 1 saved', "the second cell's first checkpoint");
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(await exists(join(dir, 'killed/runs/esm2-seed1/metrics.json'))).toBe(true);
    expect(await exists(join(dir, 'killed/runs/dnn-seed1/metrics.json'))).toBe(false);
    expect(await exists(join(dir, 'killed/comparison.json'))).toBe(false);

    const refused = await cli(compareArgs('killed')).done;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already holds a comparison.*--resume/);

    const resumed = await cli([...compareArgs('killed'), '--resume']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('cell 1/2 esm2-seed1: finished earlier, skipped');
    expect(resumed.stderr).toContain('cell dnn-seed1: continuing its run from the last checkpoint');
    expect(resumed.stderr).toMatch(/resuming .*dnn-seed1 after epoch \d/);
    // The printed table is comparison.md's main table.
    expect(resumed.stdout).toMatch(/\| model \| seeds \| CVR AUC \|/);
    expect(resumed.stdout).toMatch(/\| esm2 \| 1 \|/);

    const reference = await cli(compareArgs('reference')).done;
    expect(reference.code, reference.stderr).toBe(0);
    const read = async (out: string) => JSON.parse(await readFile(join(dir, out, 'comparison.json'), 'utf8')) as Comparison;
    const [got, want] = [await read('killed'), await read('reference')];
    expect(Object.keys(got.models)).toEqual(['esm2', 'dnn']);
    expect(got).toEqual(want);
    // One seed: the AUC difference's interval is DeLong's on the test rows (DNN has pCVR but no pCTCVR here).
    const cvr = got.differences.find((d) => d.baseline === 'dnn' && d.metric === 'cvr_auc')!;
    expect(cvr.method).toBe('delong');
    expect(cvr.mean).toBeCloseTo(got.models.esm2!.runs[0]!.metrics.cvr_auc! - got.models.dnn!.runs[0]!.metrics.cvr_auc!, 10);
    expect(await readFile(join(dir, 'killed/comparison.md'), 'utf8')).toBe(await readFile(join(dir, 'reference/comparison.md'), 'utf8'));
  });
});
