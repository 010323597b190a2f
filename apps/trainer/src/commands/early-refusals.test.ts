import { writeSynthetic } from '@esm2/data';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fit } from '../api.js';
import { runTrainer } from '../test-support/cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-early-'));
  await writeSynthetic(join(dir, 'train.csv'), { rows: 400, seed: 1 });
  await symlink(join(dir, 'train.csv'), join(dir, 'link.csv'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

/** sha256 of every file in the test directory, by name: what a refusal must leave as it was. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = createHash('sha256').update(await readFile(join(dir, name)).catch(() => Buffer.from('<dir>'))).digest('hex');
  return out;
}

/** Runs esm2-train and expects a refusal matching `message` with the directory untouched. */
async function refused(message: RegExp, ...args: string[]): Promise<void> {
  const before = await snapshot();
  const r = await runTrainer(...args);
  expect(r.code, r.logs).not.toBe(0);
  expect(r.err).toMatch(message);
  expect(await snapshot()).toEqual(before);
}

const small = ['--epochs', '1', '--batch-size', '100', '--towers', '8', '--embedding-dim', '4'];

describe('seeds are whole numbers in 0…2^32 − 1 wherever they enter (1 and 2^32 + 1 were one run)', () => {
  it('fit --seed, fit config train.seed and fit()', async () => {
    const fitArgs = (...extra: string[]) => ['fit', '--data', join(dir, 'train.csv'), '--model', 'esm2', '--out', join(dir, 'run'), ...small, ...extra];
    await refused(/--seed <n>' argument '4294967297' is invalid.*0…4294967295/, ...fitArgs('--seed', '4294967297'));
    await refused(/0…4294967295/, ...fitArgs('--seed', '-1'));
    await writeFile(join(dir, 'cfg.yaml'), 'train:\n  seed: 4294967297\n');
    await refused(/cfg\.yaml: .*train\.seed/, ...fitArgs('--config', join(dir, 'cfg.yaml')));
    await rm(join(dir, 'cfg.yaml'));
    const before = await snapshot();
    await expect(fit({ train: join(dir, 'train.csv'), out: join(dir, 'run'), model: 'esm2', seed: 2 ** 32 + 1 })).rejects.toThrow(/seed: 4294967297 is outside 0…4294967295/);
    await expect(fit({ train: join(dir, 'train.csv'), out: join(dir, 'run'), model: 'esm2', seed: 1.5 })).rejects.toThrow(/seed: expected a whole number/);
    expect(await snapshot()).toEqual(before);
  });

  it('data generate --seed / --world-seed and data split --seed', async () => {
    await refused(/--seed <n>' argument '4294967297' is invalid/, 'data', 'generate', '--rows', '10', '--seed', '4294967297', '--out', join(dir, 'g.csv'));
    await refused(/--world-seed <n>' argument '-3' is invalid/, 'data', 'generate', '--rows', '10', '--world-seed', '-3', '--out', join(dir, 'g.csv'));
    await refused(/--seed <n>' argument '2\.5' is invalid/, 'data', 'split', '--in', join(dir, 'train.csv'), '--train', join(dir, 'a.csv'), '--test', join(dir, 'b.csv'), '--seed', '2.5');
  });

  it('compare --seeds: out of range or repeated', async () => {
    const args = (seeds: string) => ['compare', '--train', join(dir, 'train.csv'), '--test', join(dir, 'train.csv'), '--models', 'esm2', '--seeds', seeds, '--out', join(dir, 'cmp')];
    await refused(/--seeds: '4294967297': 4294967297 is outside 0…4294967295/, ...args('1,4294967297'));
    await refused(/--seeds: seed 1 is given twice/, ...args('1,1'));
    await refused(/--seeds: '-1'/, ...args('-1,2'));
  });

  it('compare --out that is, holds or lies inside an input is refused before anything is written', async () => {
    const args = (out: string, test = join(dir, 'train.csv')) => ['compare', '--train', join(dir, 'train.csv'), '--test', test, '--models', 'esm2', '--seeds', '1', '--out', out, ...small];
    // The comparison directory over the data: its runs/ and report would be written among the inputs.
    await refused(/--out .* (holds|contains) .*--train .*train\.csv/, ...args(dir));
    // An input as the comparison directory, by another spelling (a symlink).
    await refused(/--out .*link\.csv is the same file as --train .*train\.csv/, ...args(join(dir, 'link.csv')));
    // --test inside the comparison directory: a resumed cell's run directory could replace it.
    await mkdir(join(dir, 'cmp'));
    await copyFile(join(dir, 'train.csv'), join(dir, 'cmp', 'test.csv'));
    await refused(/--test .*cmp.* inside --out|--out .*cmp.* (holds|contains) .*--test/, ...args(join(dir, 'cmp'), join(dir, 'cmp', 'test.csv')));
  });
});

describe('late or internal errors become early, clear ones', () => {
  it('fit --master-port outside 1…65535', async () => {
    await refused(/--master-port <port>' argument '99999' is invalid\. expected a port in 1…65535/, 'fit', '--data', join(dir, 'train.csv'), '--model', 'esm2', '--out', join(dir, 'run'), '--backend', 'torch', '--master-port', '99999');
  });

  it('an embedding width that cannot be allocated is refused by its key before any data is read', async () => {
    await refused(/--embedding-dim: .*65536/, 'fit', '--data', join(dir, 'train.csv'), '--model', 'esm2', '--out', join(dir, 'run'), '--embedding-dim', '100000000');
  });

  it('all-zero loss weights are refused (nothing would be learnt), from the flag or the config', async () => {
    await refused(/--loss-weights: ctr 0, ctavr 0, ctcvr 0: esm2 would learn nothing; at least one loss weight must be > 0/, 'fit', '--data', join(dir, 'train.csv'), '--model', 'esm2', '--out', join(dir, 'run'), '--loss-weights', '0,0,0');
    await writeFile(join(dir, 'cfg.yaml'), 'model:\n  lossWeights: { ctr: 0, ctavr: 1, ctcvr: 0 }\n');
    // ESMM has no CTAVR loss: its two weights are both zero.
    await refused(/model\.lossWeights: ctr 0, ctcvr 0: esmm would learn nothing/, 'fit', '--data', join(dir, 'train.csv'), '--model', 'esmm', '--config', join(dir, 'cfg.yaml'), '--out', join(dir, 'run'));
    await rm(join(dir, 'cfg.yaml'));
  });

  it('fit warns on stderr when --data and --valid are one file by another spelling', async () => {
    const r = await runTrainer('fit', '--data', join(dir, 'train.csv'), '--valid', join(dir, 'link.csv'), '--model', 'esm2', '--out', join(dir, 'same'), ...small);
    expect(r.code, r.err).toBe(0);
    expect(r.logs).toContain(`warning: --data and --valid name the same file (${join(dir, 'train.csv')}, ${join(dir, 'link.csv')}): the validation metrics`);
    await rm(join(dir, 'same'), { recursive: true });
    const apart = await runTrainer('fit', '--data', join(dir, 'train.csv'), '--model', 'esm2', '--out', join(dir, 'same'), ...small);
    expect(apart.logs).not.toContain('warning: --data and --valid');
    await rm(join(dir, 'same'), { recursive: true });
  });
});
