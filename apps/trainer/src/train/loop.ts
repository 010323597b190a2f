import {
  artifactFromModel,
  type EngineFactory,
  type EngineState,
  type Esm2Metrics,
  type FeatureSchema,
  type TrainingEngine,
  type Weights,
  type ZooModel,
} from '@esm2/core';
import type { EpochModel, EpochPosition, EpochReporter, EpochRun, EpochRunSettings, EpochTrainer, EpochTrainerFactory, TrainedEpoch } from '@esm2/core/backend';
import { writeArtifact, writeJsonAtomic } from '@esm2/core/node';
import { batchToFeeds, type Batch } from '@esm2/data';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeCheckpoint } from './checkpoint.js';
import { epochSeed } from './data-source.js';
import { evaluateDataset } from './evaluate.js';
import { improves, metricKey, type MetricKey } from './metric-key.js';
import type { RunPaths } from './run-dir.js';
import type { EpochRecord, FitSettings, LoopPosition } from './settings.js';
import type { Lineage } from './lineage.js';
import { jsonSafe } from './write-json.js';

/** How runs saved before FitSettings.selectBy existed pick their best epoch (a resume keeps it). */
export const LEGACY_SELECTION_METRIC = 'ctcvr_auc';

/** What the loop tells the outside world (progress bars, logs); all optional. An epoch trainer gets its EpochReporter part. */
export interface LoopReporter extends EpochReporter {
  epochEnd?(record: EpochRecord, improved: boolean): void;
}

export const isEpochTrainerFactory = (f: EngineFactory | EpochTrainerFactory): f is EpochTrainerFactory => 'kind' in f && f.kind === 'epochs';

/** What an epoch trainer is asked to train (EpochTrainerFactory.check gets it before any data is read). */
export const epochRunSettings = (settings: Pick<FitSettings, 'train' | 'batchSize' | 'epochs' | 'optimizer'>): EpochRunSettings => ({
  data: settings.train,
  batchSize: settings.batchSize,
  epochs: settings.epochs,
  optimizer: settings.optimizer,
});

/** The run as an epoch trainer sees it (@esm2/core/backend's EpochRun): its scratch directory is `<run>/<backend name>`. */
export function epochRun(run: FitRun, factory: EpochTrainerFactory): EpochRun {
  return {
    ...epochRunSettings(run.settings),
    model: run.model,
    weights: run.start.weights,
    ...(run.start.state ? { state: run.start.state } : {}),
    seed: (epoch) => epochSeed(run.settings, epoch),
    scratchDir: join(run.paths.dir, factory.name),
    ...(run.reporter ? { reporter: run.reporter } : {}),
  };
}

export interface FitRun {
  /** A step engine the loop drives batch by batch, or an epoch trainer. */
  factory: EngineFactory | EpochTrainerFactory;
  model: ZooModel;
  schema: FeatureSchema;
  /** The data layer's encoders JSON, saved with every artifact so scoring reads columns as training did. */
  encoders: unknown;
  settings: FitSettings;
  paths: RunPaths;
  /** Batches of epoch `epoch` (1-based); their shuffle must depend only on (settings.seed, epoch). */
  trainBatches(epoch: number): AsyncIterable<Batch>;
  validBatches?(): AsyncIterable<Batch>;
  /** Fresh weights, or a checkpoint's weights with its optimizer state and position. */
  start: { weights: Weights; state?: EngineState; position?: LoopPosition };
  trainRows?: number;
  reporter?: LoopReporter;
  /** A warm-started run's lineage, in the metadata of best/ and checkpoint/ (absent otherwise: no key). */
  lineage?: Lineage;
}

export interface FitOutcome {
  position: LoopPosition;
  best?: Esm2Metrics;
  engine: string;
}

/**
 * The training loop, backend-neutral: it sees an EngineFactory and batches,
 * or an EpochTrainerFactory, nothing else. Per epoch: train, validate (ESM2 metrics), keep the best
 * artifact, then write the checkpoint (atomically), then history.json — so
 * a kill at any moment resumes from the last finished epoch.
 */
