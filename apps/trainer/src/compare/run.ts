import { scoreGbdt, trainGbdt } from '@esm2/baseline-xgboost';
import { DEFAULT_OPTIMIZER, INIT_MODES, MODEL_FILE, readArtifact, writeFileAtomic, writeJsonAtomic, type Esm2Metrics, type Interaction } from '@esm2/core';
import { encodersForSchema, fitEncoders, openDataset, type Encoders } from '@esm2/data';
import { access, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fit } from '../api.js';
import { hasCheckpoint, modelOfArtifact } from '../train/checkpoint.js';
import { DEFAULT_BACKEND, engineFactory, type BackendName } from '../train/engines.js';
import { scoreDataset } from '../train/evaluate.js';
import { loadFitConfig, resolveFitSettings, type FitConfigFile } from '../train/fit-config.js';
import type { LoopReporter } from '../train/loop.js';
import { runPaths } from '../train/run-dir.js';
import { readHistory } from '../train/history.js';
import type { EpochRecord } from '../train/settings.js';
import { writeComparisonReport } from './report.js';
import { labelsPath, readLabels, readScores, readUsers, saveTestPass, scoresPath, usersPath } from './scores.js';
import { cellName, type CompareEntry, type LossWeights } from './spec.js';
import { buildComparison, formatComparisonMarkdown, type Comparison, type TestScores } from './summary.js';

export interface CompareOptions {
  train: string;
  valid?: string;
  test: string;
  /** Models and variants, in output order. */
  entries: CompareEntry[];
  seeds: number[];
  out: string;
  epochs?: number;
  config?: string | FitConfigFile;
  /** Loss weights of every ESM2/ESMM cell (a variant's own weights win). */
  lossWeights?: LossWeights;
  /** DAction columns of every cell (a variant's own choice wins). */
  daction?: string[];
  batchSize?: number;
  lr?: number;
  towers?: number[];
  embeddingDim?: number;
  /** Interaction module of every deep cell (zoo/interaction.ts). */
  interaction?: Interaction;
  /** How every deep cell's tower output biases start (fit's --init; default fit's). */
  init?: (typeof INIT_MODES)[number];
  crossLayers?: number;
  backend?: BackendName;
  /** Data-parallel workers of each deep cell's onnx engine (fit's --workers; default the cores). */
  workers?: number;
  /** Intra-op threads per onnx session (fit's default: 1 with workers > 1, else 2). */
  threads?: number;
  /** Skip finished cells, continue an interrupted one. */
  resume?: boolean;
  /** Cells trained at once (default 1). */
  parallel?: number;
  /** Resamples of the user bootstrap behind GAUC differences (default DEFAULT_GAUC_RESAMPLES; 0: none). */
  gaucResamples?: number;
  /** Per-cell progress: `reporter(cell)` gives the fit reporter of that cell. */
  reporter?: (cell: CellInfo) => LoopReporter;
  log?: (message: string) => void;
}

export interface CellInfo {
  name: string;
  entry: CompareEntry;
  seed: number;
  dir: string;
  /** 1-based position among all cells, and their number. */
  index: number;
  count: number;
}

/** What a cell's metrics.json holds: the test metrics and how the cell was made. */
export interface CellFile extends Esm2Metrics {
  cell: { name: string; entry: string; model: string; seed: number; settings: Record<string, unknown> };
  data: string;
  engine?: string;
}

export const CELL_METRICS = 'metrics.json';
export const COMPARISON_JSON = 'comparison.json';
export const COMPARISON_MD = 'comparison.md';
const GBDT_MODEL_DIR = 'gbdt';

const exists = (p: string) => access(p).then(() => true, () => false);

async function mustExist(path: string, flag: string): Promise<void> {
  if (!(await exists(path))) throw new Error(`${flag} ${path}: no such file`);
}

export const SETTINGS_FILE = 'compare-settings.json';

interface SettingsFile {
  common: Record<string, unknown>;
  entries: CompareEntry[];
  seeds: number[];
}

/**
 * Keeps what defines the cells in `<out>/compare-settings.json`, so a
 * `--resume` cannot mix cells made differently: it must repeat the common
 * settings and every model's definition; it may add models, variants and seeds.
 */
