import { writeFileAtomic } from '@esm2/core/node';
import { dayChart, type DayPoint, type RenderedChart } from './charts.js';
import { escapeHtml } from './escape.js';
import { chartSection, htmlPage, section, table, td, tdText, type RenderedReport } from './html.js';

/** The tasks a replay page draws, as metrics.json names them. */
const TASKS = [
  ['ctr', 'CTR'],
  ['cvr', 'CVR'],
  ['ctcvr', 'CTCVR'],
] as const;
type Task = (typeof TASKS)[number][0];

/** One mode's model on one day, evaluated on the next day. */
export interface ReplayReportEntry {
  auc: Partial<Record<Task, number | null>>;
  pcoc: Partial<Record<Task, number | null>>;
  /** Seconds its training took that day (0: not trained that day). */
  trainSeconds: number;
  /** Share of the evaluation day's impressions whose item and user ids the model knows (0…1). */
  knownIds: number;
}

export interface ReplayReportDay {
  /** The day the models were trained through, and the day they were evaluated on. */
  day: number;
  evalDay: number;
  evalRows: number;
  /** Positives each AUC rests on (CVR: purchases among clicks). */
  positives?: Partial<Record<Task, number>>;
  /** AUCs of the true probabilities on the evaluation day (synthetic data). */
  oracle?: Partial<Record<Task, number | null>>;
  modes: Record<string, ReplayReportEntry>;
}

/** One mode's AUC against another's on one evaluation day (a paired test on the same rows). */
export interface ReplayReportDifference {
  evalDay: number;
  mode: string;
  baseline: string;
  /** metrics.json's key: ctr_auc, cvr_auc, ctcvr_auc. */
  metric: string;
  difference: number;
  ci95: [number, number];
  pValue: number;
  positives: number;
  /** Why there is no interval, when there is none. */
  reason?: string;
}

/** A day-by-day replay: every mode's model evaluated on each next day (esm2-train replay's replay.json, as the page needs it). */
export interface ReplayReportInput {
  title?: string;
  /** The event log replayed. */
  source: string;
  /** The modes, in the order (and colours) every chart and table uses. */
  modes: string[];
  days: ReplayReportDay[];
  /** Paired tests between modes per day (e.g. incremental − retrain, DeLong), shown as a table when given. */
  differences?: ReplayReportDifference[];
  /** How the differences were tested, said above their table. */
  differencesMethod?: string;
  /** Free-text notes shown under the title (what each mode is, the bootstrap). */
  notes?: string[];
  generatedAt?: string;
}

const ORACLE = 'oracle (true probabilities)';
const e = escapeHtml;
const num = (x: number | null | undefined, digits: number) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—');
const mean = (xs: readonly (number | null | undefined)[]) => {
  const ok = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return ok.length === 0 ? undefined : ok.reduce((a, b) => a + b, 0) / ok.length;
};

/**
 * The replay page: per-day AUC lines per mode for CTR, CVR and CTCVR (with
 * the oracle's when the data carries true probabilities), PCOC lines per
 * task, training seconds per day and the known-id share per mode, a
 * summary table per mode and the per-day figures. Self-contained, like
 * every report page (htmlPage).
 */
