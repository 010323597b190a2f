import { DEFAULT_PYTHON } from '@esm2/baseline-xgboost';
import { pairedSeedInterval, type Esm2Metrics } from '@esm2/core';
import { requiresPythonModule } from '@esm2/core/testing';
import { DEFAULT_WORLD_SIZES, writeSynthetic } from '@esm2/data';
import { areaUnder } from '@esm2/report';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatherComparison, runCompare, type CellFile } from './run.js';
import { comparisonReportInput } from './report.js';
import { readLabels, readScores, readUsers } from './scores.js';
import { parseModels, parseSeeds, parseVariants } from './spec.js';
import { meanAndSd, type Comparison } from './summary.js';

/** The comparison includes GBDT cells: without XGBoost it is skipped with the reason, under CI=true it fails (the one skip policy). */
const xgboost = requiresPythonModule(DEFAULT_PYTHON, 'xgboost');

let dir: string;

/**
 * Synthetic data with UserBehavior's two post-click columns: `cart` (the
 * generator's DAction) and `fav` (cart on every other row), so DAction =
 * cart OR fav = cart by default and `daction=fav` keeps about half of them.
 */
async function writeCartFav(path: string, rows: number, seed: number): Promise<void> {
  const raw = join(dir, `raw-${seed}.csv`);
  // 60 users, so users come back across the 3000 test rows and their GAUCs exist.
  await writeSynthetic(raw, { rows, seed, sizes: { ...DEFAULT_WORLD_SIZES, users: 60 } });
  const lines = (await readFile(raw, 'utf8')).trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const d = header.indexOf('daction');
  header[d] = 'cart';
  const out = [`${header.join(',')},fav`];
  lines.slice(1).forEach((line, i) => {
    const cells = line.split(',');
    out.push(`${line},${cells[d] === '1' && i % 2 === 0 ? 1 : 0}`);
  });
  await writeFile(path, `${out.join('\n')}\n`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-compare-'));
  await writeCartFav(join(dir, 'train.csv'), 3000, 11);
  await writeCartFav(join(dir, 'valid.csv'), 800, 12);
  await writeCartFav(join(dir, 'test.csv'), 3000, 13);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const readJson = async <T>(path: string) => JSON.parse(await readFile(path, 'utf8')) as T;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

describe.runIf(xgboost.run)('compare', () => {
  beforeAll(xgboost.check);
  it('runs models × seeds × variants as run directories and summarises them in comparison.json, comparison.md and report.html', async () => {
    const out = join(dir, 'cmp');
    const entries = [...parseModels('esm2,dnn,gbdt'), ...parseVariants('no-ctavr:loss-weights=1,0,1; fav:daction=fav')];
    const logs: string[] = [];
    // init: the paper's start whatever fit's default is (what compare --paper passes).
    const opts = { train: join(dir, 'train.csv'), valid: join(dir, 'valid.csv'), test: join(dir, 'test.csv'), entries, seeds: [1, 2], out, epochs: 1, batchSize: 200, towers: [8], embeddingDim: 4, init: 'paper' as const };
    // Two cells at a time (--parallel 2): the pool, and cells sharing the comparison directory.
    const c = await runCompare({ ...opts, parallel: 2, log: (m) => logs.push(m) });

    const names = entries.map((e) => e.name);
    expect(Object.keys(c.models)).toEqual(names);
    expect(logs.filter((l) => / finished \(/.test(l))).toHaveLength(names.length * 2);
    expect(logs).toContain(`cell 1/${names.length * 2} esm2-seed1: esm2, seed 1`);
    const onDisk = await readJson<Comparison>(join(out, 'comparison.json'));
    expect(Object.keys(onDisk)).toEqual(expect.arrayContaining(['test', 'models', 'differences']));

    const cells: Record<string, CellFile[]> = {};
    for (const name of names) cells[name] = await Promise.all([1, 2].map((s) => readJson<CellFile>(join(out, 'runs', `${name}-seed${s}`, 'metrics.json'))));
    const base = cells.esm2![0]!;
    expect(onDisk.test).toEqual({ rows: 3000, clicks: base.clicks, dactions: base.dactions, buys: base.buys });
    for (const name of names) {
      const m = onDisk.models[name]!;
      expect(m.runs.map((r) => r.seed)).toEqual([1, 2]);
      m.runs.forEach((r, i) => {
        const { cell: _c, data: _d, engine: _e, ...metrics } = cells[name]![i]!;
        expect(r.metrics).toEqual(metrics);
      });
      // Mean and sample sd over seeds, recomputed from the cells' files: every model scores CTR, CVR and CTCVR.
      for (const key of ['ctr_auc', 'cvr_auc', 'ctcvr_auc'] as const) {
        const xs = cells[name]!.map((f) => f[key]!);
        for (const x of xs) expect(x).toEqual(expect.any(Number));
        expect(m.mean[key]).toBeCloseTo(mean(xs), 12);
        expect(m.sd[key]).toBeCloseTo(sd(xs), 12);
      }
      // ...and the nested ones likewise, logloss per task (CTAVR's where the model has one).
      const tasks = Object.keys(cells[name]![0]!.logloss);
      expect(tasks.sort()).toEqual(name === 'esm2' || name === 'no-ctavr' || name === 'fav' ? ['ctavr', 'ctcvr', 'ctr', 'cvr'] : ['ctcvr', 'ctr', 'cvr']);
      const [meanLogloss, sdLogloss] = [m.mean.logloss, m.sd.logloss] as Esm2Metrics['logloss'][];
      for (const task of tasks as (keyof Esm2Metrics['logloss'])[]) {
        const xs = cells[name]!.map((f) => f.logloss[task]!);
        expect(meanLogloss![task]).toBeCloseTo(mean(xs), 12);
        expect(sdLogloss![task]).toBeCloseTo(sd(xs), 12);
      }
    }
    // CTAVR only where the model has it.
    expect(onDisk.models.esm2!.mean).toHaveProperty('ctavr_auc');
    expect(onDisk.models.dnn!.mean).not.toHaveProperty('ctavr_auc');
    // The paper's DNN has a CTR and a CVR network: every task but CTAVR is scored, CTCVR with pCTR·pCVR.
    for (const key of ['ctr_auc', 'cvr_auc', 'ctcvr_auc'] as const) expect(onDisk.models.dnn!.mean[key]).toEqual(expect.any(Number));
    expect(onDisk.models.gbdt!.mean).not.toHaveProperty('ctavr_auc');
    expect(cells.gbdt![0]!.cell.settings).toMatchObject({ model: { model: 'gbdt' }, params: { seed: 1 } });

    // Differences: ESM2 against every other model, paired over the two seeds.
    const d = onDisk.differences.find((x) => x.baseline === 'no-ctavr' && x.metric === 'ctcvr_auc')!;
    const want = pairedSeedInterval(cells.esm2!.map((f) => f.ctcvr_auc!), cells['no-ctavr']!.map((f) => f.ctcvr_auc!));
    expect(d).toMatchObject({ model: 'esm2', seeds: 2 });
    expect(d.mean).toBeCloseTo(want.difference, 12);
    expect(d.ci95[0]).toBeCloseTo(want.ci95[0], 12);
    expect(d.ci95[1]).toBeCloseTo(want.ci95[1], 12);
    expect(d.method).toBe('seeds-t');
    // DeLong on the first seed's saved test predictions: its AUCs are the cells' own (exact, same rows, same labels).
    for (const baseline of names.filter((n) => n !== 'esm2')) {
      for (const metric of ['cvr_auc', 'ctcvr_auc'] as const) {
        const x = onDisk.differences.find((y) => y.baseline === baseline && y.metric === metric);
        const theirs = cells[baseline]![0]![metric]!;
        expect(theirs).toEqual(expect.any(Number));
        expect(x!.delong!.seed).toBe(1);
        expect(x!.delong!.positives).toBe(base.positives[metric === 'cvr_auc' ? 'cvr' : 'ctcvr']);
        expect(x!.delong!.difference).toBeCloseTo(base[metric]! - theirs, 10);
      }
    }
    // The user bootstrap on the first seed's saved predictions (its arithmetic: summary.test.ts), over the users
    // the metrics count; this tiny test file has one purchase, so one such user and no interval, said in words.
    expect(base.positives).toMatchObject({ cvr: 1, ctcvr: 1 });
    expect(base.gauc_users).toEqual({ cvr: 1, ctcvr: 1 });
    for (const baseline of names.filter((n) => n !== 'esm2')) {
      for (const metric of ['cvr_gauc', 'ctcvr_gauc'] as const) {
        const b = onDisk.differences.find((y) => y.baseline === baseline && y.metric === metric)!.bootstrap!;
        expect(b).toMatchObject({ seed: 1, resamples: 200, users: 1 });
        expect(b.reason).toBe('1 user with both a positive and a negative test row: every resample draws the same users, so the bootstrap has no interval');
      }
    }
    const users = (await readUsers(join(out, 'test-users.u32'), 3000))!;
    expect(new Set(users).size).toBeGreaterThanOrEqual(base.gauc_users!.ctcvr!);
    expect(new Set(onDisk.differences.map((x) => x.baseline))).toEqual(new Set(names.filter((n) => n !== 'esm2')));

    // Variants change what they say: the loss weights, and DAction (fav is half of cart here).
    const settings = (name: string) => cells[name]![0]!.cell.settings as { model: { lossWeights: { ctavr: number } }; daction: string[] };
    expect(settings('no-ctavr').model.lossWeights.ctavr).toBe(0);
    expect(settings('esm2').model.lossWeights.ctavr).toBe(1);
    expect((cells.esm2![0]!.cell.settings as { model: { init: string } }).model.init).toBe('paper');
    expect((await readJson<{ common: { init: string } }>(join(out, 'compare-settings.json'))).common.init).toBe('paper');
    expect(settings('fav').daction).toEqual(['fav']);
    expect(settings('esm2').daction.sort()).toEqual(['cart', 'fav']);
    expect(cells.fav![0]!.dactions).toBeLessThan(base.dactions);
    expect(cells.fav![0]!.buys).toBe(base.buys);

    const md = await readFile(join(out, 'comparison.md'), 'utf8');
    expect(md).toContain('## AUC and GAUC (Table 3)');
    expect(md).toContain('Table 4');
    expect(md).toContain('Table 5');
    expect(md).toContain(`CVR figures rest on ${base.positives.cvr} positives`);
    expect(md).toMatch(/\| no-ctavr \| ctcvr_auc \|/);
    // Few test purchases here: the tables say so in words.
    expect(base.positives.ctcvr).toBeLessThan(100);
    expect(md).toContain('do not read a winner from it');

    // report.html: every model, the differences, and the charts — ROC and calibration for CTR, CVR and CTCVR (from
    // the cells' saved test predictions), one training chart per deep model (GBDT has no history), top-k for CVR and CTCVR.
    const html = await readFile(join(out, 'report.html'), 'utf8');
    for (const name of names) expect(html).toContain(`<td>${name}</td>`);
    const deep = names.filter((n) => n !== 'gbdt');
    const kinds = [...html.matchAll(/<figure class="chart" data-kind="(\w+)"/g)].map((k) => k[1]);
    expect(kinds).toHaveLength(3 + 3 + deep.length + 2);
    expect(kinds.filter((k) => k === 'training')).toHaveLength(deep.length);
    for (const name of deep) expect(html).toContain(`Training — ${name}`);
    expect(html).not.toContain('Training — gbdt');
    expect(html).toContain(`ROC — CTR (${base.positives.ctr} positives)`);
    expect(html).toContain(`ROC — CVR (${base.positives.cvr} positives)`);
    expect(html).toContain(`ROC — CTCVR (${base.positives.ctcvr} positives)`);
    expect(html).toContain('Differences to the baselines');
    expect(html).toContain('DeLong on test rows (seed 1)');
    expect(html).toContain('paired over 2 seeds (t)');
    expect(logs).toContain(`report written to ${join(out, 'report.html')} (${kinds.length} charts)`);
    // Its curves are each cell's saved test predictions against the saved labels, row for row: the area under
    // every CVR ROC curve (clicked rows; few enough distinct scores that the curve is not thinned) is the cell's AUC.
    const input = await comparisonReportInput(c, await gatherComparison(out, names));
    expect(input.models.map((m) => m.name)).toEqual(names);
    for (const m of input.models) {
      m.runs.forEach((r, i) => {
        expect(r.roc!.cvr!.positives).toBe(base.positives.cvr);
        expect(areaUnder(r.roc!.cvr!)).toBeCloseTo(cells[m.name]![i]!.cvr_auc!, 6);
        expect(r.roc!.ctcvr === undefined).toBe(cells[m.name]![i]!.ctcvr_auc === undefined);
        expect(areaUnder(r.roc!.ctr!)).toBeCloseTo(cells[m.name]![i]!.ctr_auc!, 2); // all rows: a thinned curve
      });
    }

    // An existing comparison is not overwritten without --resume; with it, finished cells are skipped.
    await expect(runCompare(opts)).rejects.toThrow(/already holds a comparison.*--resume/);
    const again: string[] = [];
    const resumed = await runCompare({ ...opts, resume: true, log: (m) => again.push(m) });
    expect(again.filter((l) => l.endsWith('finished earlier, skipped'))).toHaveLength(names.length * 2);
    expect(resumed).toEqual(c);
    // The report's seam: every finished cell as plain data, with its history and test predictions.
    const g = await gatherComparison(out);
    expect(Object.keys(g.models).sort()).toEqual([...names].sort());
    expect(g.models.esm2!.runs[0]!.history).toHaveLength(1);
    const { pctr, pcvr, pctcvr } = (await readScores(g.models.dnn!.runs[0]!.scores!, 3000))!;
    for (const p of [pctr, pcvr, pctcvr]) expect(p.every((x) => x > 0 && x < 1)).toBe(true);
    // DNN's pCTCVR is the product of its two networks' predictions, as float32 multiplies it.
    expect(pctcvr.every((x, i) => x === Math.fround(pctr[i]! * pcvr[i]!))).toBe(true);
    const { click, buy } = (await readLabels(g.labels!, 3000))!;
    expect(click.reduce((a, b) => a + b, 0)).toBe(base.clicks);
    expect(buy.reduce((a, b) => a + b, 0)).toBe(base.buys);
    // A resume that would mix cells made differently is refused, naming what changed.
    await expect(runCompare({ ...opts, epochs: 2, resume: true })).rejects.toThrow(/other settings \(epochs: was 1, now 2\)/);
    const redefined = [...entries.filter((e) => e.name !== 'fav'), ...parseVariants('fav:daction=cart')];
    await expect(runCompare({ ...opts, entries: redefined, resume: true })).rejects.toThrow(/defined 'fav' as .*another name/);
    // A damaged history.json is refused by name (readHistory), not read as a history.
    const history = join(out, 'runs', 'esm2-seed2', 'history.json');
    await writeFile(history, '[{"epoch": 1}]');
    await expect(gatherComparison(out)).rejects.toThrow(`${history} is not a training history`);
  });
});

describe('compare specs', () => {
  it('parses models, seeds and variants, and names what is wrong', () => {
    expect(parseVariants('no-ctavr:loss-weights=1,0,1; fav:daction=fav;both:daction=cart,fav loss-weights=1,0.5,1')).toEqual([
      { name: 'no-ctavr', model: 'esm2', lossWeights: { ctr: 1, ctavr: 0, ctcvr: 1 } },
      { name: 'fav', model: 'esm2', daction: ['fav'] },
      { name: 'both', model: 'esm2', daction: ['cart', 'fav'], lossWeights: { ctr: 1, ctavr: 0.5, ctcvr: 1 } },
    ]);
    expect(() => parseVariants('x:loss-weights=1,0')).toThrow(/three comma-separated weights/);
    expect(() => parseVariants('esmm:daction=fav')).toThrow(/is a model name/);
    expect(() => parseVariants('x:lr=1')).toThrow(/unknown setting 'lr'/);
    expect(() => parseVariants('x:daction=fav;x:daction=cart')).toThrow(/defined twice/);
    expect(() => parseModels('esm2,xgb')).toThrow(/'xgb' is not a model/);
    expect(() => parseSeeds('1,1')).toThrow(/twice/);
    expect(parseSeeds('3, 1')).toEqual([3, 1]);
  });

  it('mean and sample sd over seeds keep the nesting; an undefined value stays undefined (NaN)', () => {
    const run = (a: number, f: number, g: number | null) => ({ cvr_auc: a, f1_at: { cvr: { '1%': f } }, cvr_gauc: g }) as unknown as Esm2Metrics;
    const r = meanAndSd([run(0.6, 0.1, null), run(0.8, 0.3, 0.5), run(0.7, 0.2, 0.5)]);
    expect(r.mean.cvr_auc).toBeCloseTo(0.7, 12);
    expect(r.sd.cvr_auc).toBeCloseTo(0.1, 12);
    expect((r.mean.f1_at as { cvr: Record<string, number> }).cvr['1%']).toBeCloseTo(0.2, 12);
    expect(r.mean.cvr_gauc).toBeNaN();
    expect(meanAndSd([run(0.6, 0.1, 0.5)]).sd.cvr_auc).toBeNaN();
  });
});
