import { mkdir, mkdtemp, rm } from 'node:fs/promises';
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