export async function fitLoop(run: FitRun): Promise<FitOutcome> {
  const { settings, paths, model } = run;
  const report = run.reporter ?? {};
  if (settings.earlyStop && !run.validBatches) throw new Error(`early stopping on ${settings.earlyStop.metric} needs validation data (--valid)`);
  // With validation data the best epoch is chosen by a metric even without early stopping (later epochs can overfit the ids).
  const selectBy = settings.earlyStop?.metric ?? (run.validBatches ? (settings.selectBy ?? LEGACY_SELECTION_METRIC) : undefined);
  const key: MetricKey | undefined = selectBy ? metricKey(selectBy) : undefined;
  const position: LoopPosition = structuredClone(run.start.position) ?? { epoch: 0, step: 0, badEpochs: 0, stopped: false, history: [] };
  if (run.trainRows !== undefined) position.trainRows = run.trainRows;

  const trainer = isEpochTrainerFactory(run.factory) ? await run.factory.create(epochRun(run, run.factory)) : await stepTrainer(run.factory, run);
  report.log?.(`engine: ${trainer.name} — ${trainer.description}`);
  let best: Esm2Metrics | undefined;
  let warnedUndefined = false;
  try {
    if (position.stopped) report.log?.(`this run already stopped early at epoch ${position.epoch}`);
    if (position.stopped || position.epoch >= settings.epochs) return { position, engine: trainer.description };
    for await (const trained of trainer.epochs(position)) {
      const { epoch, model: engine } = trained;
      if (!Number.isFinite(trained.losses.loss)) {
        throw new Error(`training diverged: loss is ${trained.losses.loss} in epoch ${epoch}; lower --lr or set optimizer.clipNorm`);
      }
      const record = epochRecord(epoch, trained.losses, trained.rows, trained.seconds);
      let improved = true;
      if (run.validBatches) {
        const metrics = await evaluateDataset(engine, model, run.validBatches());
        Object.assign(record, metrics);
        const value = key?.read(metrics);
        if (key && (value === undefined || Number.isNaN(value))) {
          // The task has no positives (or no negatives) in the validation data: the metric cannot rank epochs.
          const why = `${key.name} is undefined on the validation data ${settings.valid ?? ''} (it has no positives or no negatives for that task)`;
          if (settings.earlyStop) throw new Error(`cannot stop early: ${why}; choose another --early-stop metric or more validation data`);
          if (!warnedUndefined) report.log?.(`warning: ${why}, so the best epoch cannot be chosen by it: best/ holds the latest epoch`);
          warnedUndefined = true;
          improved = true;
        } else {
          improved = key ? improves(key, value, position.best?.value) : true;
          if (key && improved) position.best = { epoch, value: value!, metric: key.name };
        }
        if (improved) best = metrics;
      }
      position.badEpochs = improved ? 0 : position.badEpochs + 1;
      position.epoch = epoch;
      position.history.push(record);
      // Stopping early means stopping before the last epoch; running out of patience on the last one changes nothing.
      if (settings.earlyStop && position.badEpochs >= settings.earlyStop.patience && epoch < settings.epochs) position.stopped = true;
      report.epochEnd?.(record, improved);
      if (improved) await writeBest(run, engine, record);
      await writeCheckpoint(paths.checkpoint, run, engine, position);
      await writeJsonAtomic(paths.history, position.history, { mkdirs: true });
      report.log?.(`checkpoint: epoch ${epoch} saved`);
      if (position.stopped) {
        report.log?.(`early stop: ${settings.earlyStop!.metric} has not improved for ${position.badEpochs} epoch(s); best epoch ${position.best?.epoch}`);
        break;
      }
    }
    return { position, engine: trainer.description, ...(best ? { best } : {}) };
  } finally {
    trainer.dispose();
  }
}

/** A step engine as an epoch trainer: each epoch's batches stepped through in this process. */
async function stepTrainer(factory: EngineFactory, run: FitRun): Promise<EpochTrainer> {
  const engine = await factory.create({ model: run.model, weights: run.start.weights, optimizer: run.settings.optimizer });
  try {
    if (run.start.state) engine.setState(run.start.state);
  } catch (e) {
    engine.dispose();
    throw e;
  }
  return {
    name: engine.name,
    description: engine.description,
    async *epochs(position) {
      for (let epoch = position.epoch + 1; epoch <= run.settings.epochs; epoch++) yield { ...(await trainEpoch(engine, run, epoch, position)), model: engine };
    },
    dispose: () => engine.dispose(),
  };
}

async function trainEpoch(engine: TrainingEngine, run: FitRun, epoch: number, position: EpochPosition): Promise<Omit<TrainedEpoch, 'model'>> {
  run.reporter?.epochStart?.(epoch, run.settings.epochs, position.trainRows);
  const sums: Record<string, number> = {};
  let rows = 0;
  let steps = 0;
  const t0 = performance.now();
  for await (const { batch, result: { losses } } of readAhead(run.trainBatches(epoch), (b) => engine.step(batchToFeeds(run.model.graph, b)))) {
    position.step++;
    steps++;
    rows += batch.size;
    if (!Number.isFinite(losses.loss)) {
      throw new Error(`training diverged: loss is ${losses.loss} at epoch ${epoch}, step ${position.step}; lower --lr or set optimizer.clipNorm`);
    }
    for (const [k, v] of Object.entries(losses)) sums[k] = (sums[k] ?? 0) + v * batch.size;
    run.reporter?.step?.(rows, losses.loss!);
  }
  if (steps === 0) throw new Error(`${run.settings.train}: no training batches`);
  if (position.trainRows === undefined) position.trainRows = rows;
  const seconds = (performance.now() - t0) / 1000;
  return { epoch, losses: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / rows])), rows, seconds };
}

/** An epoch's history line before validation: its mean losses over `rows` rows and its speed. */
export function epochRecord(epoch: number, losses: Record<string, number>, rows: number, seconds: number): EpochRecord {
  return { epoch, train_loss: losses.loss!, train_losses: losses, seconds: round(seconds, 2), samples_per_s: Math.round(rows / seconds) };
}

/**
 * Steps through `batches`, asking for the next batch as soon as a step has
 * started, so reading (or gathering) it overlaps the step, whose sessions
 * run off this thread. Each batch's own arrays stay with its step (the
 * readers hand out fresh arrays per batch). Errors of either side surface
 * here, in order; the iterator is closed however the loop ends.
 */
export async function* readAhead<T>(batches: AsyncIterable<Batch>, step: (batch: Batch) => Promise<T>): AsyncGenerator<{ batch: Batch; result: T }> {
  const it = batches[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const current = await next;
      if (current.done) return;
      const stepping = step(current.value);
      next = it.next();
      // A failing step leaves `next` unawaited: its own failure is not an unhandled rejection.
      next.catch(() => undefined);
      const result = await stepping;
      yield { batch: current.value, result };
    }
  } finally {
    await it.return?.();
  }
}

async function writeBest(run: FitRun, engine: EpochModel, record: EpochRecord): Promise<void> {
  const metadata = jsonSafe({ kind: 'model', epoch: record.epoch, engine: engine.description, settings: run.settings, metrics: record, ...(run.lineage ? { lineage: run.lineage } : {}) });
  await writeArtifact(run.paths.best, artifactFromModel(run.model, run.schema, engine.getWeights(), { encoders: run.encoders, metadata }));
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
