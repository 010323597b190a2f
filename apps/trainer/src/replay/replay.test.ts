import { readArtifact } from '@esm2/core/node';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTrainer } from '../test-support/cli.js';
import type { ReplayFile, ReplayMode } from './options.js';
import { writeDayLog } from './test-log.js';

/**
 * esm2-train replay on a hand-made 4-day log (300 rows a day, new item and
 * user ids every day), tiny towers, one epoch: replay.json's structure,
 * each figure checked against what it is computed from, and the refusals.
 */

let dir: string;
const tiny = ['--epochs', '1', '--batch-size', '64', '--towers', '4', '--embedding-dim', '2'];
const modes: ReplayMode[] = ['incremental', 'retrain', 'frozen'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-replay-'));
  await writeDayLog(join(dir, 'log.csv'), { days: 4, rows: 300 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

/** The log's rows, parsed: the independent side of every check. */
async function logRows(): Promise<Record<string, string>[]> {
  const [header, ...lines] = (await readFile(join(dir, 'log.csv'), 'utf8')).trimEnd().split('\n');
  const names = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i]!, v])));
}

/** sha256 of every file under `root`, by relative path: what a refusal must leave as it was. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out[path.slice(root.length)] = createHash('sha256').update(await readFile(path)).digest('hex');
  }
  return out;
}

describe('esm2-train replay', () => {
  let file: ReplayFile;
  const out = () => join(dir, 'replay');

  beforeAll(async () => {
    const r = await runTrainer('replay', '--data', join(dir, 'log.csv'), '--by', 'day', '--from-day', '1', '--modes', modes.join(','), '--window', '2', '--out', out(), ...tiny);
    expect(r.code, r.err + r.logs).toBe(0);
    expect(r.out).toContain('eval day');
    file = JSON.parse(await readFile(join(out(), 'replay.json'), 'utf8')) as ReplayFile;
  });

  it('replay.json: every mode on every day from --from-day to the day before the last, each evaluated on the next day', async () => {
    expect(file.format).toBe('esm2-replay');
    expect(file.days).toEqual([0, 1, 2, 3].map((day) => ({ day, rows: 300 })));
    expect([file.fromDay, file.toDay, file.window]).toEqual([1, 2, 2]);
    expect(file.modes).toEqual(modes);
    expect(file.bootstrap).toMatchObject({ run: 'runs/bootstrap', trainDays: [0, 0], trainRows: 300 });
    expect(file.results.map((r) => [r.day, r.evalDay, r.evalRows])).toEqual([
      [1, 2, 300],
      [2, 3, 300],
    ]);
    for (const r of file.results) {
      expect(Object.keys(r.modes).sort()).toEqual([...modes].sort());
      for (const [mode, m] of Object.entries(r.modes)) {
        for (const k of ['ctr_auc', 'cvr_auc', 'ctcvr_auc'] as const) expect(m.metrics[k], `${mode} day ${r.day} ${k}`).toBeGreaterThan(0);
        for (const t of ['ctr', 'cvr', 'ctcvr'] as const) expect(Number.isFinite(m.metrics.pcoc[t])).toBe(true);
        expect(m.metrics.rows).toBe(300);
        expect(m.trainSeconds).toBeGreaterThanOrEqual(0);
      }
      // frozen is the bootstrap, never trained again; retrain is a new run on the window's days.
      expect(r.modes.frozen).toMatchObject({ run: 'runs/bootstrap', trainDays: [0, 0], trainSeconds: 0 });
      expect(r.modes.retrain).toMatchObject({ run: `runs/retrain/day-${r.day}`, trainDays: [r.day - 1, r.day], trainRows: 600 });
      expect(r.modes.retrain!.trainSeconds).toBeGreaterThan(0);
      // incremental: day d alone, from day d−1's run.
      expect(r.modes.incremental).toMatchObject({ run: `runs/incremental/day-${r.day}`, trainDays: [r.day, r.day], trainRows: 300 });
    }
    // DeLong's paired tests, incremental against each other mode, per task: the difference of the AUCs eval gave.
    for (const r of file.results) {
      expect(r.differences.map((x) => `${x.mode}-${x.baseline} ${x.metric}`)).toEqual(
        ['retrain', 'frozen'].flatMap((b) => ['ctr_auc', 'cvr_auc', 'ctcvr_auc'].map((m) => `incremental-${b} ${m}`)),
      );
      for (const x of r.differences) {
        expect(x.difference, `day ${r.day} ${x.baseline} ${x.metric}`).toBeCloseTo(r.modes.incremental!.metrics[x.metric]! - r.modes[x.baseline]!.metrics[x.metric]!, 10);
        expect(x.positives).toBe(r.modes.incremental!.metrics.positives[x.metric === 'ctr_auc' ? 'ctr' : x.metric === 'cvr_auc' ? 'cvr' : 'ctcvr']);
        expect(x.ci95[0]).toBeLessThanOrEqual(x.difference);
        expect(x.ci95[1]).toBeGreaterThanOrEqual(x.difference);
      }
    }
    // The summary is the mean over the days of what each day says.
    const ctcvr = file.results.map((r) => r.modes.retrain!.metrics.ctcvr_auc!);
    expect(file.summary.retrain!.meanAuc.ctcvr).toBeCloseTo((ctcvr[0]! + ctcvr[1]!) / 2, 12);
    expect(file.summary.frozen!.trainSeconds).toBe(0);
    // Nothing but what the replay keeps: no window file, no temp file.
    expect((await readdir(join(out(), 'days'))).sort()).toEqual(['day-0.csv', 'day-1.csv', 'day-2.csv', 'day-3.csv']);
    expect((await readdir(join(out(), 'evals'))).sort()).toEqual(['day-2', 'day-3']);
    expect(Object.keys(await snapshot(out())).filter((p) => p.includes('.tmp-'))).toEqual([]);
  });

  it('the day slices hold exactly their day\'s rows, without the day column', async () => {
    const rows = await logRows();
    for (const day of [0, 1, 2, 3]) {
      const [header, ...lines] = (await readFile(join(out(), 'days', `day-${day}.csv`), 'utf8')).trimEnd().split('\n');
      expect(header).toBe('user_id,item_id,category_id,price,click,daction,buy');
      const expected = rows.filter((r) => r['day'] === String(day)).map((r) => [r['user_id'], r['item_id'], r['category_id'], r['price'], r['click'], r['daction'], r['buy']].join(','));
      expect(lines).toEqual(expected);
    }
  });

  it("known ids: the share of the next day's rows whose item and user ids the run's saved vocabularies hold, counted from the log", async () => {
    const rows = await logRows();
    for (const r of file.results) {
      const next = rows.filter((x) => x['day'] === String(r.evalDay));
      for (const [mode, m] of Object.entries(r.modes)) {
        const artifact = await readArtifact(join(out(), m.run, 'best'));
        const vocab = (artifact.encoders as { vocabularies: Record<string, (string | null)[]> }).vocabularies;
        const items = new Set(vocab['item_id']!.filter((v) => v !== null));
        const users = new Set(vocab['user_id']!.filter((v) => v !== null));
        const share = (test: (x: Record<string, string>) => boolean) => next.filter(test).length / next.length;
        expect(m.knownIds.item, `${mode} day ${r.day}`).toBeCloseTo(share((x) => items.has(x['item_id']!)), 12);
        expect(m.knownIds.user).toBeCloseTo(share((x) => users.has(x['user_id']!)), 12);
        expect(m.knownIds.both).toBeCloseTo(share((x) => items.has(x['item_id']!) && users.has(x['user_id']!)), 12);
        expect(m.vocabulary).toEqual({ item: items.size + 1, user: users.size + 1 });
      }
      // New ids every day: the frozen model knows fewer of them than the models trained through the day before.
      expect(r.modes.frozen!.knownIds.both).toBeLessThan(r.modes.retrain!.knownIds.both);
      expect(r.modes.frozen!.knownIds.both).toBeLessThan(r.modes.incremental!.knownIds.both);
      // Incremental's vocabularies grew day by day (nothing is evicted here): they hold every id up to day d, as the window's do.
      expect(r.modes.incremental!.knownIds.both).toBeGreaterThanOrEqual(r.modes.retrain!.knownIds.both);
    }
  });

  it("frozen's figures are eval's of the bootstrap model on the next day's slice", async () => {
    const r = file.results[1]!;
    const metricsFile = join(dir, 'frozen-eval.json');
    const e = await runTrainer('eval', '--model', join(out(), 'runs', 'bootstrap'), '--data', join(out(), 'days', `day-${r.evalDay}.csv`), '--out', metricsFile);
    expect(e.code, e.err).toBe(0);
    const metrics = JSON.parse(await readFile(metricsFile, 'utf8')) as Record<string, unknown>;
    for (const k of ['ctr_auc', 'cvr_auc', 'ctcvr_auc', 'pcoc', 'logloss', 'positives'] as const) expect(r.modes.frozen!.metrics[k]).toEqual(metrics[k]);
  });

  it("incremental: day d's run is warm-started from day d−1's, the first from the bootstrap", async () => {
    for (const r of file.results) {
      const m = r.modes.incremental!;
      expect(m.parent).toBe(r.day === file.fromDay ? 'runs/bootstrap' : `runs/incremental/day-${r.day - 1}`);
      const artifact = await readArtifact(join(out(), m.run, 'best'));
      const lineage = artifact.metadata['lineage'] as { parent: { path: string; day: number } | null; day: number };
      expect(lineage.day).toBe(r.day);
      expect(lineage.parent?.path).toContain(m.parent!);
    }
  });

  it('--resume keeps the finished runs and redoes one whose result is gone', async () => {
    const target = join(out(), 'runs', 'retrain', 'day-2', 'replay-result.json');
    const before = JSON.parse(await readFile(target, 'utf8')) as { metrics: unknown };
    await rm(target);
    await rm(join(out(), 'replay.json'));
    // A finished run whose saved predictions are gone is scored again, not trained again.
    await rm(join(out(), 'runs', 'frozen', 'day-1', 'test-scores.f32'));
    const r = await runTrainer('replay', '--data', join(dir, 'log.csv'), '--by', 'day', '--from-day', '1', '--modes', modes.join(','), '--window', '2', '--out', out(), '--resume', ...tiny);
    expect(r.code, r.err + r.logs).toBe(0);
    expect(r.logs).toContain('retrain day 1: finished earlier, kept');
    expect(r.logs).toContain('frozen day 1: finished earlier, kept; scoring it again on day 2 for the paired tests');
    expect(r.logs).not.toContain('incremental day 1 (from');
    expect(r.logs).toContain('retrain day 2 (days 1…2): training');
    const again = JSON.parse(await readFile(join(out(), 'replay.json'), 'utf8')) as ReplayFile;
    expect(again.results[0]).toEqual(file.results[0]); // its differences too: the same predictions again
    // The same seed and data: the run trained again scores the same.
    expect(again.results[1]!.modes.retrain!.metrics).toEqual(before.metrics);
    // Other settings would mix two replays in one directory: refused, naming the setting, with nothing touched.
    const snap = await snapshot(out());
    const other = await runTrainer('replay', '--data', join(dir, 'log.csv'), '--by', 'day', '--from-day', '1', '--modes', modes.join(','), '--window', '3', '--out', out(), '--resume', ...tiny);
    expect(other.code).not.toBe(0);
    expect(other.err).toContain('was replayed with --window 2; --window 3 would change its runs');
    expect(await snapshot(out())).toEqual(snap);
  });
});

describe('replay refuses, before anything is written, naming the file and the column', () => {
  const refused = async (message: RegExp, ...args: string[]) => {
    const before = await snapshot(dir);
    const r = await runTrainer('replay', '--data', join(dir, 'log.csv'), '--out', join(dir, 'refused'), '--modes', 'retrain,frozen', ...tiny, ...args);
    expect(r.code, r.logs).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(await snapshot(dir)).toEqual(before);
    await expect(readdir(join(dir, 'refused'))).rejects.toThrow();
  };

  it('a --by column the file lacks, or one without a whole number in every row', async () => {
    await refused(/log\.csv, column 'days': missing column \(the file has day, user_id/, '--by', 'days', '--from-day', '1');
    await refused(/log\.csv, column 'price': a day column needs a whole number in every row; found '\d+\.\d+'/, '--by', 'price', '--from-day', '1');
  });

  it('--from-day or --to-day outside the data', async () => {
    await refused(/--from-day 0: .*log\.csv, column 'day' holds days 0…3; the days before --from-day train the first model/, '--by', 'day', '--from-day', '0');
    await refused(/--from-day 3: .*log\.csv, column 'day' holds days 0…3; each day's model is evaluated on the next day/, '--by', 'day', '--from-day', '3');
    await refused(/--to-day 3: .*log\.csv, column 'day' holds days 0…3/, '--by', 'day', '--from-day', '1', '--to-day', '3');
  });

  it('an unknown mode, and an --item-field the file lacks', async () => {
    await refused(/--modes.*unknown mode 'weekly'/, '--by', 'day', '--from-day', '1', '--modes', 'retrain,weekly');
    await refused(/--item-field sku: .*log\.csv has no such column/, '--by', 'day', '--from-day', '1', '--item-field', 'sku');
  });
});

describe('a replay that fails half-way', () => {
  it('exits non-zero, leaves the input as it was, writes no replay.json or report.html and no temp file', async () => {
    // Day 3 has a purchase without a click: scoring day 2's models on it fails.
    const text = await readFile(join(dir, 'log.csv'), 'utf8');
    const bad = join(dir, 'bad-log.csv');
    await writeFile(bad, text.replace(/\n3,([^,]+),([^,]+),([^,]+),([^,]+),0,0,0\n/, '\n3,$1,$2,$3,$4,0,0,1\n'));
    expect(await readFile(bad, 'utf8')).not.toBe(text);
    const hash = async () => createHash('sha256').update(await readFile(bad)).digest('hex');
    const before = await hash();
    const o = join(dir, 'failed');
    const r = await runTrainer('replay', '--data', bad, '--by', 'day', '--from-day', '1', '--modes', 'retrain,frozen', '--window', '2', '--out', o, ...tiny);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/day-3\.csv.*line \d+/);
    expect(await hash()).toBe(before);
    const files = Object.keys(await snapshot(o));
    expect(files).not.toContain('/replay.json');
    expect(files).not.toContain('/report.html');
    expect(files.filter((p) => p.includes('.tmp-'))).toEqual([]);
    // What finished is whole: day 1's runs have their results.
    expect(files).toContain('/runs/retrain/day-1/replay-result.json');
  });
});
