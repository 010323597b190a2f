import { delongTest, fractionLabel, gauc, DEFAULT_TOP_K_FRACTIONS, GAUC_RESAMPLE, meanSd, pairedBootstrap, pairedSeedInterval, positivesVerdict, type Esm2Metrics } from '@esm2/core';
import type { SavedLabels, SavedScores } from './scores.js';

/** One finished cell: a model (or variant) trained with one seed and scored on the test file. */
export interface CellRun {
  seed: number;
  metrics: Esm2Metrics;
}

/** The comparison as plain data, before any formatting (what comparison.json holds). */
export interface Comparison {
  test: { rows: number; clicks: number; dactions: number; buys: number };
  models: Record<string, { runs: CellRun[]; mean: Record<string, unknown>; sd: Record<string, unknown> }>;
  differences: Difference[];
  /** How `differences[].ci95` is computed, in words. */
  interval: string;
}

export interface Difference {
  model: string;
  baseline: string;
  metric: string;
  /** Mean over seeds of model − baseline. */
  mean: number;
  /** The 95 % interval of `method`; [NaN, NaN] (null in JSON) with `reason` when it cannot be computed. */
  ci95: [number, number];
  pValue: number;
  /**
   * 'seeds-t': paired over seeds (2 or more); with one seed, 'delong' (AUC:
   * DeLong's test on the test rows) or 'bootstrap' (GAUC: the paired bootstrap
   * over test users).
   */
  method: 'seeds-t' | 'delong' | 'bootstrap';
  seeds: number;
  reason?: string;
  /** AUC metrics: DeLong's test on the test rows of the first seed both models finished (test-set sampling, not training randomness). */
  delong?: { seed: number; difference: number; ci95: [number, number]; pValue: number; positives: number; reason?: string };
  /**
   * GAUC metrics: the paired bootstrap over the test users (whole users drawn, stratified by whether
   * they have a positive; percentile interval) on the first seed both models finished.
   */
  bootstrap?: { seed: number; difference: number; ci95: [number, number]; se: number; pValue: number; resamples: number; defined: number; users: number; reason?: string };
}

/** Where buildComparison finds the saved test predictions, labels and users for the tests on test rows; undefined when not saved. */
export interface TestScores {
  labels(rows: number): Promise<SavedLabels | undefined>;
  users(rows: number): Promise<Uint32Array | undefined>;
  scores(model: string, seed: number, rows: number): Promise<SavedScores | undefined>;
}

export interface BuildOptions {
  /** Resamples of the user bootstrap for GAUC differences (default DEFAULT_GAUC_RESAMPLES; 0: none). */
  gaucResamples?: number;
}

/** 200 resamples: ~0.05 s each at 500 k test rows here, and enough for a usable percentile interval. */
export const DEFAULT_GAUC_RESAMPLES = 200;

/** The metrics compared model against baseline: the paper's Table 3. */
export const COMPARED_METRICS = ['cvr_auc', 'cvr_gauc', 'ctcvr_auc', 'ctcvr_gauc'] as const;

export const INTERVAL_DOC =
  'With 2 or more seeds, ci95 is the paired-over-seeds Student t interval (method "seeds-t", pairedSeedInterval): both models trained with the same seeds, ' +
  'the per-seed differences\' mean ± t(0.975, n−1)·sd/√n; it measures training randomness on this test set. ' +
  'For AUCs, "delong" adds DeLong\'s test on the test rows of the first seed both models share (test-set sampling, not training randomness); ' +
  'with a single seed it is the ci95 itself (method "delong"). For GAUCs, "bootstrap" adds the paired bootstrap over test users on the first shared seed ' +
  '(whole users drawn with replacement, stratified by whether they have a positive, the same draw for both models; percentile interval); ' +
  'with a single seed it is the ci95 itself (method "bootstrap"); its p is the percentile p of the same resamples (the smallest α whose percentile interval reaches 0, so p < 0.05 exactly when the interval is clear of 0).';

