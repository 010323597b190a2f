import { buildModel, checkModelSize, MODEL_FILE, type Esm2Metrics, type ModelConfig } from '@esm2/core';
import { namedPath, refuseSamePaths } from '@esm2/core/node';
import { DataError, encodersForSchema, fitEncoders, type Encoders } from '@esm2/data';
import { access } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { hasCheckpoint, readCheckpoint } from './train/checkpoint.js';
import { describeEncoded, runData } from './train/data-source.js';
import { backendName, DEFAULT_BACKEND, defaultWorkers, trainerFactory, type BackendName, type BackendOptions } from './train/engines.js';
import { loadFitConfig, resolveFitSettings, type FitConfigFile, type FitFlags } from './train/fit-config.js';
import { formatBaseRates, initialWeights } from './train/init.js';
import { epochRunSettings, fitLoop, isEpochTrainerFactory, type FitRun, type LoopReporter } from './train/loop.js';
import type { EngineFactory } from '@esm2/core';
import type { EpochTrainerFactory } from '@esm2/core/backend';
import { lockRunDir, runPaths, type RunPaths } from './train/run-dir.js';
import { flagOf, pickDefined, RESUME_KEPT, WARM_MAY_CHANGE, type FitSettings, type LoopPosition } from './train/settings.js';
import { readWarmParent, warmSettings, warmStartFrom } from './train/warm-start.js';
import { sameDataWarnings } from './train/same-data.js';
import { TORCH_LAUNCH_KEYS, type TorchLaunchOptions } from './train/torch-options.js';

/**
 * What `fit()` takes: the `fit` command's flags as an object. Paths are
 * absolute or relative to the current directory. Everything but `out` (and
 * `train`/`model` for a new run) has a default; `config` is a fit config
 * file path or its parsed content, and the other options override it.
 *
 * The torch backend's launch (TorchLaunchOptions; it trains from a `data
 * encode` directory): ranks on this machine under torchrun (without any of
 * them, one python process), machines and this one's number, node 0's
 * address and port, restarts of the group after a rank fails, and the steps
 * between the mid-epoch checkpoints a restarted group resumes from.
 * Run-time settings, not saved with the run.
 */
export interface FitOptions extends Omit<FitFlags, 'data' | 'backend'>, TorchLaunchOptions {
  /**
   * Training data: .csv, .tsv or .parquet, or a directory written by
   * `esm2-train data encode` (its encoders are used instead of fitting new
   * ones). Required for a new run; with `resume`, points at moved data.
   */
  train?: string;
  /** Run directory: best/ (the best epoch's artifact), checkpoint/, history.json. */
  out: string;
  config?: string | FitConfigFile;
  /** Training engine: 'onnx' (default), 'tfjs' (needs the optional package @esm2/backend-tfjs) or 'torch' (@esm2/backend-torch and PyTorch; encoded data). */
  backend?: BackendName;
  /**
   * onnx engine: sessions computing shares of each batch's gradients
   * concurrently (default: the cores; saved with the run, which a resume
   * keeps unless given again).
   */
  workers?: number;
  /** Intra-op threads of each onnx session (default 1 with workers > 1, else 2) and whether idle threads spin. */
  threads?: number;
  spinning?: boolean;
  /** Continue the run in `out` from its last checkpoint with its saved settings. */
  resume?: boolean;
  /**
   * Warm start: train a new run (in a new `out`) from this model — a run
   * directory (its checkpoint/: weights and optimizer state) or an artifact
   * directory (best/: weights, fresh optimizer state) — on new data, with
   * the parent's settings (WARM_MAY_CHANGE may be given again) and its
   * encoders extended on `train` (or `train` encoded by `data encode
   * --warm-start`). Known ids keep their rows, new ids get new ones; the
   * artifacts record the lineage.
   */
  warmStart?: string;
  /** The day of `train` (default: the parent's encoders' day + 1, or 0); ids seen are stamped with it. */
  day?: number;
  /** Most ids a vocabulary keeps (one number for all, or per field); kept in the encoders for the next warm starts. */
  maxIds?: number | Record<string, number>;
  /** Evict ids not seen for this many days; kept in the encoders for the next warm starts. */
  evictAfterDays?: number;
  /** Progress and log callbacks; silent when absent. */
  reporter?: LoopReporter;
}

export interface FitResult {
  /** The run directory and what it holds. */
  dir: string;
  /** The artifact of the best epoch: give it to `esm2-train export`/`eval`, or to `Scorer.load` of @esm2/scorer. */
  bestArtifact: string;
  checkpoint: string;
  history: string;
  /** Where the loop ended: epochs and steps done, the best epoch, per-epoch history. */
  position: LoopPosition;
  /** Validation metrics of the best epoch (with `valid`). */
  metrics?: Esm2Metrics;
  /** The engine that trained, e.g. "onnxruntime-node 1.30.0, cpu, 2 threads". */
  engine: string;
  settings: FitSettings;
}

