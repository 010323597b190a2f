import { scoreGbdt, trainGbdt } from '@esm2/baseline-xgboost';
import { DEFAULT_OPTIMIZER, INIT_MODES, MODEL_FILE, zodProblems, type Esm2Metrics, type Interaction } from '@esm2/core';
import { readArtifact, readIfExists, writeFileAtomic, writeJsonAtomic } from '@esm2/core/node';
import { encodersForSchema, fitEncoders, isEncodedDir, type Batch, openDataset, openTable, parseDataConfig, resolveConfig, type Encoders } from '@esm2/data';
import { z } from 'zod';
import { access, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fit, type FitOptions } from '../api.js';
import { hasCheckpoint, modelOfArtifact } from '../train/checkpoint.js';
import { backendName, DEFAULT_BACKEND, engineFactory, type BackendName } from '../train/engines.js';
import { scoreDataset } from '../train/evaluate.js';
import { loadFitConfig, resolveFitSettings, type FitConfigFile, type FitFlags } from '../train/fit-config.js';
import type { LoopReporter } from '../train/loop.js';
import { runPaths } from '../train/run-dir.js';
import { sameDataWarnings } from '../train/same-data.js';
import { readHistory } from '../train/history.js';
import type { GatheredComparison, GatheredModel } from './gathered.js';
import { writeComparisonReport } from './report.js';
import { LABELS_FILE, labelsDamage, labelsPath, readLabels, readScores, readUsers, saveTestPass, scoresDamage, scoresPath, usersPath } from './scores.js';
import { cellName, checkEntryName, checkSeeds, type CompareEntry, type LossWeights } from './spec.js';
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
  /** Progress of a GBDT cell's stages (`stage`: reading the training rows…), rows counted as they stream; stopped at each stage's end. */
  stageProgress?: (cell: CellInfo, stage: string) => StageProgress;
  log?: (message: string) => void;
}

export interface StageProgress {
  update(rows: number): void;
  stop(): void;
}

/** `batches` as they pass, counted into a fresh `progress()`, stopped when they end (or fail). */
async function* counted(batches: AsyncIterable<Batch>, progress: (() => StageProgress) | undefined): AsyncGenerator<Batch> {
  const p = progress?.();
  let rows = 0;
  try {
    for await (const b of batches) {
      yield b;
      rows += b.size;
      p?.update(rows);
    }
  } finally {
    p?.stop();
  }
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

const settingsShape = z.object({
  common: z.record(z.string(), z.unknown()),
  entries: z.array(z.looseObject({ name: z.string(), model: z.string() })),
  seeds: z.array(z.number().int()),
});
type SettingsFile = { common: Record<string, unknown>; entries: CompareEntry[]; seeds: number[] };

/** What of a comparison `out` holds besides its settings (cells, tables, test labels), in words; empty for none. */
async function comparisonFiles(out: string): Promise<string[]> {
  const runs = await readdir(join(out, 'runs')).catch(() => [] as string[]);
  const files = [COMPARISON_JSON, COMPARISON_MD, LABELS_FILE];
  const present = (await Promise.all(files.map(async (f) => ((await exists(join(out, f))) ? f : undefined)))).filter((f) => f !== undefined);
  return [...(runs.length > 0 ? [`runs/ with ${runs.length} cell(s)`] : []), ...present];
}

/**
 * The saved settings of a comparison being resumed; undefined when `out` holds
 * no comparison yet. A settings file that is missing (beside other compare
 * files), empty or not what recordSettings wrote is refused, naming it:
 * without it the resume could not check the cells were made alike.
 */
async function readSettings(out: string): Promise<SettingsFile | undefined> {
  const path = join(out, SETTINGS_FILE);
  let text: string | undefined;
  try {
    text = await readIfExists(path, 'utf8');
  } catch (e) {
    throw new Error(`--resume: ${path}: ${(e as Error).message}`, { cause: e });
  }
  const refuse = (what: string) =>
    new Error(`--resume: ${path} ${what}; it records how the cells of ${out} were made, so the resume cannot check them. Restore it, or start afresh with another --out`);
  if (text === undefined) {
    const others = await comparisonFiles(out);
    if (others.length === 0) return undefined;
    throw refuse(`is missing, yet the folder holds a comparison (${others.join(', ')})`);
  }
  if (text.trim() === '') throw refuse('is empty');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw refuse(`is not JSON (${(e as Error).message})`);
  }
  const r = settingsShape.safeParse(doc);
  if (!r.success) throw refuse(`is not a compare settings file (${zodProblems(r.error).join('; ')})`);
  return r.data;
}

/**
 * Keeps what defines the cells in `<out>/compare-settings.json`, so a
 * `--resume` cannot mix cells made differently: it must repeat the common
 * settings and every model's definition; it may add models, variants and seeds.
 */
