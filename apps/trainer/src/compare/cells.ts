import { scoreGbdt, trainGbdt } from '@esm2/baseline-xgboost';
import { writeJsonAtomic } from '@esm2/core/node';
import { fitEncoders, isEncodedDir, type Batch, openDataset, openTable, parseDataConfig, resolveConfig, type Encoders } from '@esm2/data';
import { join } from 'node:path';
import { fit, type FitOptions } from '../api.js';
import { hasCheckpoint } from '../train/checkpoint.js';
import { backendName, DEFAULT_BACKEND } from '../train/engines.js';
import { resolveFitSettings, type FitConfigFile, type FitFlags } from '../train/fit-config.js';
import { runPaths } from '../train/run-dir.js';
import { scoreArtifact } from '../train/score-artifact.js';
import { omit, pickDefined, RESUME_KEPT } from '../train/settings.js';
import { CELL_METRICS, COMPARE_SETTINGS, type CellFile, type CellInfo, type CompareOptions, type CompareSetting, type StageProgress } from './options.js';
import type { CellState } from './resume.js';
import { saveTestPass } from './scores.js';
import { checkEntryName, type CompareEntry } from './spec.js';

const GBDT_MODEL_DIR = 'gbdt';

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

/**
 * A deep cell's fit settings: the comparison's (COMPARE_SETTINGS) with the
 * entry's own over them (a variant's loss weights or DAction), its model and seed.
 */
function cellSettings(options: CompareOptions, entry: CompareEntry, seed: number): Pick<FitOptions, CompareSetting | 'model' | 'seed'> {
  return { model: entry.model, seed, ...pickDefined(options, COMPARE_SETTINGS), ...pickDefined(entry, ['lossWeights', 'daction']) };
}

/**
 * Checks every model and variant before the first cell trains, so a bad one
 * fails at once rather than after the cells before it: its name (a run
 * directory's), its settings as fit resolves them (loss weights, sizes…),
 * and its DAction columns against the training file's header.
 */
export async function checkCells(options: CompareOptions, config: FitConfigFile, train: string, valid: string | undefined): Promise<void> {
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
          : cellSettings(options, entry, options.seeds[0]!);
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
/** What every cell of one comparison shares: its options, the resolved paths, the fit config and the log. */
export interface CompareRun {
  options: CompareOptions;
  out: string;
  train: string;
  valid: string | undefined;
  test: string;
  config: FitConfigFile;
  log: (message: string) => void;
}

/** The GBDT cells share one set of encoders, fitted once (on first use) on the training file with the comparison's data settings. */
export function gbdtEncoders(run: CompareRun): () => Promise<Encoders> {
  let encoders: Promise<Encoders> | undefined;
  return () =>
    (encoders ??= (() => {
      const { options, train, config, log } = run;
      const settings = resolveFitSettings({ data: train, model: 'esm2', ...(options.daction ? { daction: options.daction } : {}) }, config, { backend: DEFAULT_BACKEND });
      log(`fitting the GBDT encoders on ${train}`);
      return fitEncoders(train, settings.data);
    })());
}

/** Runs a cell that is not finished (again, saying why, when its files were damaged) and writes its metrics.json; a finished one is skipped. */
export async function runCell(run: CompareRun, cell: CellInfo, state: CellState, encodersForGbdt: () => Promise<Encoders>): Promise<void> {
  const { log } = run;
  const metricsFile = join(cell.dir, CELL_METRICS);
  if (state.state === 'done') {
    log(`cell ${cell.index}/${cell.count} ${cell.name}: finished earlier, skipped`);
    return;
  }
  if (state.state === 'damaged') log(`cell ${cell.index}/${cell.count} ${cell.name}: finished earlier, but ${state.reason}: running it again`);
  log(`cell ${cell.index}/${cell.count} ${cell.name}: ${cell.entry.model}, seed ${cell.seed}`);
  const file = cell.entry.model === 'gbdt' ? await gbdtCell(run, cell, await encodersForGbdt()) : await deepCell(run, cell);
  await writeJsonAtomic(metricsFile, file, { mkdirs: true });
  log(`cell ${cell.index}/${cell.count} ${cell.name}: finished (test ctcvr_auc ${file.ctcvr_auc?.toFixed(4) ?? '-'})`);
}

/** A deep cell: trained (or continued from its checkpoint) by `fit()`, its best epoch scored on the test file. */
async function deepCell(run: CompareRun, cell: CellInfo): Promise<CellFile> {
  const { options, out, train, valid, test, config, log } = run;
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
    // A run being continued keeps what it was started with: fit takes again only what a resume may change (epochs, backend) and the DAction it checks.
    ...(resume ? { resume: true, ...omit(cellSettings(options, e, cell.seed), RESUME_KEPT) } : { config, ...cellSettings(options, e, cell.seed) }),
    ...(options.reporter ? { reporter: options.reporter(cell) } : {}),
  });
  const { scores, encoders, engine } = await scoreArtifact(result.bestArtifact, test, { backend: result.settings.backend, threads: options.threads ?? 2 });
  const metrics = scores.evaluate();
  await saveTestPass(scores, cell.dir, out);
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
  return { cell: { name: cell.name, entry: e.name, model: e.model, seed: cell.seed, settings }, data: test, engine, ...metrics };
}

/** A GBDT cell: XGBoost's CTR and CVR models trained into its `gbdt/`, scored on the test file. */
async function gbdtCell(run: CompareRun, cell: CellInfo, encoders: Encoders): Promise<CellFile> {
  const { options, out, train, valid, test, log } = run;
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
}
