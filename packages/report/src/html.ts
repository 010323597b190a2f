import { ESM2_TASKS, positivesVerdict, type Esm2Metrics, type Esm2Task } from '@esm2/core';
import { writeFileAtomic } from '@esm2/core/node';
import { TASK_NAMES, calibrationChart, rocChart, topKChart, trainingChart, type RenderedChart } from './charts.js';
import { escapeHtml } from './escape.js';
import { meanSd } from './stats.js';
import type { ReportDifference, ReportInput, ReportModel } from './types.js';

export interface RenderedReport {
  html: string;
  charts: RenderedChart[];
}

const CSS = `
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
p, td.text { overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.8em 0; font-variant-numeric: tabular-nums; max-width: 100%; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.5em; text-align: right; }
th:first-child, td:first-child, th.text, td.text { text-align: left; }
.nb { white-space: nowrap; } .sd { white-space: nowrap; color: #555; }
th { background: #f5f5f5; } th small { font-weight: normal; color: #555; }
.warn { background: #fff4e0; border-left: 4px solid #e69500; padding: 0.4em 0.8em; margin: 0.4em 0; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure.chart { margin: 0; } figure.chart svg { max-width: 100%; height: auto; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
`;

const AUC_COLUMNS = [
  ['ctr_auc', 'ctr'],
  ['ctavr_auc', 'ctavr'],
  ['cvr_auc', 'cvr'],
  ['ctcvr_auc', 'ctcvr'],
] as const;

/**
 * "0.7312 ± 0.0041" over several runs, "0.7312" for one, "—" when undefined in
 * every run, "n/a (undefined in run 2 of 3)" when some runs have it and some do not (meanSd's NaN rule).
 */