async function mustExist(path: string, flag: string): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new Error(`${flag} ${path}: no such file`);
  }
}

/**
 * A run directory must not be an input, lie inside an input directory
 * (`fit --data t.enc --out t.enc/run` puts the run among the shards, which
 * the next `data encode --out t.enc` would delete), or hold an input
 * (`--out runs` with `--data runs/t.enc`): by any spelling, symlinks too.
 */
async function refuseRunOverlaps(dir: string, inputs: { train?: string | undefined; valid?: string | undefined; config?: string | undefined; warmStart?: string | undefined }): Promise<void> {
  await refuseSamePaths(
    [namedPath('--data', inputs.train), namedPath('--valid', inputs.valid), namedPath('--config', inputs.config), namedPath('--warm-start', inputs.warmStart)],
    [{ flag: '--out', path: dir }],
  );
}

/**
 * Trains a zoo model exactly as `esm2-train fit` does (the command calls
 * this): fits the encoders on `train`, trains with per-epoch validation,
 * early stopping and resumable checkpoints, and keeps the best epoch's
 * artifact in `<out>/best`.
 */
export async function fit(options: FitOptions): Promise<FitResult> {
  const paths = runPaths(resolve(options.out));
  const report = options.reporter ?? {};
  if (options.backend !== undefined) backendName(options.backend);
  // Before the run directory is created or locked: it must not be, hold or lie inside what the run reads.
  await refuseRunOverlaps(paths.dir, {
    train: options.train,
    valid: options.valid,
    config: typeof options.config === 'string' ? options.config : undefined,
    warmStart: options.resume ? undefined : options.warmStart,
  });
  // One fit per run directory; --out is checked (a file? not writable?) before any data is read.
  const lock = await lockRunDir(paths.dir, { onTakeover: (m) => report.log?.(m) });
  try {
    return await fitLocked(options, paths, report);
  } finally {
    await lock.release();
  }
}

