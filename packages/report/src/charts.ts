import type { Loader } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import type { Esm2Task } from '@esm2/core';
import type { ReportModel } from './types.js';
import { meanSd } from './stats.js';

/** A chart as it goes into the page: its kind (for the page's structure and tests), title, axis titles and SVG markup. */
export interface RenderedChart {
  kind: 'roc' | 'calibration' | 'training' | 'topk' | 'days';
  title: string;
  /** The axis titles drawn in the SVG. */
  axes: string[];
  svg: string;
}

export const TASK_NAMES: Readonly<Record<Esm2Task, string>> = { ctr: 'CTR', ctavr: 'CTAVR', cvr: 'CVR', ctcvr: 'CTCVR' };

const WIDTH = 340;
const HEIGHT = 260;
// No external font: the viewer's own sans-serif.
const CONFIG = { font: 'sans-serif', view: { stroke: '#ddd' }, legend: { labelLimit: 260 } };

/**
 * Renders a Vega-Lite spec to SVG markup in plain Node (no DOM, no canvas:
 * text widths are estimated). The spec must carry its data inline — nothing
 * is loaded. Marks are not clipped, so the SVG holds no clip-path ids that
 * could collide between several charts in one page. Vega and Vega-Lite are
 * loaded here, on the first chart, so that importing this package (or the
 * trainer, which imports it) without writing a report does not load them.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: noLoader(vega.loader()) });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A loader that refuses every load: report charts must never read files or the network. */
function noLoader(loader: Loader): Loader {
  const refuse = (what: string) => Promise.reject(new Error(`@esm2/report: charts carry their data inline; refusing to load ${what}`));
  loader.load = (uri: string) => refuse(uri);
  loader.sanitize = (uri: string) => refuse(uri);
  loader.http = (uri: string) => refuse(uri);
  loader.file = (path: string) => refuse(path);
  return loader;
}

/** The y = x reference line (named, so that tests tell it from the series). */
const diagonal = {
  name: 'reference',
  data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
  mark: { type: 'line' as const, color: '#999', strokeDash: [4, 4], strokeWidth: 1 },
  encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'y', type: 'quantitative' as const } },
};

const seedLabel = (seed: number | undefined, k: number) => (seed === undefined ? `run ${k + 1}` : `seed ${seed}`);

/** Vega's default palette (tableau10): what a chart of up to 10 series keeps. */
const TABLEAU10 = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
/** Kelly's 20 colours of maximum contrast (white and black left out): for 11 to 20 series. */
const KELLY20 = [
  '#0067a5', '#f38400', '#008856', '#be0032', '#875692', '#f3c300', '#848482', '#882d17', '#e68fac', '#2b3d26',
  '#a1caf1', '#8db600', '#604e97', '#f99379', '#c2b280', '#b3446c', '#654522', '#dcd300', '#e25822', '#f6a600',
];

/**
 * `n` different colours, one per series: tableau10 up to 10, Kelly's 20
 * up to 20, and past that hues a golden angle apart (alternating lightness),
 * so no two series of a chart share a colour (vega's own palettes repeat
 * after 10).
 */
export function distinctColours(n: number): string[] {
  if (n <= TABLEAU10.length) return TABLEAU10.slice(0, n);
  if (n <= KELLY20.length) return KELLY20.slice(0, n);
  return Array.from({ length: n }, (_, i) => `hsl(${((i * 137.508) % 360).toFixed(1)}, 65%, ${i % 2 === 0 ? 38 : 55}%)`);
}

/**
 * The colour encoding of the model overlays: every model of the page keeps
 * one colour across all its charts (the scale spans all of them), the legend
 * lists those drawn in this chart.
 */
const modelColour = (models: readonly ReportModel[], drawn: Iterable<string>) => {
  const domain = models.map((m) => m.name);
  const present = new Set(drawn);
  return {
    field: 'model',
    type: 'nominal',
    title: 'Model',
    scale: { domain, range: distinctColours(domain.length) },
    legend: { values: domain.filter((d) => present.has(d)) },
  } as const;
};

