import { DEFAULT_PYTHON } from '@esm2/baseline-xgboost';
import { requiresPythonModule } from '@esm2/core/testing';
import { DEFAULT_WORLD_SIZES, writeSynthetic } from '@esm2/data';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompare, SETTINGS_FILE, type CompareOptions } from './run.js';
import { parseModels, parseVariants } from './spec.js';
import type { Comparison } from './summary.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-compare-damage-'));
  // As compare.test.ts: 60 users, so they come back across the test rows and have purchases behind the tests on them.
  await writeSynthetic(join(dir, 'train.csv'), { rows: 3000, seed: 11, sizes: { ...DEFAULT_WORLD_SIZES, users: 60 } });
  await writeSynthetic(join(dir, 'test.csv'), { rows: 3000, seed: 13, sizes: { ...DEFAULT_WORLD_SIZES, users: 60 } });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** sha256 of every file under `root`, by relative path. */
async function hashes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = join(d, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else out[relative(root, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(root);
  return out;
}

const base = (out: string, extra: Partial<CompareOptions> = {}): CompareOptions => ({
  train: join(dir, 'train.csv'),
  test: join(dir, 'test.csv'),
  entries: parseModels('esm2,dnn'),
  seeds: [1],
  out: join(dir, out),
  epochs: 1,
  batchSize: 200,
  towers: [8],
  embeddingDim: 4,
  gaucResamples: 20,
  ...extra,
});

describe('compare: every model and variant is checked before the first cell trains', () => {
  it('a variant with an unknown DAction column, a 300-character name or all-zero loss weights fails before any cell; nothing is written', async () => {
    const cases: [CompareOptions['entries'], RegExp][] = [
      [[...parseModels('esm2,dnn'), ...parseVariants('v:daction=nonexist')], /--variants 'v': .*nonexist.*missing column.*checked before any cell trains/],
      [[...parseModels('esm2'), { name: 'x'.repeat(300), model: 'esm2', daction: ['daction'] }], /is 300 characters long; at most 64/],
      [[...parseModels('esm2'), ...parseVariants('zero:loss-weights=0,0,0')], /--variants 'zero': --loss-weights: ctr 0, ctavr 0, ctcvr 0: esm2 would learn nothing/],
    ];
    for (const [entries, message] of cases) {
      const logs: string[] = [];
      await expect(runCompare(base('never', { entries, log: (m) => logs.push(m) }))).rejects.toThrow(message);
      expect(logs.filter((l) => l.startsWith('cell '))).toEqual([]);
      expect(await readdir(join(dir, 'never', 'runs')).catch(() => [])).toEqual([]);
    }
    // Two settings of one kind in a variant were silently the last one.
    expect(() => parseVariants('v:loss-weights=1,0,1 loss-weights=1,1,1')).toThrow(/loss-weights is given twice/);
  });

  it('warns when --train and --test are one file', async () => {
    const logs: string[] = [];
    await expect(runCompare(base('never', { test: join(dir, '.', 'train.csv'), entries: [...parseModels('esm2'), ...parseVariants('v:daction=nonexist')], log: (m) => logs.push(m) }))).rejects.toThrow(/nonexist/);
    expect(logs).toContain(`warning: --train and --test name the same file (${join(dir, 'train.csv')}, ${join(dir, 'train.csv')}): the test metrics measure data the models have already seen`);
  });
});

describe('compare --resume on a damaged folder', () => {
  it('re-runs a cell whose score file is gone or damaged (saying so), rewrites lost test labels, and refuses a missing, empty or invalid settings file by name', async () => {
    const out = join(dir, 'cmp');
    const first = await runCompare(base('cmp'));
    const resume = async (): Promise<{ c: Comparison; logs: string[] }> => {
      const logs: string[] = [];
      const c = await runCompare(base('cmp', { resume: true, log: (m) => logs.push(m) }));
      return { c, logs };
    };
    const scores = (cell: string) => join(out, 'runs', cell, 'test-scores.f32');

    // A deleted score file: that cell runs again (its training was finished, so it is scored again), the others are skipped.
    await rm(scores('dnn-seed1'));
    let r = await resume();
    expect(r.logs).toContain(`cell 2/2 dnn-seed1: finished earlier, but ${scores('dnn-seed1')} is missing: running it again`);
    expect(r.logs).toContain('cell 1/2 esm2-seed1: finished earlier, skipped');
    expect(r.c).toEqual(first);
    // Not the damaged folder's "every interval null, no reason": the tests on the test rows ran again (each gives an interval or says why not).
    for (const d of r.c.differences) expect(d.method === 'delong' ? d.delong : d.bootstrap).toBeDefined();
    for (const d of r.c.differences) expect(!Number.isNaN(d.ci95[0]) || d.reason !== undefined).toBe(true);

    // NaN written over a score: the same.
    const bytes = await readFile(scores('esm2-seed1'));
    const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    f[3000 + 5] = NaN; // pCVR of row 6
    await writeFile(scores('esm2-seed1'), new Uint8Array(f.buffer));
    r = await resume();
    expect(r.logs).toContain(`cell 1/2 esm2-seed1: finished earlier, but ${scores('esm2-seed1')}: pcvr of test row 6 is NaN, not a probability: running it again`);
    expect(r.c).toEqual(first);

    // A truncated score file.
    await writeFile(scores('esm2-seed1'), bytes.subarray(0, 100));
    r = await resume();
    expect(r.logs.find((l) => l.startsWith('cell 1/2 esm2-seed1: finished earlier, but'))).toMatch(/100 bytes, expected 3 × 3000 or 2 × 3000 float32 values.*running it again/);
    expect(r.c).toEqual(first);

    // The comparison's test labels deleted: the first cell runs again to write them.
    await rm(join(out, 'test-labels.f32'));
    r = await resume();
    expect(r.logs).toContain(`cell 1/2 esm2-seed1: finished earlier, but ${join(out, 'test-labels.f32')} is missing: running it again`);
    expect(r.c).toEqual(first);

    // The settings file: emptied, invalid or deleted, the resume is refused by its name, the folder untouched.
    const settings = join(out, SETTINGS_FILE);
    const saved = await readFile(settings, 'utf8');
    // Its common settings, as every version has written them (keys in this order, null for a setting not given): a resume compares them key by key.
    const common = (JSON.parse(saved) as { common: Record<string, unknown> }).common;
    expect(Object.keys(common)).toEqual(['train', 'valid', 'test', 'config', 'epochs', 'lossWeights', 'daction', 'batchSize', 'lr', 'towers', 'embeddingDim', 'interaction', 'init', 'crossLayers', 'backend']);
    expect(common).toMatchObject({ valid: null, config: {}, epochs: 1, lossWeights: null, batchSize: 200, lr: null, towers: [8], embeddingDim: 4, backend: null });
    for (const [content, message] of [
      ['', /compare-settings\.json is empty/],
      ['{"common": 1}', /compare-settings\.json is not a compare settings file \(common: /],
      ['{not json', /compare-settings\.json is not JSON/],
      [undefined, /compare-settings\.json is missing, yet the folder holds a comparison \(runs\/ with 2 cell\(s\), comparison\.json/],
    ] as const) {
      if (content === undefined) await rm(settings);
      else await writeFile(settings, content);
      const before = await hashes(out);
      await expect(resume()).rejects.toThrow(message);
      await expect(resume()).rejects.toThrow(settings);
      expect(await hashes(out)).toEqual(before);
    }
    await writeFile(settings, saved);
    expect((await resume()).c).toEqual(first);
  });
});

/** GBDT cells run when XGBoost is importable; under CI=true a missing XGBoost fails them. */
const xgboost = requiresPythonModule(DEFAULT_PYTHON, 'xgboost');

describe.runIf(xgboost.run)('compare: the GBDT cell', () => {
  beforeAll(xgboost.check);
  it('reports progress through its stages like the other cells', async () => {
    const stages: string[] = [];
    const rows: Record<string, number> = {};
    await runCompare(
      base('gbdt', {
        entries: parseModels('gbdt'),
        stageProgress: (cell, stage) => {
          stages.push(`${cell.name} ${stage}`);
          return { update: (n) => void (rows[stage] = n), stop: () => stages.push(`${cell.name} ${stage} done`) };
        },
      }),
    );
    expect(stages).toEqual([
      'gbdt-seed1 reading the training rows',
      'gbdt-seed1 reading the training rows done',
      'gbdt-seed1 scoring the test rows',
      'gbdt-seed1 scoring the test rows done',
    ]);
    expect(rows).toEqual({ 'reading the training rows': 3000, 'scoring the test rows': 3000 });
  });
});
