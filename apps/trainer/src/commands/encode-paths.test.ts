import { treeDigest } from '@esm2/core/testing';
import { writeSynthetic } from '@esm2/data';
import { appendFile, link, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTrainer } from '../test-support/cli.js';

/**
 * Commands that would destroy what they read, or what they did not write,
 * are refused before anything is touched: exit 1, the path named, and every
 * file under the test's directory byte-identical afterwards (sha256), with
 * nothing added.
 */
let dir: string;
let trainEnc: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-encode-paths-'));
  await writeSynthetic(join(dir, 'train.csv'), { rows: 600, seed: 5 });
  await writeSynthetic(join(dir, 'valid.csv'), { rows: 300, seed: 6 });
  // One impossible row (buy without click), so skip mode has a reject to write.
  await writeSynthetic(join(dir, 'bad.csv'), { rows: 300, seed: 7 });
  await appendFile(join(dir, 'bad.csv'), '1,1,1,1,1,1,1,1,1,t1,1.5,3.5,0,0,1\n');
  trainEnc = join(dir, 'train.enc');
  const r = await runTrainer('data', 'encode', '--in', join(dir, 'train.csv'), '--out', trainEnc, '--shards', '2');
  expect(r.err).toBe('');
  await symlink(trainEnc, join(dir, 'train-link.enc'));
  await symlink(join(dir, 'bad.csv'), join(dir, 'bad-link.csv'));
  await link(join(dir, 'bad.csv'), join(dir, 'bad-hard.csv'));
  await mkdir(join(dir, 'sub'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

/** Runs esm2-train and checks it was refused with `message` while nothing under the test directory changed. */
async function refused(message: string, ...args: string[]): Promise<void> {
  const before = await treeDigest(dir);
  const r = await runTrainer(...args);
  process.exitCode = undefined;
  expect(r.code, args.join(' ')).toBe(1);
  expect(r.err, args.join(' ')).toContain(message);
  expect(await treeDigest(dir), args.join(' ')).toEqual(before);
}

const small = ['--model', 'esm2', '--epochs', '1', '--batch-size', '100', '--towers', '8', '--embedding-dim', '4'];

describe('data encode refuses, before touching anything', () => {
  it('a --reject-file (skip mode) that is --in, by any spelling: d/./x, d/sub/../x, a symlink, a hard link', async () => {
    const input = join(dir, 'bad.csv');
    for (const spelling of [input, join(dir, '.', 'bad.csv'), join(dir, 'sub', '..', 'bad.csv'), join(dir, 'bad-link.csv'), join(dir, 'bad-hard.csv')]) {
      await refused(`--reject-file ${resolve(spelling)} is the same file as --in ${input}`, 'data', 'encode', '--in', input, '--out', join(dir, 'bad.enc'), '--on-bad-row', 'skip', '--reject-file', spelling);
      // With reused encoders too (no fitting pass): the encoding pass writes the same reject file.
      await refused(`is the same file as --in ${input}`, 'data', 'encode', '--in', input, '--out', join(dir, 'bad.enc'), '--encoders', trainEnc, '--on-bad-row', 'skip', '--reject-file', spelling);
    }
    // A reject file inside --out would be deleted with the directory it was written into.
    await refused(`--out ${trainEnc} holds --reject-file ${join(trainEnc, 'r.csv')}`, 'data', 'encode', '--in', input, '--out', trainEnc, '--on-bad-row', 'skip', '--reject-file', join(trainEnc, 'r.csv'));
    // Skip mode otherwise works: the bad row goes to the reject file, the input stays.
    const ok = await runTrainer('data', 'encode', '--in', input, '--out', join(dir, 'bad.enc'), '--on-bad-row', 'skip', '--reject-file', join(dir, 'bad.rejects.csv'));
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`skipped 1 bad row(s); written to ${join(dir, 'bad.rejects.csv')}`);
    await rm(join(dir, 'bad.enc'), { recursive: true });
    await rm(join(dir, 'bad.rejects.csv'));
  });

  it('an --out that is the --encoders directory, by any spelling: d/., d/../d, a symlink', async () => {
    const valid = join(dir, 'valid.csv');
    for (const spelling of [trainEnc, `${trainEnc}/.`, join(trainEnc, '..', 'train.enc'), join(dir, 'train-link.enc'), `${trainEnc}/`]) {
      await refused(`--out ${resolve(spelling)} is the same directory as --encoders ${trainEnc}: --out would overwrite the input --encoders`, 'data', 'encode', '--in', valid, '--out', spelling, '--encoders', trainEnc);
    }
    // Inside it, or holding it, is refused as well; a sibling is what --encoders is for.
    await refused(`--out ${join(trainEnc, 'valid')} is inside the input --encoders ${trainEnc}`, 'data', 'encode', '--in', valid, '--out', join(trainEnc, 'valid'), '--encoders', trainEnc);
    await refused(`--out ${dir} holds the input --in ${valid}`, 'data', 'encode', '--in', valid, '--out', dir, '--encoders', trainEnc);
    const ok = await runTrainer('data', 'encode', '--in', valid, '--out', join(dir, 'valid.enc'), '--encoders', join(dir, 'train-link.enc'));
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    await rm(join(dir, 'valid.enc'), { recursive: true });
  });

  it('an --out holding anything but a previous encode (a run fitted into it, a note, an extra shard file), naming the file', async () => {
    const again = ['data', 'encode', '--in', join(dir, 'train.csv'), '--out', trainEnc, '--shards', '2'];
    for (const extra of ['notes.txt', 'runs/x/history.json', 'shard-00001/extra.bin', 'shard-00007/features.price.bin']) {
      await mkdir(join(trainEnc, extra, '..'), { recursive: true });
      await writeFile(join(trainEnc, extra), 'not written by data encode');
      const first = extra.includes('/') && !extra.startsWith('shard-00001') ? extra.split('/')[0]! : extra;
      await refused(`refusing to overwrite ${trainEnc}: it holds ${join(trainEnc, first)}`, ...again);
      await rm(join(trainEnc, first), { recursive: true });
    }
    // What the manifest lists and nothing more: replaced as before.
    expect((await runTrainer(...again)).code).toBe(0);
    expect((await readdir(trainEnc)).sort()).toEqual(['encoders.json', 'manifest.json', 'shard-00000', 'shard-00001']);
  });
});

describe('fit --out refuses, before creating or locking anything', () => {
  it('an input directory by any spelling, a folder inside one, or one holding an input (--data, --valid, --config)', async () => {
    const config = join(dir, 'sub', 'fit.yaml');
    await writeFile(config, 'train:\n  epochs: 1\n');
    for (const spelling of [trainEnc, `${trainEnc}/.`, join(trainEnc, '..', 'train.enc'), join(dir, 'train-link.enc')]) {
      await refused(`--out ${resolve(spelling)} is the same directory as --data ${trainEnc}`, 'fit', '--data', trainEnc, '--out', spelling, ...small);
    }
    await refused(`--out ${join(trainEnc, 'run')} is inside the input --data ${trainEnc}`, 'fit', '--data', trainEnc, '--out', join(trainEnc, 'run'), ...small);
    await refused(`--out ${join(trainEnc, 'run')} is inside the input --valid ${join(dir, 'train-link.enc')}`, 'fit', '--data', join(dir, 'train.csv'), '--valid', join(dir, 'train-link.enc'), '--out', join(trainEnc, 'run'), ...small);
    await refused(`--out ${dir} holds the input --data ${trainEnc}`, 'fit', '--data', trainEnc, '--out', dir, ...small);
    await refused(`--out ${join(dir, 'sub')} holds the input --config ${config}`, 'fit', '--data', trainEnc, '--config', config, '--out', join(dir, 'sub'), ...small);
    await rm(config);
  });
});