/**
 * How comparison.md reads a difference, stated once (it is printed above the
 * table): the interval decides, and the p beside it comes from the same test.
 */
export const SIGNIFICANCE_RULE =
  'Reading: a difference is significant when its 95 % interval excludes 0 (ESM2 better above 0, worse below); otherwise "not significant". ' +
  'Each p is from the same test as the interval beside it (paired t over seeds, DeLong, or the bootstrap\'s percentile p), so p < 0.05 goes with an interval clear of 0.';

export type Significance = 'ESM2 better' | 'ESM2 worse' | 'not significant';

/**
 * The one rule deciding whether a difference (ESM2 − baseline) is significant:
 * its 95 % interval, `[lo, hi]`. Undefined (a NaN bound) when there is no
 * interval. Its p-value is never consulted: it comes from the same test, and
 * a p at the 0.05 boundary may round either way.
 */
export function significance(ci95: readonly [number, number]): Significance | undefined {
  const [lo, hi] = ci95;
  if (Number.isNaN(lo) || Number.isNaN(hi)) return undefined;
  return lo > 0 ? 'ESM2 better' : hi < 0 ? 'ESM2 worse' : 'not significant';
}

const isNum = (x: unknown): x is number => typeof x === 'number';
/** JSON turns NaN into null: read it back as NaN. */
const num = (x: unknown): number => (isNum(x) ? x : NaN);

/**
 * Mean and sample standard deviation (n − 1; NaN for one run) over seeds of
 * every numeric leaf present in all runs, keeping the metrics' nesting
 * (logloss.cvr, f1_at.ctcvr["0.1%"]…), by core's meanSd (the HTML report's
 * too): a leaf undefined (NaN/null) in any run is NaN in both.
 */
export function meanAndSd(runs: readonly unknown[]): { mean: Record<string, unknown>; sd: Record<string, unknown> } {
  const walk = (values: readonly unknown[]): { mean: unknown; sd: unknown } | undefined => {
    if (values.every((v) => isNum(v) || v === null)) {
      const r = meanSd(values);
      return { mean: r.mean, sd: r.sd };
    }
    if (values.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
      const objs = values as Record<string, unknown>[];
      const mean: Record<string, unknown> = {};
      const sd: Record<string, unknown> = {};
      for (const key of Object.keys(objs[0]!)) {
        if (!objs.every((o) => key in o)) continue;
        const r = walk(objs.map((o) => o[key]));
        if (r === undefined) continue;
        mean[key] = r.mean;
        sd[key] = r.sd;
      }
      return { mean, sd };
    }
    return undefined;
  };
  if (runs.length === 0) return { mean: {}, sd: {} };
  const r = walk(runs);
  return { mean: (r?.mean ?? {}) as Record<string, unknown>, sd: (r?.sd ?? {}) as Record<string, unknown> };
}

/**
 * The comparison of named models, each a list of per-seed runs. `test` comes
 * from `testOf` (the reference model's first run: DAction counts depend on
 * the DAction definition, which a variant may change). Differences: the
 * `reference` model (ESM2) against every other model, on COMPARED_METRICS,
 * paired by seed (only seeds both models finished).
 */