/** ROC curves of one task, every model (and each of its seeds) overlaid. Undefined when no run has a curve for the task. */
export async function rocChart(models: readonly ReportModel[], task: Esm2Task): Promise<RenderedChart | undefined> {
  const values: { model: string; seed: string; order: number; fpr: number; tpr: number }[] = [];
  let positives: number | undefined;
  for (const m of models) {
    m.runs.forEach((run, k) => {
      const c = run.roc?.[task];
      if (c === undefined || c.fpr.length === 0) return;
      positives ??= c.positives;
      c.fpr.forEach((f, i) => values.push({ model: m.name, seed: seedLabel(run.seed, k), order: i, fpr: f, tpr: c.tpr[i]! }));
    });
  }
  if (values.length === 0) return undefined;
  const title = `ROC — ${TASK_NAMES[task]} (${positives} positives)`;
  const axes = ['False positive rate', 'True positive rate'];
  const svg = await renderSvg({
    title,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      diagonal,
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: axes[0], scale: { domain: [0, 1] } },
          y: { field: 'tpr', type: 'quantitative', title: axes[1], scale: { domain: [0, 1] } },
          color: modelColour(models, values.map((v) => v.model)),
          detail: { field: 'seed', type: 'nominal' },
          order: { field: 'order', type: 'quantitative' },
        },
      },
    ],
  });
  return { kind: 'roc', title, axes, svg };
}

/** Reliability diagram of one task: observed rate against mean prediction per bin, each model overlaid, PCOC in the title. */
export async function calibrationChart(models: readonly ReportModel[], task: Esm2Task): Promise<RenderedChart | undefined> {
  const values: { model: string; seed: string; predicted: number; observed: number; rows: number }[] = [];
  const pcocs: string[] = [];
  let top = 0;
  let positives: number | undefined;
  for (const m of models) {
    let any = false;
    m.runs.forEach((run, k) => {
      const bins = run.calibration?.[task];
      if (bins === undefined || bins.length === 0) return;
      any = true;
      positives ??= bins.reduce((s, b) => s + b.positives, 0);
      for (const b of bins) {
        values.push({ model: m.name, seed: seedLabel(run.seed, k), predicted: b.meanPredicted, observed: b.observedRate, rows: b.rows });
        top = Math.max(top, b.meanPredicted, b.observedRate);
      }
    });
    if (any) {
      const p = meanSd(m.runs.map((r) => r.metrics.pcoc[task]));
      if (Number.isFinite(p.mean)) pcocs.push(`${m.name} ${p.mean.toFixed(2)}`);
    }
  }
  if (values.length === 0) return undefined;
  const title = `Calibration — ${TASK_NAMES[task]} (${positives} positives)`;
  const axes = ['Mean predicted probability', 'Observed rate'];
  const limit = top > 0 ? Math.min(1, top * 1.05) : 1;
  const svg = await renderSvg({
    title: { text: title, subtitle: pcocs.length > 0 ? `PCOC: ${pcocs.join(', ')}` : undefined },
    width: WIDTH,
    height: HEIGHT,
    layer: [
      { ...diagonal, data: { values: [{ x: 0, y: 0 }, { x: limit, y: limit }] } },
      {
        data: { values },
        mark: { type: 'line', point: true, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'predicted', type: 'quantitative', title: axes[0], scale: { domain: [0, limit] } },
          y: { field: 'observed', type: 'quantitative', title: axes[1], scale: { domain: [0, limit] } },
          color: modelColour(models, values.map((v) => v.model)),
          detail: { field: 'seed', type: 'nominal' },
          order: { field: 'predicted', type: 'quantitative' },
        },
      },
    ],
  });
  return { kind: 'calibration', title, axes, svg };
}

const AUC_KEYS = ['ctr_auc', 'ctavr_auc', 'cvr_auc', 'ctcvr_auc', 'cvr_gauc', 'ctcvr_gauc'] as const;

/** The line style of the training curves' splits, said in their legend. */
const SPLIT_DASH: Record<string, number[]> = { train: [], validation: [5, 3] };
/** The training curves' legend title, on three lines (Vega's width estimate would cut a long one). */
export const TRAINING_LEGEND = ['Series', 'solid: training data', 'dashed: validation data'];

