import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mountTinyTmpfs } from '@esm2/core/testing';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoders } from '@esm2/data';
import { defaultKeyColumns, scoreFile } from './batch-score.js';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { ScoringPool } from './pool.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { readTable } from './test-support/read-table.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let model: ScoringModel;
let pool: ScoringPool;
let expected: Record<string, number>[];

beforeAll(async () => {
  fixture = await makeFixture(2500);
  model = await loadScoringModel(fixture.onnx);
  pool = new ScoringPool(model.source, { workers: 2 });
  const local = await LocalScorer.create(model);
  expected = await local.scoreRows(model, requestRows(csvRows(fixture.csv)));
  await local.close();
});
afterAll(async () => {
  await pool?.close();
  await fixture?.cleanup();
});

const PREDICTIONS = ['pctr', 'pctavr', 'pcvr', 'pctcvr'] as const;

function expectScores(values: Record<string, unknown[]>, rows: number) {
  for (const p of PREDICTIONS) {
    const got = values[p]!.map((v) => Math.fround(Number(v)));
    expect(got, p).toEqual(expected.slice(0, rows).map((e) => e[p]));
  }
}

describe('scoreFile', () => {
  it('CSV → CSV: key columns then the four predictions, row for row equal to direct scoring, across batch boundaries', async () => {
    const out = join(fixture.dir, 'preds.csv');
    const progress: number[] = [];
    const report = await scoreFile({ model, scorer: pool, data: fixture.csv, out, batchSize: 333, onProgress: (r) => progress.push(r) });
    expect(report).toMatchObject({ rows: 2500, skipped: 0, keys: 2, columns: ['user_id', 'item_id', ...PREDICTIONS] });
    const table = await readTable(out);
    expect(table.columns).toEqual(['user_id', 'item_id', ...PREDICTIONS]);
    const input = csvRows(fixture.csv);
    expect(table.values.user_id).toEqual(input.map((r) => String(r.user_id)));
    expect(table.values.item_id!.slice(0, 5)).toEqual(input.slice(0, 5).map((r) => String(r.item_id)));
    expectScores(table.values, 2500);
    expect(progress.at(-1)).toBe(2500);
  });

  it('Parquet → Parquet with typed columns', async () => {
    const out = join(fixture.dir, 'preds.parquet');
    await scoreFile({ model, scorer: pool, data: fixture.parquet, out, batchSize: 1024 });
    const table = await readTable(out);
    expect(table.types).toEqual(['VARCHAR', 'VARCHAR', 'FLOAT', 'FLOAT', 'FLOAT', 'FLOAT']);
    expectScores(table.values, 2500);
  });

  it('copies the columns named by `keys` instead of the configured ones, and names a missing one', async () => {
    const out = join(fixture.dir, 'keyed.csv');
    const report = await scoreFile({ model, scorer: pool, data: fixture.csv, out, keys: ['hour', 'price'] });
    expect(report.columns).toEqual(['hour', 'price', ...PREDICTIONS]);
    const table = await readTable(out);
    expect(table.values.price!.slice(0, 3)).toEqual(csvRows(fixture.csv).slice(0, 3).map((r) => String(r.price)));
    expectScores(table.values, 2500);
    await expect(scoreFile({ model, scorer: pool, data: fixture.csv, out, keys: ['order_id'] })).rejects.toThrow(/order_id/);
  });

  it('without keys named or configured, copies the columns the model reads as user and item ids', async () => {
    const config = model.encoders.config;
    expect(defaultKeyColumns(config)).toEqual(['user_id', 'item_id']); // the fixture configures these keys
    const bare = { ...config, keys: [] };
    expect(defaultKeyColumns(bare)).toEqual(['user_id', 'item_id']); // its user field and item id field
    expect(defaultKeyColumns({ ...bare, userField: undefined, fields: bare.fields.filter((f) => f.name !== 'item_id') })).toEqual([]);
    const unkeyed = { ...model, encoders: new Encoders(bare, model.encoders.state) };
    const out = join(fixture.dir, 'unkeyed.csv');
    const report = await scoreFile({ model: unkeyed, scorer: pool, data: fixture.csv, out });
    expect(report.columns).toEqual(['user_id', 'item_id', ...PREDICTIONS]);
    const table = await readTable(out);
    expect(table.values.user_id).toEqual(csvRows(fixture.csv).map((r) => String(r.user_id)));
    expectScores(table.values, 2500);
  });

  it('leaves no output (and no temporary file) when a row is bad, naming the line', async () => {
    const bad = join(fixture.dir, 'bad.csv');
    const lines = readFileSync(fixture.csv, 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    const cells = lines[5]!.split(',');
    cells[header.indexOf('price')] = 'cheap';
    lines[5] = cells.join(',');
    writeFileSync(bad, `${lines.join('\n')}\n`);
    const out = join(fixture.dir, 'never.csv');
    await expect(scoreFile({ model, scorer: pool, data: bad, out })).rejects.toThrow(/line 6.*price|price.*line 6/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(fixture.dir).filter((f) => f.includes('never'))).toEqual([]);
  });

  it('refuses --out equal to --data, the model or the reject file before reading or writing anything', async () => {
    const data = join(fixture.dir, 'precious.csv');
    copyFileSync(fixture.csv, data);
    symlinkSync(data, join(fixture.dir, 'precious-link.csv'));
    const digest = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    const before = [digest(data), digest(fixture.onnx)];
    const listing = readdirSync(fixture.dir).sort();
    await expect(scoreFile({ model, scorer: pool, data, out: data })).rejects.toThrow(`--out ${data} is the same file as --data ${data}: --out would overwrite the input --data`);
    await expect(scoreFile({ model, scorer: pool, data, out: join(fixture.dir, 'precious-link.csv') })).rejects.toThrow(`is the same file as --data ${data}`);
    await expect(scoreFile({ model, scorer: pool, data, out: fixture.onnx })).rejects.toThrow(`--out ${fixture.onnx} is the same file as --model ${fixture.onnx}`);
    const fromDir = await loadScoringModel(fixture.run);
    await expect(scoreFile({ model: fromDir, scorer: pool, data, out: join(fixture.artifact, 'weights.bin') })).rejects.toThrow('--out would overwrite the input --model');
    const out = join(fixture.dir, 'x.csv');
    await expect(scoreFile({ model, scorer: pool, data, out, onBadRow: 'skip', rejectFile: out })).rejects.toThrow(`--out ${out} is the same file as --reject-file ${out}`);
    expect([digest(data), digest(fixture.onnx)]).toEqual(before);
    expect(readdirSync(fixture.dir).sort()).toEqual(listing);
  });

  it('refuses a directory as --data, naming it (not a bare EISDIR)', async () => {
    const dir = join(fixture.dir, 'a-directory');
    mkdirSync(dir);
    const out = join(fixture.dir, 'from-dir.csv');
    await expect(scoreFile({ model, scorer: pool, data: dir, out })).rejects.toThrow(`${dir}: it is a directory, not a CSV, TSV or Parquet file`);
    expect(existsSync(out)).toBe(false);
  });
});

const disk = await mountTinyTmpfs('64k');
if ('reason' in disk) console.warn(`skipping the full-disk scoring tests: ${disk.reason}`);
else afterAll(() => disk.unmount());

describe.skipIf('reason' in disk)('scoring onto a full disk (64 KiB tmpfs; the output is ~170 KB)', () => {
  const diskDir = 'dir' in disk ? disk.dir : '';

  it('scoreFile fails naming the output, keeps the old file, leaves no temp file', async () => {
    const dir = join(diskDir, 'lib');
    mkdirSync(dir);
    const out = join(dir, 'preds.csv');
    writeFileSync(out, 'old\n');
    await expect(scoreFile({ model, scorer: pool, data: fixture.csv, out, batchSize: 256 })).rejects.toThrow(`cannot write ${out}: no space left on device`);
    expect(readFileSync(out, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['preds.csv']);
  });

  it('esm2-score exits 1 with the path and the reason', () => {
    const dir = join(diskDir, 'cli');
    mkdirSync(dir);
    const out = join(dir, 'preds.parquet');
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', cli, '--model', fixture.onnx, '--data', fixture.csv, '--out', out, '--workers', '1', '--no-progress'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot write ${out}: no space left on device`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('esm2-score (CLI)', () => {
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, INIT_CWD: fixture.dir, npm_lifecycle_event: 'esm2-score' } });

  it('scores a file from a run directory, paths relative to where pnpm was started (INIT_CWD)', () => {
    const out = join(fixture.dir, 'cli.csv');
    const result = run('--model', 'runs/synthetic', '--data', 'impressions.csv', '--out', 'cli.csv', '--workers', '1', '--no-progress');
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/scored 2500 rows/);
    const text = readFileSync(out, 'utf8').split('\n');
    expect(text[0]).toBe('user_id,item_id,pctr,pctavr,pcvr,pctcvr');
    const first = text[1]!.split(',').slice(2).map(Number);
    expect(first.map(Math.fround)).toEqual(PREDICTIONS.map((p) => expected[0]![p]));
  });

  it('fails with a clear message for missing options and a missing model', () => {
    const missing = run('--data', fixture.csv);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/missing --model, --out/);
    const nomodel = run('--model', join(fixture.dir, 'nope'), '--data', fixture.csv, '--out', join(fixture.dir, 'x.csv'));
    expect(nomodel.stderr).toMatch(/--model .*nope: no such file or directory/);
  });
});