export async function buildComparison(models: Record<string, CellRun[]>, reference = 'esm2', testScores?: TestScores, options: BuildOptions = {}): Promise<Comparison> {
  const names = Object.keys(models);
  const first = (models[reference] ?? models[names[0]!] ?? [])[0];
  if (first === undefined) throw new Error('compare: no finished run to summarise');
  const m = first.metrics;
  const out: Comparison = {
    test: { rows: m.rows, clicks: m.clicks, dactions: m.dactions, buys: m.buys },
    models: {},
    differences: [],
    interval: INTERVAL_DOC,
  };
  for (const name of names) {
    const runs = [...models[name]!].sort((a, b) => a.seed - b.seed);
    out.models[name] = { runs, ...meanAndSd(runs.map((r) => r.metrics)) };
  }
  const ref = models[reference];
  if (ref === undefined) return out;
  for (const baseline of names) {
    if (baseline === reference) continue;
    const base = models[baseline]!;
    const seeds = ref.map((r) => r.seed).filter((s) => base.some((b) => b.seed === s)).sort((a, b) => a - b);
    for (const metric of COMPARED_METRICS) {
      const a = seeds.map((s) => num(ref.find((r) => r.seed === s)!.metrics[metric]));
      const b = seeds.map((s) => num(base.find((r) => r.seed === s)!.metrics[metric]));
      if (seeds.length === 0 || ref.every((r) => r.metrics[metric] === undefined) || base.every((r) => r.metrics[metric] === undefined)) continue;
      const r = pairedSeedInterval(a, b);
      const d: Difference = {
        model: reference,
        baseline,
        metric,
        mean: r.difference,
        ci95: r.ci95,
        pValue: r.pValue,
        method: 'seeds-t',
        seeds: r.seeds,
        ...(r.reason !== undefined ? { reason: r.reason } : {}),
      };
      // The test on the test rows of the first shared seed: DeLong for AUCs, the user bootstrap for GAUCs.
      const resamples = options.gaucResamples ?? DEFAULT_GAUC_RESAMPLES;
      if ((metric === 'cvr_auc' || metric === 'ctcvr_auc') && testScores) {
        onTestRows(d, 'delong', await delongOnTest(testScores, reference, baseline, seeds[0]!, metric, m.rows));
      } else if ((metric === 'cvr_gauc' || metric === 'ctcvr_gauc') && testScores && resamples > 0) {
        onTestRows(d, 'bootstrap', await bootstrapOnTest(testScores, reference, baseline, seeds[0]!, metric, m.rows, resamples));
      }
      out.differences.push(d);
    }
  }
  return out;
}

/**
 * Attaches a test on the test rows to the difference; with a single seed
 * (no seed interval) it becomes the difference's own interval and method.
 */
function onTestRows<K extends 'delong' | 'bootstrap'>(d: Difference, method: K, test: Difference[K]): void {
  if (test === undefined) return;
  (d as Record<K, Difference[K]>)[method] = test;
  if (d.seeds >= 2) return;
  Object.assign(d, { ci95: test.ci95, pValue: test.pValue, method });
  if (test.reason !== undefined) d.reason = test.reason;
  else delete d.reason;
}