/**
 * Training and validation curves of one model by epoch, in two panels: the
 * training losses (total and each part) with the validation logloss per
 * task; the validation AUCs. Every series has a colour of its own
 * (distinctColours: no palette wraps round), solid when computed on the
 * training data and dashed on the validation data, which the one legend
 * shows and its title says. Several seeds: one line per seed, in the
 * series' colour. Undefined when no run has a history.
 */
export async function trainingChart(model: ReportModel): Promise<RenderedChart | undefined> {
  const values: { panel: string; series: string; split: string; seed: string; epoch: number; value: number }[] = [];
  const push = (panel: string, series: string, split: 'train' | 'validation', seed: string, epoch: number, value: unknown) => {
    if (typeof value === 'number' && Number.isFinite(value)) values.push({ panel, series, split, seed, epoch, value });
  };
  model.runs.forEach((run, k) => {
    const seed = seedLabel(run.seed, k);
    for (const e of run.history ?? []) {
      if (e.train_losses !== undefined) {
        for (const [name, v] of Object.entries(e.train_losses)) push('Loss', `train ${name}`, 'train', seed, e.epoch, v);
      } else {
        push('Loss', 'train loss', 'train', seed, e.epoch, e.train_loss);
      }
      const logloss = e.logloss;
      if (logloss !== null && typeof logloss === 'object') {
        for (const [task, v] of Object.entries(logloss as Record<string, unknown>)) push('Loss', `valid logloss ${task}`, 'validation', seed, e.epoch, v);
      }
      for (const key of AUC_KEYS) push('Validation AUC', `valid ${key}`, 'validation', seed, e.epoch, e[key]);
    }
  });
  if (values.length === 0) return undefined;
  // Series in the order they first appear (losses, then AUCs), each with its own colour and its split's dash.
  const series: string[] = [];
  const dashes: number[][] = [];
  for (const v of values) {
    if (series.includes(v.series)) continue;
    series.push(v.series);
    dashes.push(SPLIT_DASH[v.split]!);
  }
  const title = `Training — ${model.name}`;
  const axes = ['Epoch', 'Value'];
  // Colour and dash both by series, with the same title: Vega-Lite draws one legend whose every entry is a line in both.
  const legend = { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 300, titleLimit: 400 } as const;
  const svg = await renderSvg({
    title,
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null, sort: ['Loss', 'Validation AUC'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: WIDTH,
      height: 180,
      mark: { type: 'line', point: { filled: true, size: 20 }, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: axes[0], axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: axes[1], scale: { zero: false } },
        color: { field: 'series', type: 'nominal', title: TRAINING_LEGEND, scale: { domain: series, range: distinctColours(series.length) }, legend },
        strokeDash: { field: 'series', type: 'nominal', title: TRAINING_LEGEND, scale: { domain: series, range: dashes }, legend },
        detail: { field: 'seed', type: 'nominal' },
      },
    },
  });
  return { kind: 'training', title, axes, svg };
}

const MEASURES = [
  ['precision_at', 'Precision'],
  ['recall_at', 'Recall'],
  ['f1_at', 'F1'],
] as const;

/**
 * Precision, recall and F1 at the top-k cuts of one task (CVR or CTCVR): a
 * bar per model — its value when it has one run, else the mean over its
 * runs with a ± sd rule. When every value is 0 the axis still runs 0…1 and
 * the subtitle says so (a zero-height domain draws no bars and one
 * "0.000000" tick).
 */
