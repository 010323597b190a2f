import { treeDigest } from '@esm2/core/testing';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynthetic } from '@esm2/data';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTrainer } from '../test-support/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-inputs-'));
  await writeSynthetic(join(dir, 'train.csv'), { rows: 200, seed: 5 });
  await mkdir(join(dir, 'folder'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

describe('a directory given where a file is read', () => {
  it('is refused naming the path and saying it is a directory: data inspect, data encode --config, fit --config, fit --data', async () => {
    const folder = join(dir, 'folder');
    const cases: [string[], string][] = [
      [['data', 'inspect', folder], `${folder}: it is a directory, not a CSV, TSV or Parquet file`],
      [['data', 'inspect', join(dir, 'train.csv'), '--config', folder], `${folder}: it is a directory; give a file`],
      [['data', 'encode', '--in', join(dir, 'train.csv'), '--out', join(dir, 'train.enc'), '--config', folder], `${folder}: it is a directory; give a file`],
      [['fit', '--data', join(dir, 'train.csv'), '--config', folder, '--model', 'esm2', '--out', join(dir, 'runs/a')], `${folder}: it is a directory; give a file`],
      [['fit', '--data', folder, '--model', 'esm2', '--out', join(dir, 'runs/b')], `${folder}: it is a directory, not a CSV, TSV or Parquet file`],
    ];
    for (const [args, message] of cases) {
      const r = await runTrainer(...args);
      process.exitCode = undefined;
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toBe(`esm2-train: ${message} `);
    }
  });
});

describe('a numeric column with a stray value', () => {
  it('is refused by data encode and fit, naming the file, line, column and value, before anything is written', async () => {
    const file = join(dir, 'stray.csv');
    const lines = (await readFile(join(dir, 'train.csv'), 'utf8')).trimEnd().split('\n');
    const price = lines[0]!.split(',').indexOf('price');
    const cells = lines[31]!.split(',');
    cells[price] = 'NA';
    lines[31] = cells.join(',');
    await writeFile(file, lines.join('\n') + '\n');
    const before = await treeDigest(dir);
    for (const args of [
      ['data', 'encode', '--in', file, '--out', join(dir, 'stray.enc')],
      ['fit', '--data', file, '--model', 'esm2', '--epochs', '1', '--out', join(dir, 'runs/stray')],
    ]) {
      const r = await runTrainer(...args);
      process.exitCode = undefined;
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toContain(`esm2-train: ${file}, line 32, column 'price': 'NA' is not a number, yet 199 of the 200 values sampled from the start of the file are numbers`);
      expect(r.err).toContain("'categorical: [price]' reads categories");
    }
    expect(await treeDigest(dir)).toEqual(before);
  });
});