export function formatMeanSd(values: readonly (number | null | undefined)[], digits = 4): string {
  const s = meanSd(values);
  if (s.n === 0) return '—';
  if (s.missing.length > 0) return `n/a (undefined in run ${s.missing.map((i) => i + 1).join(', ')} of ${values.length})`;
  return s.n === 1 ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}`;
}

const e = escapeHtml;
export const td = (text: string): string => `<td>${e(text)}</td>`;
/** A left-aligned cell of words, wrapped to the column. */
export const tdText = (text: string): string => `<td class="text">${e(text)}</td>`;
/**
 * A mean ± sd cell: the same figures as formatMeanSd, the "± sd" unbroken
 * but free to go under the mean, so that columns stay narrow enough for
 * the table to fit the page.
 */
function tdMeanSd(values: readonly (number | null | undefined)[], digits = 4, extra = ''): string {
  const text = formatMeanSd(values, digits);
  const at = text.indexOf(' ± ');
  if (at < 0) return `<td><span class="nb">${e(text + extra)}</span></td>`;
  return `<td><span class="nb">${e(text.slice(0, at))}</span> <span class="sd">${e(text.slice(at + 1) + extra)}</span></td>`;
}
const positivesOf = (models: readonly ReportModel[], task: Esm2Task): number | undefined => models[0]?.runs[0]?.metrics.positives[task];
const posNote = (n: number | undefined) => (n === undefined ? '' : ` <small>(${n.toLocaleString('en-US')} positives)</small>`);
const seedsCell = (m: ReportModel) => td(String(m.runs.length));

/** A table; `text` lists the columns of words (left-aligned headers, to go with their tdText cells). */
export function table(head: string[], rows: string[][], text: readonly number[] = []): string {
  return `<table><thead><tr>${head.map((h, i) => (text.includes(i) ? `<th class="text">${h}</th>` : `<th>${h}</th>`)).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function presentTasks(models: readonly ReportModel[], key: (t: Esm2Task) => keyof Esm2Metrics): Esm2Task[] {
  return ESM2_TASKS.filter((t) => models.some((m) => m.runs.some((r) => r.metrics[key(t)] !== undefined)));
}

function rankingTable(models: readonly ReportModel[]): string {
  const aucTasks = AUC_COLUMNS.filter(([key]) => models.some((m) => m.runs.some((r) => r.metrics[key] !== undefined)));
  const gaucTasks = (['cvr', 'ctcvr'] as const).filter((t) => models.some((m) => m.runs.some((r) => r.metrics[`${t}_gauc`] !== undefined)));
  const head = ['Model', 'Runs'];
  for (const [, t] of aucTasks) head.push(`${TASK_NAMES[t]} AUC${posNote(positivesOf(models, t))}`);
  for (const t of gaucTasks) head.push(`${TASK_NAMES[t]} GAUC <small>(users)</small>`);
  const rows = models.map((m) => {
    const cells = [td(m.name), seedsCell(m)];
    for (const [key] of aucTasks) cells.push(tdMeanSd(m.runs.map((r) => r.metrics[key])));
    for (const t of gaucTasks) {
      const users = meanSd(m.runs.map((r) => r.metrics.gauc_users?.[t]));
      cells.push(tdMeanSd(m.runs.map((r) => r.metrics[`${t}_gauc`]), 4, Number.isFinite(users.mean) ? ` (${Math.round(users.mean)})` : ''));
    }
    return cells;
  });
  // The AUCs of the true probabilities (synthetic data with truth columns): the ceiling any model can reach on this data.
  const oracle = models[0]?.runs[0]?.metrics.oracle;
  if (oracle !== undefined && aucTasks.some(([key]) => oracle[key] !== undefined)) {
    rows.push([tdText('oracle (the true probabilities)'), td('—'), ...aucTasks.map(([key]) => tdMeanSd([oracle[key]])), ...gaucTasks.map(() => td('—'))]);
  }
  return table(head, rows);
}

function calibrationTable(models: readonly ReportModel[]): string {
  const tasks = ESM2_TASKS.filter((t) => models.some((m) => m.runs.some((r) => r.metrics.logloss[t] !== undefined)));
  const head = ['Model', 'Runs'];
  for (const t of tasks) head.push(`${TASK_NAMES[t]} logloss${posNote(positivesOf(models, t))}`);
  for (const t of tasks) head.push(`${TASK_NAMES[t]} PCOC`);
  const rows = models.map((m) => [
    td(m.name),
    seedsCell(m),
    ...tasks.map((t) => tdMeanSd(m.runs.map((r) => r.metrics.logloss[t]))),
    ...tasks.map((t) => tdMeanSd(m.runs.map((r) => r.metrics.pcoc[t]), 3)),
  ]);
  return table(head, rows);
}

function topKTable(models: readonly ReportModel[], task: 'cvr' | 'ctcvr'): string | undefined {
  const cuts = [...new Set(models.flatMap((m) => m.runs.flatMap((r) => Object.keys(r.metrics.precision_at?.[task] ?? {}))))];
  if (cuts.length === 0) return undefined;
  cuts.sort((a, b) => parseFloat(a) - parseFloat(b));
  const measures = [
    ['precision_at', 'P'],
    ['recall_at', 'R'],
    ['f1_at', 'F1'],
  ] as const;
  const head = ['Model', 'Runs', ...cuts.flatMap((c) => measures.map(([, name]) => `${name} @ top ${e(c)}`))];
  const rows = models.map((m) => [
    td(m.name),
    seedsCell(m),
    ...cuts.flatMap((c) => measures.map(([key]) => tdMeanSd(m.runs.map((r) => r.metrics[key]?.[task]?.[c])))),
  ]);
  return `<h3>${TASK_NAMES[task]}${posNote(positivesOf(models, task))}</h3>${table(head, rows)}`;
}

const taskOfMetric = (metric: string): Esm2Task | undefined => ESM2_TASKS.find((t) => metric.startsWith(`${t}_`));

/** The differences' p as comparison.md prints it (3 decimals); "—" when there is none. */
const formatP = (p: number | undefined) => (p === undefined || !Number.isFinite(p) ? '—' : p.toFixed(3));

function differencesTable(models: readonly ReportModel[], differences: readonly ReportDifference[]): string {
  if (differences.length === 0) return '';
  const f = (x: number) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(4) : '—');
  const rows = differences.map((d) => {
    const task = taskOfMetric(d.metric);
    const positives = d.positives ?? (task === undefined ? undefined : positivesOf(models, task));
    const [lo, hi] = d.ci95;
    let reading: string;
    if (d.reading !== undefined) reading = d.reading;
    else {
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) reading = 'no interval';
      else if (lo > 0 || hi < 0) reading = `significant: ${d.model} ${lo > 0 ? 'better' : 'worse'}`;
      else reading = 'not significant (the interval contains 0)';
      if (positives !== undefined && task !== undefined) {
        const v = positivesVerdict(positives, TASK_NAMES[task]);
        if (!v.meaningful) reading = `too few positives (${positives}) to mean anything; ${reading}`;
      }
    }
    return [
      td(d.model),
      tdText(d.baseline),
      `<td class="text nb">${e(d.metric)}</td>`,
      td(f(d.mean)),
      td(`[${f(lo)}, ${f(hi)}]`),
      td(formatP(d.pValue)),
      td(positives === undefined ? '' : String(positives)),
      tdText(d.method ?? ''),
      tdText(reading),
    ];
  });
  return table(['Model', 'Baseline', 'Metric', 'Difference', '95 % interval', 'p', 'Positives', 'Method', 'Reading'], rows, [1, 2, 7, 8]);
}

function warnings(models: readonly ReportModel[]): string {
  const tasks = presentTasks(models, (t) => `${t}_auc` as keyof Esm2Metrics);
  return tasks
    .map((t) => {
      const n = positivesOf(models, t);
      if (n === undefined) return '';
      const v = positivesVerdict(n, TASK_NAMES[t]);
      return v.meaningful ? '' : `<p class="warn">${e(v.message)}</p>`;
    })
    .join('');
}

/** What the tables' figures are: one evaluation, one run per model, or the mean ± sd over each model's runs. */
function spreadNote(models: readonly ReportModel[]): string {
  if (models.some((m) => m.runs.length > 1)) return "Mean ± sample sd over each model's runs (seeds); a model with one run shows that run's figure.";
  if (models.length === 1) {
    const seed = models[0]!.runs[0]!.seed;
    return `One evaluation of one trained model${seed === undefined ? '' : ` (seed ${seed})`}: each figure is that run's.`;
  }
  return "One run per model: each figure is that run's (no spread over seeds).";
}