async function recordSettings(out: string, common: Record<string, unknown>, entries: CompareEntry[], seeds: number[], resume: boolean): Promise<void> {
  const path = join(out, SETTINGS_FILE);
  let saved: SettingsFile | undefined;
  if (resume) {
    try {
      saved = JSON.parse(await readFile(path, 'utf8')) as SettingsFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${path}: ${(e as Error).message}`, { cause: e });
    }
  }
  const json = (x: unknown) => JSON.stringify(x);
  if (saved) {
    const changed = Object.keys({ ...saved.common, ...common }).filter((k) => json(saved.common[k] ?? null) !== json(common[k] ?? null));
    if (changed.length > 0) {
      throw new Error(
        `--resume: ${out} was started with other settings (${changed.map((k) => `${k}: was ${json(saved.common[k] ?? null)}, now ${json(common[k] ?? null)}`).join('; ')}); ` +
          'repeat the original flags, or choose another --out',
      );
    }
    for (const e of entries) {
      const before = saved.entries.find((s) => s.name === e.name);
      if (before && json(before) !== json(e)) throw new Error(`--resume: ${out} defined '${e.name}' as ${json(before)}, now ${json(e)}; give the changed variant another name`);
    }
  }
  const merged: SettingsFile = {
    common,
    entries: [...(saved?.entries ?? []), ...entries.filter((e) => !saved?.entries.some((s) => s.name === e.name))],
    seeds: [...new Set([...(saved?.seeds ?? []), ...seeds])],
  };
  await writeJsonAtomic(path, merged, { mkdirs: true });
}

/** Metrics of a cell file without the cell's bookkeeping. */
function metricsOf(file: CellFile): Esm2Metrics {
  const { cell: _cell, data: _data, engine: _engine, model: _model, ...metrics } = file as CellFile & { model?: unknown };
  return metrics;
}

/**
 * Runs the grid of models × seeds: each cell an ordinary run directory
 * `<out>/runs/<name>-seed<k>` (deep models trained by `fit()`, GBDT by
 * trainGbdt into its `gbdt/`), scored on the test file by the same metric
 * code as `eval`, its test metrics in the cell's metrics.json (a finished
 * cell = metrics.json present). Then comparison.json, comparison.md and
 * report.html (writeComparisonReport).
 */
export async function runCompare(options: CompareOptions): Promise<Comparison> {
  const out = resolve(options.out);
  const runsDir = join(out, 'runs');
  const train = resolve(options.train);
  const test = resolve(options.test);
  const valid = options.valid === undefined ? undefined : resolve(options.valid);
  await mustExist(train, '--train');
  await mustExist(test, '--test');
  if (valid) await mustExist(valid, '--valid');
  if (options.seeds.length === 0) throw new Error('--seeds: no seed');
  if (options.entries.length === 0) throw new Error('--models: no model');
  const existing = await readdir(runsDir).catch(() => [] as string[]);
  if (existing.length > 0 && !options.resume) {
    throw new Error(`${out} already holds a comparison (${runsDir} has ${existing.length} run(s)); pass --resume to continue it, or choose another --out`);
  }
  const config = typeof options.config === 'string' ? await loadFitConfig(resolve(options.config)) : (options.config ?? {});
  const log = options.log ?? (() => {});
  await recordSettings(out, { train, valid: valid ?? null, test, config, epochs: options.epochs ?? null, lossWeights: options.lossWeights ?? null, daction: options.daction ?? null, batchSize: options.batchSize ?? null, lr: options.lr ?? null, towers: options.towers ?? null, embeddingDim: options.embeddingDim ?? null, interaction: options.interaction ?? null, init: options.init ?? null, crossLayers: options.crossLayers ?? null, backend: options.backend ?? null }, options.entries, options.seeds, options.resume ?? false);

  const cells: CellInfo[] = [];
  for (const entry of options.entries) {
    for (const seed of options.seeds) {
      const name = cellName(entry.name, seed);
      cells.push({ name, entry, seed, dir: join(runsDir, name), index: cells.length + 1, count: 0 });
    }
  }
  for (const c of cells) c.count = cells.length;

  // The GBDT cells share one set of encoders, fitted once on the training file with the comparison's data settings.
  let gbdtEncoders: Promise<Encoders> | undefined;
  const encodersForGbdt = () =>
    (gbdtEncoders ??= (() => {
      const settings = resolveFitSettings({ data: train, model: 'esm2', ...(options.daction ? { daction: options.daction } : {}) }, config, { backend: DEFAULT_BACKEND });
      log(`fitting the GBDT encoders on ${train}`);
      return fitEncoders(train, settings.data);
    })());

  const runCell = async (cell: CellInfo): Promise<void> => {
    const metricsFile = join(cell.dir, CELL_METRICS);
    if (await exists(metricsFile)) {
      log(`cell ${cell.index}/${cell.count} ${cell.name}: finished earlier, skipped`);
      return;
    }
    log(`cell ${cell.index}/${cell.count} ${cell.name}: ${cell.entry.model}, seed ${cell.seed}`);
    const file = cell.entry.model === 'gbdt' ? await gbdtCell(cell, await encodersForGbdt()) : await deepCell(cell);
    await writeJsonAtomic(metricsFile, file, { mkdirs: true });
    log(`cell ${cell.index}/${cell.count} ${cell.name}: finished (test ctcvr_auc ${file.ctcvr_auc?.toFixed(4) ?? '-'})`);
  };

  const deepCell = async (cell: CellInfo): Promise<CellFile> => {
    const e = cell.entry;
    const paths = runPaths(cell.dir);
    const resume = await hasCheckpoint(paths.checkpoint);
    if (resume) log(`cell ${cell.name}: continuing its run from the last checkpoint`);
    const lossWeights = e.lossWeights ?? options.lossWeights;
    const daction = e.daction ?? options.daction;
    const result = await fit({
      out: cell.dir,
      train,
      ...(valid ? { valid } : {}),
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(daction ? { daction } : {}),
      ...(resume
        ? { resume: true }
        : {
            config,
            model: e.model,
            seed: cell.seed,
            ...(lossWeights ? { lossWeights } : {}),
            ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
            ...(options.lr !== undefined ? { lr: options.lr } : {}),
            ...(options.towers ? { towers: options.towers } : {}),
            ...(options.embeddingDim !== undefined ? { embeddingDim: options.embeddingDim } : {}),
            ...(options.interaction !== undefined ? { interaction: options.interaction } : {}),
            ...(options.init !== undefined ? { init: options.init } : {}),
            ...(options.crossLayers !== undefined ? { crossLayers: options.crossLayers } : {}),
          }),
      ...(options.reporter ? { reporter: options.reporter(cell) } : {}),
    });
    const artifact = await readArtifact(result.bestArtifact);
    if (artifact.encoders === null) throw new Error(`${result.bestArtifact}: the artifact carries no data encoders`);
    const encoders = encodersForSchema(artifact.encoders, artifact.schema, join(result.bestArtifact, MODEL_FILE));
    const model = modelOfArtifact(artifact);
    const factory = await engineFactory(result.settings.backend, { threads: options.threads ?? 2, spinning: false });
    const engine = await factory.create({ model, weights: artifact.weights, optimizer: DEFAULT_OPTIMIZER });
    let metrics: Esm2Metrics;
    try {
      const collector = await scoreDataset(engine, model, openDataset(test, { encoders, batchSize: 4096 }));
      metrics = collector.evaluate();
      await saveTestPass(collector, cell.dir, out);
    } finally {
      engine.dispose();
    }
    const s = result.settings;
    const settings = {
      model: s.model,
      daction: encoders.config.labels.daction,
      epochs: s.epochs,
      epochsDone: result.position.epoch,
      bestEpoch: result.position.best?.epoch ?? null,
      batchSize: s.batchSize,
      lr: s.optimizer.lr,
      seed: s.seed,
      backend: s.backend,
    };
    return { cell: { name: cell.name, entry: e.name, model: e.model, seed: cell.seed, settings }, data: test, engine: engine.description, ...metrics };
  };

  const gbdtCell = async (cell: CellInfo, encoders: Encoders): Promise<CellFile> => {
    const modelDir = join(cell.dir, GBDT_MODEL_DIR);
    const batches = (path: string) => openDataset(path, { encoders, batchSize: options.batchSize ?? 4096 });
    const meta = await trainGbdt({
      schema: encoders.schema,
      train: batches(train),
      ...(valid ? { valid: batches(valid) } : {}),
      params: { seed: Math.abs(cell.seed) },
      outDir: modelDir,
    });
    // The encoders next to the model, so the cell can be scored again on another file.
    await writeJsonAtomic(join(cell.dir, 'encoders.json'), encoders.toJSON());
    const collector = await scoreGbdt(modelDir, batches(test));
    const metrics = collector.evaluate();
    await saveTestPass(collector, cell.dir, out);
    const settings = { model: { model: 'gbdt' }, daction: encoders.config.labels.daction, params: meta.params, xgboostVersion: meta.xgboostVersion, rounds: { ctr: meta.ctr.rounds, cvr: meta.cvr.rounds } };
    return { cell: { name: cell.name, entry: cell.entry.name, model: 'gbdt', seed: cell.seed, settings }, data: test, engine: `xgboost ${meta.xgboostVersion}`, ...metrics };
  };

  // One cell after another by default; --parallel N runs N at once.
  const queue = [...cells];
  const workers = Array.from({ length: Math.min(options.parallel ?? 1, cells.length) }, async () => {
    for (let cell = queue.shift(); cell !== undefined; cell = queue.shift()) await runCell(cell);
  });
  await Promise.all(workers);

  const gathered = await gatherComparison(out, options.entries.map((e) => e.name));
  const comparison = await buildComparison(
    Object.fromEntries(Object.entries(gathered.models).map(([name, m]) => [name, m.runs.map((r) => ({ seed: r.seed, metrics: r.metrics }))])),
    'esm2',
    testScores(out, gathered.models),
    options.gaucResamples !== undefined ? { gaucResamples: options.gaucResamples } : {},
  );
  await writeJsonAtomic(join(out, COMPARISON_JSON), comparison);
  await writeFileAtomic(join(out, COMPARISON_MD), formatComparisonMarkdown(comparison));
  const report = await writeComparisonReport(out, comparison, gathered, { source: test });
  log(`report written to ${report.path} (${report.charts.length} charts)`);
  return comparison;
}

/** The saved test predictions, labels and users (the paired tests on test rows); undefined where never written. */
function testScores(out: string, models: Record<string, GatheredModel>): TestScores {
  return {
    labels: (rows) => readLabels(labelsPath(out), rows),
    users: (rows) => readUsers(usersPath(out), rows),
    async scores(name, seed, rows) {
      const run = models[name]?.runs.find((r) => r.seed === seed);
      return run && readScores(scoresPath(run.dir), rows);
    },
  };
}

/** Everything a report needs of one model: its runs' test metrics, training histories and run directories. */
export interface GatheredModel {
  model: string;
  runs: {
    seed: number;
    dir: string;
    metrics: Esm2Metrics;
    settings: Record<string, unknown>;
    history?: EpochRecord[];
    /** The cell's test predictions (readScores(scores, metrics.rows)), for ROC and calibration curves; absent in cells made before they were kept. */
    scores?: string;
  }[];
}

/** What gatherComparison reads: the finished cells by model or variant, and the test labels file. */
export interface GatheredComparison {
  models: Record<string, GatheredModel>;
  /** `<dir>/test-labels.f32` (click, buy), absent when no cell has written it. */
  labels?: string;
}

/**
 * The seam for reports: reads every finished cell under `<dir>/runs` as
 * plain data, grouped by model or variant name (in `order` when given),
 * each run with its test metrics, settings, (deep models) per-epoch
 * history and the file of its test predictions; `labels` is the file of
 * the test labels (click, buy: `readLabels(labels, rows)`). Unfinished
 * cells (no metrics.json) are left out.
 */
export async function gatherComparison(dir: string, order?: string[]): Promise<GatheredComparison> {
  const runsDir = join(resolve(dir), 'runs');
  const names = (await readdir(runsDir).catch(() => [] as string[])).sort();
  const models: Record<string, GatheredModel> = {};
  for (const n of order ?? []) models[n] = { model: n, runs: [] };
  for (const name of names) {
    const cellDir = join(runsDir, name);
    const path = join(cellDir, CELL_METRICS);
    if (!(await exists(path))) continue;
    let file: CellFile;
    try {
      file = JSON.parse(await readFile(path, 'utf8')) as CellFile;
    } catch (e) {
      throw new Error(`${path}: not JSON (${(e as Error).message})`, { cause: e });
    }
    if (typeof file.cell?.entry !== 'string' || typeof file.cell.seed !== 'number') throw new Error(`${path}: not a compare cell's metrics (no cell.entry / cell.seed)`);
    if (order && !order.includes(file.cell.entry)) continue;
    const history = await readHistory(runPaths(cellDir).history);
    const m = (models[file.cell.entry] ??= { model: file.cell.model, runs: [] });
    m.model = file.cell.model;
    const scores = (await exists(scoresPath(cellDir))) ? scoresPath(cellDir) : undefined;
    m.runs.push({ seed: file.cell.seed, dir: cellDir, metrics: metricsOf(file), settings: file.cell.settings, ...(history ? { history } : {}), ...(scores ? { scores } : {}) });
  }
  for (const m of Object.values(models)) m.runs.sort((a, b) => a.seed - b.seed);
  const labels = labelsPath(resolve(dir));
  return {
    models: Object.fromEntries(Object.entries(models).filter(([, m]) => m.runs.length > 0)),
    ...((await exists(labels)) ? { labels } : {}),
  };
}