export async function renderReplayReport(input: ReplayReportInput): Promise<RenderedReport> {
  if (input.days.length === 0) throw new Error('renderReplayReport: no days given');
  if (input.modes.length === 0) throw new Error('renderReplayReport: no modes given');
  const { modes, days } = input;
  const title = input.title ?? 'ESM2 day-by-day replay';
  const hasOracle = days.some((d) => d.oracle !== undefined && TASKS.some(([t]) => typeof d.oracle?.[t] === 'number'));
  // The oracle's AUCs (far above any model's on generated data) are in the per-day table, not on the charts: they would flatten the modes' lines.
  const series = modes;
  const oracleRange = (task: Task) => {
    const xs = days.map((d) => d.oracle?.[task]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    return xs.length === 0 ? undefined : `oracle ${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)} (per-day table)`;
  };
  const points = (value: (entry: ReplayReportEntry) => number | null | undefined, only: readonly string[] = modes): DayPoint[] =>
    days.flatMap((d) => only.flatMap((m) => (d.modes[m] === undefined ? [] : [{ day: d.evalDay, series: m, value: value(d.modes[m]) ?? NaN }])));
  const x = 'Evaluation day (trained through the day before)';

  const aucCharts: RenderedChart[] = [];
  const pcocCharts: RenderedChart[] = [];
  for (const [task, name] of TASKS) {
    const oracle = oracleRange(task);
    const auc = await dayChart({ title: `${name} AUC by day`, ...(oracle === undefined ? {} : { subtitle: oracle }), axes: [x, `${name} AUC`], series, values: points((m) => m.auc[task]) });
    if (auc) aucCharts.push(auc);
    const pcoc = await dayChart({ title: `${name} PCOC by day`, subtitle: 'mean prediction / observed rate; 1 is calibrated', axes: [x, `${name} PCOC`], series, values: points((m) => m.pcoc[task]), reference: 1 });
    if (pcoc) pcocCharts.push(pcoc);
  }
  const trained = modes.filter((m) => days.some((d) => (d.modes[m]?.trainSeconds ?? 0) > 0));
  const untrained = modes.filter((m) => !trained.includes(m));
  const timeChart = await dayChart({
    title: 'Training seconds by day',
    ...(untrained.length > 0 ? { subtitle: `not trained day by day: ${untrained.join(', ')}` } : {}),
    axes: [x, 'Seconds'],
    series,
    values: points((m) => m.trainSeconds, trained),
    zero: true,
  });
  const knownChart = await dayChart({
    title: 'Known ids by day',
    subtitle: "impressions whose item and user ids the model's vocabulary knows",
    axes: [x, 'Share of impressions'],
    series,
    values: points((m) => m.knownIds),
    percent: true,
  });
  const other = [timeChart, knownChart].filter((c): c is RenderedChart => c !== undefined);

  const summaryRows = modes.map((m) => {
    const entries = days.map((d) => d.modes[m]).filter((x): x is ReplayReportEntry => x !== undefined);
    return [
      td(m),
      td(String(entries.length)),
      ...TASKS.map(([t]) => td(num(mean(entries.map((x) => x.auc[t])), 4))),
      ...TASKS.map(([t]) => td(num(mean(entries.map((x) => x.pcoc[t])), 3))),
      td(num(entries.reduce((s, x) => s + x.trainSeconds, 0), 1)),
      td(`${num(100 * (mean(entries.map((x) => x.knownIds)) ?? NaN), 1)} %`),
    ];
  });
  const summary = table(['Mode', 'Days', ...TASKS.map(([, n]) => `${n} AUC`), ...TASKS.map(([, n]) => `${n} PCOC`), 'Training s <small>(total)</small>', 'Known ids'], summaryRows);

  const dayRows = days.flatMap((d) =>
    [...modes.filter((m) => d.modes[m] !== undefined), ...(hasOracle ? [ORACLE] : [])].map((m) => {
      const x = d.modes[m];
      const auc = (t: Task) => (x === undefined ? d.oracle?.[t] : x.auc[t]);
      return [
        td(String(d.evalDay)),
        tdText(m),
        ...TASKS.map(([t]) => td(num(auc(t), 4))),
        ...TASKS.map(([t]) => td(x === undefined ? '—' : num(x.pcoc[t], 3))),
        td(x === undefined ? '—' : num(x.trainSeconds, 1)),
        td(x === undefined ? '—' : `${num(100 * x.knownIds, 1)} %`),
      ];
    }),
  );
  const perDay = table(['Eval day', 'Mode', ...TASKS.map(([, n]) => `${n} AUC`), ...TASKS.map(([, n]) => `${n} PCOC`), 'Training s', 'Known ids'], dayRows, [1]);
  const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(4)}` : '—');
  const diffRows = (input.differences ?? []).map((d) => {
    const [lo, hi] = d.ci95;
    const reading = !Number.isFinite(lo) || !Number.isFinite(hi) ? (d.reason ?? 'no interval') : lo > 0 ? `${d.mode} better` : hi < 0 ? `${d.mode} worse` : 'not significant';
    return [td(String(d.evalDay)), tdText(`${d.mode} − ${d.baseline}`), `<td class="text nb">${e(d.metric)}</td>`, td(signed(d.difference)), td(`[${signed(lo)}, ${signed(hi)}]`), td(num(d.pValue, 3)), td(String(d.positives)), tdText(reading)];
  });
  const differences =
    diffRows.length === 0 ? '' : `${input.differencesMethod === undefined ? '' : `<p>${e(input.differencesMethod)}</p>`}${table(['Eval day', 'Modes', 'Metric', 'Difference', '95 % interval', 'p', 'Positives', 'Reading'], diffRows, [1, 2, 7])}`;
  const dataRows = days.map((d) => [td(String(d.evalDay)), td(d.evalRows.toLocaleString('en-US')), ...TASKS.map(([t]) => td(d.positives?.[t] === undefined ? '—' : d.positives[t].toLocaleString('en-US')))]);
  const dataTable = table(['Eval day', 'Rows', ...TASKS.map(([, n]) => `${n} positives`)], dataRows);

  const body = `<p>${e(input.source)}</p>
${(input.notes ?? []).map((n) => `<p class="note">${e(n)}</p>`).join('')}
${section('Summary over the days (means; training seconds summed)', summary)}
${chartSection('AUC by day', aucCharts)}
${chartSection('Calibration by day', pcocCharts)}
${chartSection('Training time and known ids', other)}
${section('Per day', perDay)}
${section('Differences between modes, per day', differences)}
${section('Evaluation days', dataTable)}`;
  return { html: htmlPage(title, body, input.generatedAt), charts: [...aucCharts, ...pcocCharts, ...other] };
}

/** Renders the replay page and writes it atomically to `path`; returns what was rendered. */
export async function writeReplayReport(path: string, input: ReplayReportInput): Promise<RenderedReport> {
  const report = await renderReplayReport(input);
  await writeFileAtomic(path, report.html, { mkdirs: true });
  return report;
}