async function recordSettings(out: string, common: Record<string, unknown>, entries: CompareEntry[], seeds: number[], resume: boolean): Promise<void> {
  const path = join(out, SETTINGS_FILE);
  const saved = resume ? await readSettings(out) : undefined;
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

/** Where a cell stands on disk: not started (or interrupted), finished, or finished with damaged files (then run again, saying why). */
type CellState = { state: 'todo' } | { state: 'done'; file: CellFile } | { state: 'damaged'; reason: string };

/** A cell's state: finished means its metrics.json is its own and its saved test predictions are whole (scoresDamage). */
async function cellState(cell: CellInfo): Promise<CellState> {
  const metricsFile = join(cell.dir, CELL_METRICS);
  const text = await readIfExists(metricsFile, 'utf8');
  if (text === undefined) return { state: 'todo' };
  const damaged = (reason: string): CellState => ({ state: 'damaged', reason });
  let file: CellFile;
  try {
    file = JSON.parse(text) as CellFile;
  } catch {
    return damaged(`${metricsFile} is not JSON`);
  }
  if (file?.cell?.entry !== cell.entry.name || file.cell.seed !== cell.seed || !Number.isInteger(file.rows) || file.rows < 1) {
    return damaged(`${metricsFile} is not the metrics of ${cell.name}`);
  }
  const path = scoresPath(cell.dir);
  let scores: Awaited<ReturnType<typeof readScores>>;
  try {
    scores = await readScores(path, file.rows);
  } catch (e) {
    return damaged((e as Error).message);
  }
  if (scores === undefined) return damaged(`${path} is missing`);
  const problem = scoresDamage(scores, file);
  return problem === undefined ? { state: 'done', file } : damaged(`${path}: ${problem}`);
}

/** Why the comparison's saved test labels or users (written by every cell) are missing or damaged, or undefined. */
async function sharedScoresDamage(out: string, file: CellFile): Promise<string | undefined> {
  try {
    const labels = await readLabels(labelsPath(out), file.rows);
    if (labels === undefined) return `${labelsPath(out)} is missing`;
    const problem = labelsDamage(labels);
    if (problem !== undefined) return `${labelsPath(out)}: ${problem}`;
    // GAUCs need the users: a cell with one wrote them.
    const users = await readUsers(usersPath(out), file.rows);
    if (users === undefined && (file.cvr_gauc !== undefined || file.ctcvr_gauc !== undefined)) return `${usersPath(out)} is missing`;
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** A deep cell's settings that a resume of its run repeats (fit keeps the others from its checkpoint). */
function cellRunFlags(options: CompareOptions, entry: CompareEntry): Pick<FitOptions, 'epochs' | 'backend' | 'daction'> {
  const daction = entry.daction ?? options.daction;
  return {
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
    ...(options.backend !== undefined ? { backend: options.backend } : {}),
    ...(daction ? { daction } : {}),
  };
}

/** A deep cell's settings when its run starts: the entry's own (a variant's loss weights) over the comparison's. */
function cellStartFlags(
  options: CompareOptions,
  entry: CompareEntry,
  seed: number,
): Pick<FitOptions, 'model' | 'seed' | 'lossWeights' | 'batchSize' | 'lr' | 'towers' | 'embeddingDim' | 'interaction' | 'init' | 'crossLayers'> {
  const lossWeights = entry.lossWeights ?? options.lossWeights;
  return {
    model: entry.model,
    seed,
    ...(lossWeights ? { lossWeights } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.lr !== undefined ? { lr: options.lr } : {}),
    ...(options.towers ? { towers: options.towers } : {}),
    ...(options.embeddingDim !== undefined ? { embeddingDim: options.embeddingDim } : {}),
    ...(options.interaction !== undefined ? { interaction: options.interaction } : {}),
    ...(options.init !== undefined ? { init: options.init } : {}),
    ...(options.crossLayers !== undefined ? { crossLayers: options.crossLayers } : {}),
  };
}

/**
 * Checks every model and variant before the first cell trains, so a bad one
 * fails at once rather than after the cells before it: its name (a run
 * directory's), its settings as fit resolves them (loss weights, sizes…),
 * and its DAction columns against the training file's header.
 */
async function checkCells(options: CompareOptions, config: FitConfigFile, train: string, valid: string | undefined): Promise<void> {
  const names = new Set<string>();
  const columnsChecked = new Set<string>();
  for (const entry of options.entries) {
    const what = `${entry.model === entry.name ? '--models' : '--variants'} '${entry.name}'`;
    try {
      checkEntryName(entry.name);
      if (names.has(entry.name)) throw new Error('named twice');
      names.add(entry.name);
      const flags: FitFlags =
        entry.model === 'gbdt'
          ? { model: 'esm2', ...(options.daction ? { daction: options.daction } : {}) }
          : { ...cellRunFlags(options, entry), ...cellStartFlags(options, entry, options.seeds[0]!) };
      const settings = resolveFitSettings({ ...flags, data: train, ...(valid ? { valid } : {}) }, config, { backend: DEFAULT_BACKEND });
      if (entry.model !== 'gbdt') backendName(settings.backend);
      // The DAction (and every other named) column must be in the training file; an encoded directory carries its own.
      const key = JSON.stringify(settings.data ?? null);
      if (!columnsChecked.has(key) && !(await isEncodedDir(train))) {
        const dataConfig = parseDataConfig(settings.data ?? {});
        await resolveConfig(await openTable(train, dataConfig.csv), dataConfig);
        columnsChecked.add(key);
      }
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message} (checked before any cell trains)`, { cause: e });
    }
  }
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
  checkSeeds(options.seeds, '--seeds');
  if (options.entries.length === 0) throw new Error('--models: no model');
  const existing = await readdir(runsDir).catch(() => [] as string[]);
  if (existing.length > 0 && !options.resume) {
    throw new Error(`${out} already holds a comparison (${runsDir} has ${existing.length} run(s)); pass --resume to continue it, or choose another --out`);
  }
  const config = typeof options.config === 'string' ? await loadFitConfig(resolve(options.config)) : (options.config ?? {});
  const log = options.log ?? (() => {});
  for (const w of await sameDataWarnings([{ flag: '--train', path: train }, valid === undefined ? undefined : { flag: '--valid', path: valid }, { flag: '--test', path: test }])) log(w);
  await recordSettings(out, { train, valid: valid ?? null, test, config, epochs: options.epochs ?? null, lossWeights: options.lossWeights ?? null, daction: options.daction ?? null, batchSize: options.batchSize ?? null, lr: options.lr ?? null, towers: options.towers ?? null, embeddingDim: options.embeddingDim ?? null, interaction: options.interaction ?? null, init: options.init ?? null, crossLayers: options.crossLayers ?? null, backend: options.backend ?? null }, options.entries, options.seeds, options.resume ?? false);

  const cells: CellInfo[] = [];
  for (const entry of options.entries) {
    for (const seed of options.seeds) {
      const name = cellName(entry.name, seed);
      cells.push({ name, entry, seed, dir: join(runsDir, name), index: cells.length + 1, count: 0 });
    }
  }
  for (const c of cells) c.count = cells.length;

  // Every cell's settings are checked before the first one trains.
  await checkCells(options, config, train, valid);

  // Finished cells are skipped; a finished cell whose files were damaged or deleted since runs again.
  const states = new Map<CellInfo, CellState>();
  for (const cell of cells) states.set(cell, await cellState(cell));
  const finished = cells.filter((c) => states.get(c)!.state === 'done');
  if (finished.length === cells.length) {
    // Nothing left to run: the test labels and users every cell writes must be whole, else the first cell runs again to write them.
    const first = finished[0]!;
    const problem = await sharedScoresDamage(out, (states.get(first) as { file: CellFile }).file);
    if (problem !== undefined) states.set(first, { state: 'damaged', reason: problem });
  }

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
    const state = states.get(cell)!;
    if (state.state === 'done') {
      log(`cell ${cell.index}/${cell.count} ${cell.name}: finished earlier, skipped`);
      return;
    }
    if (state.state === 'damaged') log(`cell ${cell.index}/${cell.count} ${cell.name}: finished earlier, but ${state.reason}: running it again`);
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
    const result = await fit({
      out: cell.dir,
      train,
      ...(valid ? { valid } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...cellRunFlags(options, e),
      ...(resume ? { resume: true } : { config, ...cellStartFlags(options, e, cell.seed) }),
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
    const stage = options.stageProgress && ((what: string) => () => options.stageProgress!(cell, what));
    const batches = (path: string, what: string) => counted(openDataset(path, { encoders, batchSize: options.batchSize ?? 4096 }), stage?.(what));
    log(`cell ${cell.name}: reading the data for XGBoost, then training its CTR and CVR models`);
    const meta = await trainGbdt({
      schema: encoders.schema,
      train: batches(train, 'reading the training rows'),
      ...(valid ? { valid: batches(valid, 'reading the validation rows') } : {}),
      params: { seed: cell.seed },
      outDir: modelDir,
    });
    log(`cell ${cell.name}: XGBoost trained (CTR ${meta.ctr.rounds} rounds, CVR ${meta.cvr.rounds} rounds)`);
    // The encoders next to the model, so the cell can be scored again on another file.
    await writeJsonAtomic(join(cell.dir, 'encoders.json'), encoders.toJSON());
    const collector = await scoreGbdt(modelDir, batches(test, 'scoring the test rows'));
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