export async function topKChart(models: readonly ReportModel[], task: 'cvr' | 'ctcvr'): Promise<RenderedChart | undefined> {
  const values: { model: string; cut: string; measure: string; mean: number; lo: number; hi: number }[] = [];
  const cuts: string[] = [];
  for (const m of models) {
    for (const [key, measure] of MEASURES) {
      const labels = new Set(m.runs.flatMap((r) => Object.keys(r.metrics[key]?.[task] ?? {})));
      for (const cut of labels) {
        if (!cuts.includes(cut)) cuts.push(cut);
        const s = meanSd(m.runs.map((r) => r.metrics[key]?.[task]?.[cut]));
        if (!Number.isFinite(s.mean)) continue;
        const sd = Number.isFinite(s.sd) ? s.sd : 0;
        values.push({ model: m.name, cut, measure, mean: s.mean, lo: Math.max(0, s.mean - sd), hi: s.mean + sd });
      }
    }
  }
  if (values.length === 0) return undefined;
  cuts.sort((a, b) => parseFloat(a) - parseFloat(b));
  const positives = models[0]?.runs[0]?.metrics.positives[task];
  const title = `Top-k — ${TASK_NAMES[task]} (${positives ?? '?'} positives)`;
  const spread = models.some((m) => m.runs.length > 1);
  const allZero = values.every((v) => v.hi === 0);
  const axes = ['Top-k cut', spread ? 'Mean over seeds' : 'Value'];
  const y = { field: 'mean', type: 'quantitative', title: axes[1], ...(allZero ? { scale: { domain: [0, 1] } } : {}) } as const;
  const bars = {
    mark: 'bar',
    encoding: {
      x: { field: 'cut', type: 'nominal', title: axes[0], sort: cuts, axis: { labelAngle: 0 } },
      xOffset: { field: 'model', type: 'nominal', sort: models.map((m) => m.name) },
      y,
      color: modelColour(models, values.map((v) => v.model)),
    },
  } as const;
  const rule = {
    mark: { type: 'rule', color: '#333' },
    encoding: {
      x: { field: 'cut', type: 'nominal', sort: cuts },
      xOffset: { field: 'model', type: 'nominal', sort: models.map((m) => m.name) },
      y: { field: 'lo', type: 'quantitative' },
      y2: { field: 'hi' },
    },
  } as const;
  const svg = await renderSvg({
    title: allZero ? { text: title, subtitle: 'Every value is 0: no positive among the top-k rows at any cut' } : title,
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null, sort: MEASURES.map(([, m]) => m) } },
    spec: { width: 150, height: 200, layer: spread ? [bars, rule] : [bars] },
  });
  return { kind: 'topk', title, axes, svg };
}

/** One point of a by-day chart: a series' value on a day. */
export interface DayPoint {
  day: number;
  series: string;
  value: number;
}

/**
 * A line per series over days (a replay's modes: AUC, PCOC, training
 * seconds, known-id share per day). `series` fixes the colours (every
 * series keeps its colour across a page's charts, distinctColours) and the
 * legend's order; the legend lists those drawn here. `reference` draws a
 * dashed horizontal line (PCOC's 1), `percent` formats the axis as a share.
 * Undefined when there is no point.
 */
export async function dayChart(options: {
  title: string;
  subtitle?: string;
  axes: [string, string];
  series: readonly string[];
  values: readonly DayPoint[];
  reference?: number;
  percent?: boolean;
  zero?: boolean;
}): Promise<RenderedChart | undefined> {
  const values = options.values.filter((v) => Number.isFinite(v.value));
  if (values.length === 0) return undefined;
  const { title, axes, series } = options;
  const drawn = new Set(values.map((v) => v.series));
  const days = values.map((v) => v.day);
  const [lo, hi] = [Math.min(...days), Math.max(...days)];
  const x = { field: 'day', type: 'quantitative', title: axes[0], scale: { domain: [lo, Math.max(hi, lo + 1)] }, axis: { tickMinStep: 1, format: 'd' } } as const;
  const y = { field: 'value', type: 'quantitative', title: axes[1], scale: { zero: options.zero ?? false }, ...(options.percent ? { axis: { format: '.0%' } } : {}) } as const;
  const layer: unknown[] = [];
  if (options.reference !== undefined) {
    layer.push({
      name: 'reference',
      data: { values: [{ day: lo, value: options.reference }, { day: Math.max(hi, lo + 1), value: options.reference }] },
      mark: { type: 'line', color: '#999', strokeDash: [4, 4], strokeWidth: 1 },
      encoding: { x, y },
    });
  }
  layer.push({
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 1.5 },
    encoding: {
      x,
      y,
      color: { field: 'series', type: 'nominal', title: 'Mode', scale: { domain: [...series], range: distinctColours(series.length) }, legend: { values: series.filter((s) => drawn.has(s)) } },
      order: { field: 'day', type: 'quantitative' },
    },
  });
  const svg = await renderSvg({
    title: options.subtitle === undefined ? title : { text: title, subtitle: options.subtitle },
    width: WIDTH,
    height: HEIGHT,
    layer,
  } as TopLevelSpec);
  return { kind: 'days', title, axes, svg };
}
