import { esm2Curves, writeReport, type RenderedReport, type ReportInput, type ReportModel, type ReportRun } from '@esm2/report';
import { join } from 'node:path';
import type { GatheredComparison } from './gathered.js';
import { readLabels, readScores, savedColumn } from './scores.js';
import { differenceReading, type Comparison, type Difference } from './summary.js';

export const COMPARISON_HTML = 'report.html';

type ReportDifference = NonNullable<ReportInput['differences']>[number];

const METHOD_NAMES: Record<Difference['method'], (d: Difference) => string> = {
  'seeds-t': (d) => `paired over ${d.seeds} seeds (t)`,
  delong: (d) => `DeLong on test rows (seed ${d.delong?.seed ?? '?'})`,
  bootstrap: (d) => bootstrapName(d.bootstrap),
};

const bootstrapName = (b: Difference['bootstrap']) => `bootstrap over test users (${b?.resamples ?? '?'} resamples, seed ${b?.seed ?? '?'})`;

/**
 * comparison.json's differences as the report's table: each entry with its
 * method in words, its p and its reading (differenceReading, the words of
 * comparison.md), and, where the seed interval is the entry's own and
 * DeLong's test or the user bootstrap on the test rows was run too, a
 * second row with that test's difference, interval, p and reading.
 */
export function reportDifferences(comparison: Comparison): ReportDifference[] {
  return comparison.differences.flatMap((d) => {
    const row: ReportDifference = {
      model: d.model,
      baseline: d.baseline,
      metric: d.metric,
      mean: d.mean,
      ci95: d.ci95,
      pValue: d.pValue,
      method: METHOD_NAMES[d.method](d),
      reading: differenceReading(comparison, d),
    };
    if (d.method === 'delong' && d.delong) row.positives = d.delong.positives;
    if (d.method !== 'seeds-t') return [row];
    const dl = d.delong;
    const bs = d.bootstrap;
    const onRows = { model: d.model, baseline: d.baseline, metric: d.metric };
    if (dl !== undefined) {
      return [row, { ...onRows, mean: dl.difference, ci95: dl.ci95, pValue: dl.pValue, method: `DeLong on test rows (seed ${dl.seed})`, positives: dl.positives, reading: differenceReading(comparison, d, dl) }];
    }
    if (bs !== undefined) return [row, { ...onRows, mean: bs.difference, ci95: bs.ci95, pValue: bs.pValue, method: bootstrapName(bs), reading: differenceReading(comparison, d, bs) }];
    return [row];
  });
}

/**
 * The report's input for a finished comparison: the test data summary, the tables (mean ± sd over
 * seeds, the positives behind each figure), ESM2's differences to each
 * baseline from comparison.json, ROC and calibration for CTR, CVR and CTCVR with
 * every model's runs overlaid — from each cell's saved test predictions
 * (test-scores.f32 keeps pCTR, pCVR and pCTCVR; DAction labels differ
 * between variants and are not kept, so there are no CTAVR curves) against the saved test labels — training and validation curves of
 * every deep model (its history.json; GBDT has none) and top-k bars.
 * Predictions are read one run at a time, so memory holds one cell's columns.
 */
export async function comparisonReportInput(comparison: Comparison, gathered: GatheredComparison, options: { source?: string } = {}): Promise<ReportInput> {
  const rows = comparison.test.rows;
  const labels = gathered.labels === undefined ? undefined : await readLabels(gathered.labels, rows);
  // DAction labels are not kept with the test labels (a variant may define DAction differently), and no CTAVR
  // prediction is kept either: esm2Curves is given zeros for them and draws the CTR, CVR and CTCVR curves only.
  const noDaction = new Uint8Array(rows);
  const withoutCurves: string[] = [];
  const models: ReportModel[] = [];
  for (const [name, m] of Object.entries(gathered.models)) {
    if (!(name in comparison.models)) continue;
    const runs: ReportRun[] = [];
    for (const r of m.runs) {
      const scores = labels && r.scores !== undefined ? await readScores(r.scores, rows) : undefined;
      const predictions: Record<string, Float32Array> | undefined =
        scores && Object.fromEntries(Object.entries(scores).flatMap(([k, v]: [string, Float32Array]) => (savedColumn(v) ? [[k, v] as const] : [])));
      const curves = labels && predictions ? esm2Curves({ click: labels.click, daction: noDaction, buy: labels.buy, ...predictions }) : undefined;
      if (curves === undefined) withoutCurves.push(`${name} seed ${r.seed}`);
      runs.push({ seed: r.seed, metrics: r.metrics, ...(curves ?? {}), ...(r.history ? { history: r.history } : {}) });
    }
    if (runs.length > 0) models.push({ name, runs });
  }
  const notes = [
    'Each model or variant was trained once per seed on the same training file and scored on this test file; ' +
      'ROC and calibration curves are drawn for CTR and CTCVR (all rows) and CVR (clicked rows) from every run\'s saved test predictions ' +
      '(CTAVR has none: its DAction labels differ between variants and are not kept).',
    comparison.interval,
    ...(withoutCurves.length > 0 ? [`No saved test predictions (so no curves) for: ${withoutCurves.join(', ')}.`] : []),
  ];
  const { test } = comparison;
  return {
    title: 'ESM2 model comparison',
    data: { rows: test.rows, clicks: test.clicks, dactions: test.dactions, buys: test.buys, ...(options.source !== undefined ? { source: options.source } : {}) },
    models,
    differences: reportDifferences(comparison),
    notes,
  };
}

/** Writes `<out>/report.html` (atomically) from comparisonReportInput; returns its path and what was rendered. */
export async function writeComparisonReport(
  out: string,
  comparison: Comparison,
  gathered: GatheredComparison,
  options: { source?: string } = {},
): Promise<RenderedReport & { path: string }> {
  const path = join(out, COMPARISON_HTML);
  const report = await writeReport(path, await comparisonReportInput(comparison, gathered, options));
  return { ...report, path };
}