async function bootstrapOnTest(
  t: TestScores,
  model: string,
  baseline: string,
  seed: number,
  metric: 'cvr_gauc' | 'ctcvr_gauc',
  rows: number,
  resamples: number,
): Promise<Difference['bootstrap']> {
  const [labels, users, a, b] = await Promise.all([t.labels(rows), t.users(rows), t.scores(model, seed, rows), t.scores(baseline, seed, rows)]);
  if (!labels || !users || !a || !b) return undefined;
  const key = metric === 'cvr_gauc' ? 'pcvr' : 'pctcvr';
  if (Number.isNaN(a[key][0]) || Number.isNaN(b[key][0])) return undefined;
  const r = pairedBootstrap({
    scoresA: a[key],
    scoresB: b[key],
    labels: labels.buy,
    groups: users,
    ...(metric === 'cvr_gauc' ? { mask: labels.click } : {}),
    metric: GAUC_RESAMPLE,
    resamples,
    seed: 1,
  });
  // The users behind the GAUC: those with both a positive and a negative row (as in the metrics' gauc_users).
  const behind = gauc(a[key], labels.buy, users, metric === 'cvr_gauc' ? labels.click : undefined).users;
  if (behind < 2) {
    const reason = `${behind} user${behind === 1 ? '' : 's'} with both a positive and a negative test row: every resample draws the same users, so the bootstrap has no interval`;
    return { seed, difference: r.difference, ci95: [NaN, NaN], se: NaN, pValue: NaN, resamples: r.resamples, defined: r.defined, users: behind, reason };
  }
  return {
    seed,
    difference: r.difference,
    ci95: r.ci95,
    se: r.se,
    // The percentile p of the same resamples as the interval (significance() reads the interval; the p agrees with it).
    pValue: r.pValue,
    resamples: r.resamples,
    defined: r.defined,
    users: behind,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

async function delongOnTest(t: TestScores, model: string, baseline: string, seed: number, metric: 'cvr_auc' | 'ctcvr_auc', rows: number): Promise<Difference['delong']> {
  const [labels, a, b] = await Promise.all([t.labels(rows), t.scores(model, seed, rows), t.scores(baseline, seed, rows)]);
  if (!labels || !a || !b) return undefined;
  const key = metric === 'cvr_auc' ? 'pcvr' : 'pctcvr';
  if (Number.isNaN(a[key][0]) || Number.isNaN(b[key][0])) return undefined; // a model without this prediction
  const r = delongTest(a[key], b[key], labels.buy, metric === 'cvr_auc' ? labels.click : undefined);
  return { seed, difference: r.difference, ci95: r.ci95, pValue: r.pValue, positives: r.positives, ...(r.reason !== undefined ? { reason: r.reason } : {}) };
}

const f = (x: unknown, digits = 4) => (isNum(x) && !Number.isNaN(x) ? x.toFixed(digits) : x === undefined ? '-' : 'n/a');
const pm = (mean: unknown, sd: unknown, digits = 4) => (mean === undefined ? '-' : isNum(sd) && !Number.isNaN(sd) ? `${f(mean, digits)} ± ${f(sd, digits)}` : f(mean, digits));
const get = (o: Record<string, unknown>, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), o);

/** A markdown table; the first column and the columns in `text` are left-aligned, the numbers right-aligned. */
function table(header: string[], rows: string[][], text: number[] = []): string[] {
  const align = header.map((_, i) => (i === 0 || text.includes(i) ? ' --- ' : ' ---: '));
  return [`| ${header.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** Table 3 (AUC and GAUC for CVR and CTCVR, mean ± sd over seeds) with the positives and users each rests on. */
export function formatMainTable(c: Comparison): string {
  const positives = Object.values(c.models)[0]?.runs[0]?.metrics.positives;
  const rows = Object.entries(c.models).map(([name, m]) => [
    name,
    String(m.runs.length),
    pm(m.mean.cvr_auc, m.sd.cvr_auc),
    pm(m.mean.cvr_gauc, m.sd.cvr_gauc),
    f(get(m.mean, 'gauc_users', 'cvr'), 0),
    pm(m.mean.ctcvr_auc, m.sd.ctcvr_auc),
    pm(m.mean.ctcvr_gauc, m.sd.ctcvr_gauc),
    f(get(m.mean, 'gauc_users', 'ctcvr'), 0),
  ]);
  const lines = table(['model', 'seeds', 'CVR AUC', 'CVR GAUC', 'CVR GAUC users', 'CTCVR AUC', 'CTCVR GAUC', 'CTCVR GAUC users'], rows);
  lines.push(
    '',
    `Test rows ${c.test.rows}, clicks ${c.test.clicks}, DActions ${c.test.dactions}, purchases ${c.test.buys}. ` +
      `CVR figures rest on ${positives?.cvr ?? '?'} positives (purchases among clicks), CTCVR on ${positives?.ctcvr ?? '?'} (purchases among impressions).`,
  );
  for (const w of positivesWarnings(c)) lines.push(`**Warning:** ${w}`);
  // meanSd's NaN rule: a seed without a figure makes the mean n/a; say which seed.
  for (const [name, m] of Object.entries(c.models)) {
    for (const metric of COMPARED_METRICS) {
      const r = meanSd(m.runs.map((run) => (isNum(run.metrics[metric]) ? run.metrics[metric] : null)));
      if (r.n > 0 && r.missing.length > 0) lines.push(`n/a: ${name}'s ${metric} is undefined for seed ${r.missing.map((i) => m.runs[i]!.seed).join(', ')}, so its mean over seeds is too.`);
    }
  }
  return lines.join('\n');
}