async function fitLocked(options: FitOptions, paths: RunPaths, report: LoopReporter): Promise<FitResult> {
  const train = options.train === undefined ? undefined : resolve(options.train);
  const valid = options.valid === undefined ? undefined : resolve(options.valid);
  for (const w of await sameDataWarnings([namedPath('--data', train), namedPath('--valid', valid)])) report.log?.(w);
  let run: RunStart;
  let factory: EngineFactory | EpochTrainerFactory;
  if (options.resume) {
    if (!(await hasCheckpoint(paths.checkpoint))) throw new Error(`--resume: ${paths.checkpoint} holds no checkpoint to resume from`);
    const ckpt = await readCheckpoint(paths.checkpoint);
    const ignored = (['config', ...RESUME_KEPT, ...WARM_START_KEYS] as const).filter((k) => options[k] !== undefined);
    if (ignored.length > 0) report.log?.(`--resume: ignoring ${ignored.map(optionFlag).join(', ')}; the run keeps its saved settings${ignored.includes('warmStart') ? ' (its warm start is not redone)' : ''}`);
    const encodersObj = encodersForSchema(ckpt.artifact.encoders, ckpt.artifact.schema, join(paths.checkpoint, MODEL_FILE));
    refuseDactionChange(options.daction, encodersObj.config.labels.daction, paths.dir, 'run');
    // Data may have moved since: --data/--valid point at it again (the saved encoders still decide how it is read).
    const settings: FitSettings = {
      ...ckpt.settings,
      ...(train ? { train } : {}),
      ...(valid ? { valid } : {}),
      epochs: options.epochs ?? ckpt.settings.epochs,
      backend: options.backend ?? ckpt.settings.backend,
      workers: options.workers ?? ckpt.settings.workers ?? defaultWorkers(),
    };
    await refuseRunOverlaps(paths.dir, settings); // the saved data paths too (a run started before this check existed)
    await mustExist(settings.train, '--data');
    if (settings.valid) await mustExist(settings.valid, '--valid');
    factory = await loadTrainer(settings, options);
    report.log?.(`resuming ${paths.dir} after epoch ${ckpt.position.epoch} (step ${ckpt.position.step}) of ${settings.epochs}`);
    run = {
      model: ckpt.model,
      schema: ckpt.artifact.schema,
      encoders: ckpt.artifact.encoders,
      encodersObj,
      settings,
      start: { weights: ckpt.artifact.weights, state: ckpt.state, position: ckpt.position },
      ...(ckpt.lineage ? { lineage: ckpt.lineage } : {}),
    };
  } else if (options.warmStart !== undefined) {
    if (await hasCheckpoint(paths.checkpoint)) {
      throw new Error(`${paths.dir} already holds a run; a warm start trains a new run: choose another --out`);
    }
    ({ run, factory } = await warmStartRun(options, options.warmStart, train, valid, report));
  } else {
    const growFlags = (['day', 'maxIds', 'evictAfterDays'] as const).filter((k) => options[k] !== undefined);
    if (await hasCheckpoint(paths.checkpoint)) {
      throw new Error(`${paths.dir} already holds a run; pass --resume to continue it, or choose another --out`);
    }
    const cfg = typeof options.config === 'string' ? await loadFitConfig(resolve(options.config)) : (options.config ?? {});
    const flags: FitFlags = { ...options, data: train, valid };
    const settings: FitSettings = { ...resolveFitSettings(flags, cfg, { backend: DEFAULT_BACKEND }), workers: options.workers ?? defaultWorkers() };
    await mustExist(settings.train, '--data');
    if (settings.valid) await mustExist(settings.valid, '--valid');
    factory = await loadTrainer(settings, options); // fail on a bad or missing backend before reading any data
    let trainRows: number | undefined;
    let encoders: Encoders;
    const encoded = await describeEncoded(settings.train);
    if (encoded) {
      // Encoded once by `data encode`: its encoders decided every id; a data config or --daction can no longer change them.
      encoders = encoded.encoders;
      trainRows = encoded.manifest.rows;
      if (growFlags.length > 0) throw new Error(`${growFlags.map(optionFlag).join(', ')}: ${settings.train} is encoded with its own encoders; give these to esm2-train data encode`);
      if (options.daction) refuseDactionChange(options.daction, encoders.config.labels.daction, settings.train, 'encoded');
      else if (settings.data) report.log?.(`note: the fit config's data section is not used: ${settings.train} was encoded with its own encoders`);
      report.log?.(`encoders and ${trainRows} encoded rows from ${settings.train}`);
    } else {
      report.log?.(`fitting encoders on ${settings.train}`);
      // --day, --max-ids, --evict-after: encoders that will grow (version 2, with last-seen days and limits) for later warm starts.
      encoders = await fitEncoders(settings.train, settings.data, { ...pickDefined(options, ['day', 'maxIds', 'evictAfterDays']), onDone: (r) => (trainRows = r.rows) }).catch((err: unknown) => {
        // A --daction column the file lacks: say which flag asked for it (the message names the file and lists its columns).
        const column = err instanceof DataError ? err.location.column : undefined;
        throw options.daction && column !== undefined && options.daction.includes(column) ? new Error(`--daction ${options.daction.join(',')}: ${(err as Error).message}`) : err;
      });
    }
    report.log?.(`DAction: ${encoders.config.labels.daction.length > 0 ? encoders.config.labels.daction.join(' OR ') : 'none'}`);
    const model = buildModel(encoders.schema, settings.model);
    checkModelSize(model, totalmem()); // before any weight is allocated
    if (settings.model.init === 'calibrated' && encoders.baseRates) report.log?.(`calibrated start: base rates ${formatBaseRates(encoders.baseRates)}`);
    const warning = missingLabelWarning(settings.train, settings.model, encoders.config.labels);
    if (warning) report.log?.(warning);
    run = {
      model,
      schema: encoders.schema,
      encoders: encoders.toJSON(),
      encodersObj: encoders,
      settings,
      start: { weights: initialWeights(model, settings.seed, encoders.baseRates) },
      ...(trainRows !== undefined ? { trainRows } : {}),
    };
    const fields = encoders.schema.fields.map((f) => (f.kind === 'numeric' ? f.name : `${f.name}(${f.encoding.kind === 'vocabulary' ? f.encoding.size : f.encoding.buckets})`));
    report.log?.(`${settings.model.model}: ${trainRows ?? '?'} training rows; fields ${fields.join(' ')}; towers ${settings.model.towers.join('-')}, dim ${settings.model.embeddingDim}`);
  }
  const { settings, encodersObj } = run;
  const data = await runData(settings, encodersObj, run.encoders, !isEpochTrainerFactory(factory));
  const outcome = await fitLoop({
    ...run,
    ...data,
    factory,
    paths,
    reporter: report,
  });
  return {
    dir: paths.dir,
    bestArtifact: paths.best,
    checkpoint: paths.checkpoint,
    history: paths.history,
    position: outcome.position,
    ...(outcome.best ? { metrics: outcome.best } : {}),
    engine: outcome.engine,
    settings,
  };
}

/** The warm start and vocabulary growth options: a resume ignores them (its encoders are saved; its warm start is not redone). */
const WARM_START_KEYS = ['warmStart', 'day', 'maxIds', 'evictAfterDays'] as const;
/** The flag of an option of fit(): flagOf, but for --evict-after (evictAfterDays). */
const optionFlag = (k: string) => (k === 'evictAfterDays' ? '--evict-after' : flagOf(k));