export function figure(c: RenderedChart): string {
  return `<figure class="chart" data-kind="${c.kind}" data-title="${e(c.title)}" data-axes="${e(JSON.stringify(c.axes))}">${c.svg}</figure>`;
}

/** A section with its heading; nothing when its body is empty. */
export const section = (heading: string, body: string): string => (body === '' ? '' : `<section><h2>${e(heading)}</h2>${body}</section>`);
/** A section of charts side by side; nothing without charts. */
export const chartSection = (heading: string, list: readonly RenderedChart[]): string => section(heading, list.length === 0 ? '' : `<div class="charts">${list.map(figure).join('')}</div>`);

/**
 * The page around a report's body: its title, the inline style, a Content
 * Security Policy that lets nothing load, and the footer. Every report page
 * (an evaluation, a comparison, a replay) is this page.
 */
export function htmlPage(title: string, body: string, generatedAt?: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${e(title)}</h1>
${body}
<footer>Generated ${e(generatedAt ?? new Date().toISOString())} by @esm2/report. Self-contained: no network is used to view this page.</footer>
</body>
</html>
`;
}

/**
 * The report as one self-contained HTML page: the data summary, the metric
 * tables (mean ± sd over each model's runs, the positives behind each
 * figure, a warning where they are too few), and the charts rendered to
 * inline SVG — ROC and calibration per task with every model overlaid,
 * training curves per model with a history, top-k bars for CVR and CTCVR.
 * No script, stylesheet, font or image is loaded from anywhere.
 */
export async function renderReport(input: ReportInput): Promise<RenderedReport> {
  const { data, models } = input;
  if (models.length === 0) throw new Error('renderReport: no models given');
  for (const m of models) {
    if (m.runs.length === 0) throw new Error(`renderReport: model "${m.name}" has no runs`);
  }
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) throw new Error(`renderReport: model "${m.name}" is given twice`);
    names.add(m.name);
  }
  const title = input.title ?? (models.length === 1 ? `ESM2 evaluation: ${models[0]!.name}` : 'ESM2 model comparison');

  const charts: RenderedChart[] = [];
  const rocs: RenderedChart[] = [];
  const cals: RenderedChart[] = [];
  for (const t of ESM2_TASKS) {
    const r = await rocChart(models, t);
    if (r) rocs.push(r);
    const c = await calibrationChart(models, t);
    if (c) cals.push(c);
  }
  const training: RenderedChart[] = [];
  for (const m of models) {
    const c = await trainingChart(m);
    if (c) training.push(c);
  }
  const topk: RenderedChart[] = [];
  for (const t of ['cvr', 'ctcvr'] as const) {
    const c = await topKChart(models, t);
    if (c) topk.push(c);
  }
  charts.push(...rocs, ...cals, ...training, ...topk);

  const rate = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(2)} %` : '—');
  const summary = table(
    ['', 'Count', 'Rate'],
    [
      [td('Impressions (rows)'), td(data.rows.toLocaleString('en-US')), td('')],
      [td('Clicks'), td(data.clicks.toLocaleString('en-US')), td(`${rate(data.clicks, data.rows)} of rows`)],
      [td('DActions'), td(data.dactions.toLocaleString('en-US')), td(`${rate(data.dactions, data.clicks)} of clicks`)],
      [td('Purchases'), td(data.buys.toLocaleString('en-US')), td(`${rate(data.buys, data.clicks)} of clicks`)],
    ],
  );
  const topKTables = (['cvr', 'ctcvr'] as const).map((t) => topKTable(models, t) ?? '').join('');

  const body = `${section('Test data', `${data.source === undefined ? '' : `<p>${e(data.source)}</p>`}${summary}`)}
${(input.notes ?? []).map((n) => `<p class="note">${e(n)}</p>`).join('')}
${section('Ranking: AUC and GAUC', `${warnings(models)}${rankingTable(models)}<p>${e(spreadNote(models))} GAUC with the mean number of users that have both classes${
    models[0]?.runs[0]?.metrics.oracle === undefined ? '' : '; the oracle row is the AUC of the true probabilities the data was drawn with (the most any model can reach on it)'
  }.</p>`)}
${section('Differences to the baselines', differencesTable(models, input.differences ?? []))}
${section('Logloss and calibration (PCOC = mean prediction / observed rate; 1 is calibrated)', calibrationTable(models))}
${section('Precision, recall and F1 at the top k % of test rows', topKTables)}
${chartSection('ROC curves', rocs)}
${chartSection('Calibration', cals)}
${chartSection('Training and validation curves', training)}
${chartSection('Top-k', topk)}`;
  const html = htmlPage(title, body, input.generatedAt);
  return { html, charts };
}

/** Renders the report and writes it atomically to `path` (parent directories created); returns what was rendered. */
export async function writeReport(path: string, input: ReportInput): Promise<RenderedReport> {
  const report = await renderReport(input);
  await writeFileAtomic(path, report.html, { mkdirs: true });
  return report;
}