/** One sentence per task (CVR, CTCVR) whose test positives are too few for model differences to mean anything. */
export function positivesWarnings(c: Comparison): string[] {
  const positives = Object.values(c.models)[0]?.runs[0]?.metrics.positives;
  if (positives === undefined) return [];
  return (['cvr', 'ctcvr'] as const).map((t) => positivesVerdict(positives[t], t.toUpperCase())).filter((v) => !v.meaningful).map((v) => v.message);
}

/**
 * The reading of one difference (or of its test on the test rows, given as
 * `test`) in words, as comparison.md's "reading" column and report.html's
 * "Reading" say it: ESM2 better or worse, not significant, the reason there
 * is no interval; and whether the task's test positives are too few to read.
 */
export function differenceReading(c: Comparison, d: Difference, test?: Pick<Difference, 'ci95' | 'pValue' | 'reason'>): string {
  const positives = Object.values(c.models)[0]?.runs[0]?.metrics.positives;
  const task = d.metric.startsWith('ctcvr') ? 'ctcvr' : 'cvr';
  const enough = positives === undefined || positivesVerdict(positives[task], task).meaningful;
  const { ci95: [lo, hi], reason } = test ?? d;
  const sig = significance([lo, hi]) ?? reason ?? 'no interval';
  return enough ? sig : `${sig}; too few positives to read`;
}

/** comparison.md: the paper's tables (3, 4–5) and ESM2's differences to each baseline. */
export function formatComparisonMarkdown(c: Comparison): string {
  const positives = Object.values(c.models)[0]?.runs[0]?.metrics.positives;
  const lines: string[] = ['# Model comparison', '', '## AUC and GAUC (Table 3)', '', 'Mean ± sample sd over seeds.', '', formatMainTable(c)];
  const cuts = DEFAULT_TOP_K_FRACTIONS.map(fractionLabel);
  for (const [task, title] of [['cvr', 'CVR (Table 4)'], ['ctcvr', 'CTCVR (Table 5)']] as const) {
    lines.push('', `## Precision, recall and F1 at the top of the ranking: ${title}`, '', `Positives: ${positives?.[task] ?? '?'}.`, '');
    const header = ['model', ...cuts.flatMap((k) => [`P@${k}`, `R@${k}`, `F1@${k}`])];
    const rows = Object.entries(c.models).map(([name, m]) => [
      name,
      ...cuts.flatMap((k) => (['precision_at', 'recall_at', 'f1_at'] as const).map((what) => pm(get(m.mean, what, task, k), get(m.sd, what, task, k)))),
    ]);
    lines.push(...table(header, rows));
  }
  lines.push('', '## ESM2 against each baseline', '');
  if (c.differences.length === 0) {
    lines.push('No differences: the comparison has no esm2 model, or no other model.');
  } else {
    lines.push(c.interval, '', SIGNIFICANCE_RULE, '');
    const rows = c.differences.map((d) => {
      const [lo, hi] = d.ci95;
      const t = d.delong ?? d.bootstrap;
      const how = d.delong ? 'DeLong' : `user bootstrap, ${d.bootstrap?.resamples ?? 0} resamples`;
      const onRows = t === undefined ? '-' : Number.isNaN(t.ci95[0]) ? (t.reason ?? 'n/a') : `${f(t.difference)} [${f(t.ci95[0])}, ${f(t.ci95[1])}] p ${f(t.pValue, 3)} (${how}, seed ${t.seed})`;
      return [d.baseline, d.metric, f(d.mean), Number.isNaN(lo) ? 'n/a' : `[${f(lo)}, ${f(hi)}]`, d.method, f(d.pValue, 3), onRows, differenceReading(c, d)];
    });
    lines.push(...table(['baseline', 'metric', 'esm2 − baseline', '95 % interval', 'method', 'p', 'on test rows', 'reading'], rows, [1, 4, 7]));
  }
  const warnings = positivesWarnings(c);
  if (warnings.length > 0) lines.push('', ...warnings.map((w) => `- ${w}`));
  return `${lines.join('\n')}\n`;
}