type RunStart = Omit<FitRun, 'trainBatches' | 'validBatches' | 'factory' | 'paths' | 'reporter'> & { encodersObj: Encoders };

/**
 * A warm start: the parent's settings (WARM_MAY_CHANGE given again), its
 * encoders extended on the new data (or the encoded data's, which must
 * extend them), its weights and optimizer state grown to the new tables,
 * at the position of a new run, with the lineage recorded.
 */
async function warmStartRun(
  options: FitOptions,
  from: string,
  train: string | undefined,
  valid: string | undefined,
  report: LoopReporter,
): Promise<{ run: RunStart; factory: EngineFactory | EpochTrainerFactory }> {
  if (options.config !== undefined) throw new Error(`--config: a warm start takes its parent's settings; give the ones that may change as flags (${WARM_MAY_CHANGE.map(flagOf).join(', ')})`);
  if (train === undefined) throw new Error('--data <file> is required: the new data a warm start trains on');
  const parent = await readWarmParent(resolve(from));
  refuseDactionChange(options.daction, encodersForSchema(parent.artifact.encoders, parent.artifact.schema, join(parent.dir, MODEL_FILE)).config.labels.daction, parent.dir, 'warm');
  const settings = warmSettings(parent, options, train, valid, (m) => report.log?.(m));
  settings.workers ??= defaultWorkers();
  await mustExist(settings.train, '--data');
  if (settings.valid) await mustExist(settings.valid, '--valid');
  const factory = await loadTrainer(settings, options);
  return { factory, run: await warmStartFrom(parent, settings, pickDefined(options, ['day', 'maxIds', 'evictAfterDays']), (m) => report.log?.(m)) };
}

/**
 * The run's backend, checked before any data is read (an epoch trainer
 * refuses data it cannot read, or a machine without its runtime). Threads,
 * spinning and the torch launch are run-time settings, not saved with the
 * run: a resumed run takes them again.
 */
async function loadTrainer(settings: FitSettings, options: FitOptions): Promise<EngineFactory | EpochTrainerFactory> {
  const torch = pickDefined(options, TORCH_LAUNCH_KEYS);
  const backendOptions: BackendOptions = {
    workers: settings.workers ?? 1,
    threads: options.threads ?? ((settings.workers ?? 1) > 1 ? 1 : 2),
    spinning: options.spinning ?? false,
    torch,
  };
  const factory = await trainerFactory(settings.backend, backendOptions);
  if (isEpochTrainerFactory(factory)) await factory.check(epochRunSettings(settings));
  else if (Object.keys(torch).length > 0) throw new Error(`${flagOf(Object.keys(torch)[0]!)} is a torch backend option; this run trains with --backend ${settings.backend}`);
  return factory;
}

/**
 * A resumed run keeps its DAction definition, and encoded data keeps the one
 * it was encoded with: a different --daction would change what the saved
 * encoders, epochs or rows mean.
 */
function refuseDactionChange(asked: string[] | undefined, saved: string[], dir: string, kind: 'run' | 'encoded' | 'warm'): void {
  if (asked === undefined) return;
  const same = asked.length === saved.length && [...asked].sort().join('\0') === [...saved].sort().join('\0');
  if (!same) {
    const was = saved.length > 0 ? saved.join(',') : 'none';
    throw new Error(
      kind === 'warm'
        ? `--warm-start ${dir} was trained with DAction = ${was}; --daction ${asked.join(',')} would change what its towers learnt: drop --daction`
        : kind === 'run'
        ? `--resume: ${dir} was trained with DAction = ${was}; --daction ${asked.join(',')} would change it. The run keeps its settings: drop --daction, or start a new run with another --out`
        : `--daction ${asked.join(',')}: ${dir} was encoded with DAction = ${was}; drop --daction, or encode the file again with that DAction (esm2-train data encode --config)`,
    );
  }
}

/**
 * ESM2 learns DAction from a label; data without one (Ali-CCP has click and
 * purchase only) reads it as all zeros, and the model quietly becomes
 * something else. Said once, before training, with what to do instead.
 */
export function missingLabelWarning(file: string, model: ModelConfig, labels: { daction: string[] }): string | undefined {
  if (model.model !== 'esm2' || labels.daction.length > 0) return undefined;
  const w = model.lossWeights;
  return (
    `warning: ${file} has no DAction label column (cart, fav, wish… or the data config's labels.daction), so ESM2 reads DAction as 0 on every row: ` +
    `its CTAVR loss${w.ctavr > 0 ? ` (weight ${w.ctavr})` : ''} drives the DAction tower y2 to 0, pCTAVR to 0 and pCVR to y4 alone, which makes ESM2 an ESMM (pCTCVR = pCTR × pCVR) with two idle towers. ` +
    `Train --model esmm for that, or name the DAction columns in the data config.`
  );
}
