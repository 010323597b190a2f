import { buildModel, checkModelSize, growState, growWeights, initWeights, MODEL_FILE, STATE_KEYS, type EngineState, type ModelArtifact, type Weights, type ZooModel } from '@esm2/core';
import { locateWarmStart, readArtifact } from '@esm2/core/node';
import { encodersExtensionProblems, encodersForSchema, extendEncoders, vocabularyRowChanges, type Encoders, type VocabularyGrowth } from '@esm2/data';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { modelOfArtifact } from './checkpoint.js';
import { describeEncoded } from './data-source.js';
import type { Lineage } from './lineage.js';
import { fitConfigSchema, flagOf, pickDefined, SETTING_FLAG_NAMES, SETTING_FLAGS, WARM_KEPT, WARM_MAY_CHANGE, type FitSettings, type SettingFlags } from './settings.js';

/** What a warm start reads of its parent. */
export interface WarmParent {
  /** The artifact directory read: RUN/checkpoint, or the artifact given. */
  dir: string;
  artifact: ModelArtifact;
  model: ZooModel;
  settings: FitSettings;
  /** The optimizer state (a checkpoint's); absent for an artifact without one (best/): the new run starts fresh state. */
  state?: EngineState;
  lineage?: Lineage;
  sha256: string;
}

/**
 * The parent of `--warm-start RUN` (core's locateWarmStart): a run
 * directory's checkpoint/ (the last epoch's weights and optimizer state),
 * else RUN itself as an artifact directory (best/, a checkpoint/). It must
 * hold the settings it was trained with (artifacts written by fit do).
 */
export async function readWarmParent(path: string): Promise<WarmParent> {
  const { dir } = await locateWarmStart(path).catch((err: Error) => Promise.reject(new Error(`--warm-start ${err.message}`)));
  const artifact = await readArtifact(dir);
  const meta = (artifact.metadata ?? {}) as { settings?: FitSettings; lineage?: Lineage };
  if (!meta.settings) throw new Error(`--warm-start ${dir}: the artifact holds no training settings (it was not written by esm2-train fit)`);
  const sha256 = createHash('sha256')
    .update(await readFile(join(dir, MODEL_FILE)))
    .digest('hex');
  return {
    dir,
    artifact,
    model: modelOfArtifact(artifact),
    settings: meta.settings,
    ...(artifact.state ? { state: artifact.state } : {}),
    ...(meta.lineage ? { lineage: meta.lineage } : {}),
    sha256,
  };
}

const show = (v: unknown) => (Array.isArray(v) ? v.join('-') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

/**
 * A warm start's settings: the parent's, with the flags of WARM_MAY_CHANGE
 * (learning rates, epochs, batch size, seed, selection, engine…) given again
 * laid over them and checked by the settings schema. A flag of WARM_KEPT
 * (the architecture) that differs from the parent's is refused naming both
 * values; given equal, it is fine. Validation data is this run's own (the
 * parent's is yesterday's); without it the parent's early stopping is
 * dropped, said through `log`.
 */
export function warmSettings(parent: WarmParent, flags: SettingFlags & { workers?: number }, train: string, valid: string | undefined, log: (m: string) => void): FitSettings {
  const p = parent.settings;
  const given = pickDefined(flags, SETTING_FLAG_NAMES);
  const train0: Record<string, unknown> = { epochs: p.epochs, batchSize: p.batchSize, seed: p.seed, shuffleBuffer: p.shuffleBuffer, backend: p.backend, ...(p.selectBy !== undefined ? { selectBy: p.selectBy } : {}) };
  const keepEarlyStop = p.earlyStop && valid !== undefined && given.selectBy === undefined;
  if (keepEarlyStop) Object.assign(train0, { earlyStop: p.earlyStop!.metric, patience: p.earlyStop!.patience });
  else if (p.earlyStop && given.earlyStop === undefined) log(`--warm-start: the parent stopped early on ${p.earlyStop.metric}; this run ${valid === undefined ? 'has no --valid' : 'selects by --select-by'}, so it does not`);
  const sections: Record<'model' | 'optimizer' | 'train', Record<string, unknown>> = { model: { ...p.model }, optimizer: { ...p.optimizer }, train: train0 };
  for (const key of WARM_MAY_CHANGE) {
    if (given[key] !== undefined) sections[SETTING_FLAGS[key]][key] = given[key];
  }
  if (given.earlyStop !== undefined && given.selectBy === undefined) delete sections.train.selectBy;
  if (given.selectBy !== undefined && given.earlyStop === undefined) delete sections.train.earlyStop;
  const parsed = fitConfigSchema.safeParse(sections);
  if (!parsed.success) throw new Error(`--warm-start ${parent.dir}: ${parsed.error.issues.map((i) => `${flagOf(String(i.path.at(-1)))}: ${i.message}`).join('; ')}`);
  // The architecture is the parent's: a flag that would change it is refused, naming the difference.
  const changes = WARM_KEPT.filter((k) => given[k] !== undefined)
    .map((k) => {
      const asked = fitConfigSchema.shape.model.safeParse({ ...p.model, [k]: given[k] });
      const value = asked.success ? asked.data[k as keyof typeof asked.data] : given[k];
      return isDeepStrictEqual(value, p.model[k as keyof typeof p.model]) ? undefined : `its model has ${k === 'model' ? 'model' : flagOf(k).slice(2).replace(/-/g, ' ')} ${show(p.model[k as keyof typeof p.model])}, ${flagOf(k)} ${show(given[k])}`;
    })
    .filter((c) => c !== undefined);
  if (changes.length > 0) {
    throw new Error(`--warm-start ${parent.dir}: ${changes.join('; ')} would change the architecture; a warm start keeps the parent's (drop the flag, or start a new run without --warm-start)`);
  }
  const { optimizer, train: t, model } = parsed.data;
  if (t.earlyStop !== undefined && valid === undefined) throw new Error(`--early-stop ${t.earlyStop} needs validation data: pass --valid <file>`);
  return {
    train,
    ...(valid ? { valid } : {}),
    model,
    optimizer,
    ...(p.data ? { data: p.data } : {}),
    epochs: t.epochs,
    batchSize: t.batchSize,
    seed: t.seed,
    shuffleBuffer: t.shuffleBuffer,
    ...(t.earlyStop !== undefined ? { earlyStop: { metric: t.earlyStop, patience: t.patience } } : {}),
    selectBy: t.earlyStop ?? t.selectBy,
    backend: t.backend ?? p.backend,
    ...(flags.workers !== undefined ? { workers: flags.workers } : p.workers !== undefined ? { workers: p.workers } : {}),
  };
}

/** How the parent's vocabularies grow: on a data file (extendEncoders), or as an encoded directory's encoders say (which must extend the parent's). */
export interface WarmEncoders {
  encoders: Encoders;
  day: number;
  growth?: VocabularyGrowth;
  trainRows?: number;
}

export interface GrowOptions {
  day?: number;
  maxIds?: number | Record<string, number>;
  evictAfterDays?: number;
}

/** The day a warm start trains on: given, else the parent's encoders' day + 1 (0 when they have none). */
export const warmDay = (parentEncoders: unknown, asked: number | undefined) => asked ?? ((parentEncoders as { day?: number }).day ?? -1) + 1;

/**
 * The parent's encoders extended on the data file `train` (every known id
 * keeps its row; new ids take freed rows, then new ones; eviction by
 * maxIds/evictAfterDays). An encoded directory was extended by
 * `data encode --warm-start`: its encoders must be an extension of the
 * parent's, else it is refused naming each problem, and the growth flags
 * (decided at encode time) are refused with it.
 */
export async function warmEncoders(parent: WarmParent, train: string, encoded: { encoders: Encoders; rows: number } | undefined, options: GrowOptions): Promise<WarmEncoders> {
  const base = encodersForSchema(parent.artifact.encoders, parent.artifact.schema, join(parent.dir, MODEL_FILE));
  if (encoded) {
    const flags = (['day', 'maxIds', 'evictAfterDays'] as const).filter((k) => options[k] !== undefined);
    if (flags.length > 0) {
      throw new Error(`${flags.map((k) => (k === 'evictAfterDays' ? '--evict-after' : flagOf(k))).join(', ')}: ${train} is encoded: its vocabularies were grown when it was encoded; give these to esm2-train data encode --warm-start`);
    }
    const problems = encodersExtensionProblems(parent.artifact.encoders, encoded.encoders.toJSON());
    if (problems.length > 0) throw new Error(`--data ${train}: its encoders are not an extension of --warm-start ${parent.dir}'s: ${problems.join('; ')}; encode it with esm2-train data encode --warm-start ${parent.dir}`);
    const day = (encoded.encoders.toJSON() as { day?: number }).day ?? warmDay(parent.artifact.encoders, undefined);
    return { encoders: encoded.encoders, day, trainRows: encoded.rows };
  }
  const day = warmDay(parent.artifact.encoders, options.day);
  let trainRows: number | undefined;
  const { encoders, growth } = await extendEncoders(base, train, {
    day,
    ...(options.maxIds !== undefined ? { maxIds: options.maxIds } : {}),
    ...(options.evictAfterDays !== undefined ? { evictAfterDays: options.evictAfterDays } : {}),
    onDone: (r: { rows: number }) => (trainRows = r.rows),
  });
  return { encoders, day, growth, ...(trainRows !== undefined ? { trainRows } : {}) };
}

/**
 * The warm-started model's start (`model`: the parent's rebuilt over the
 * grown schema): the parent's weights and optimizer state grown (core's growWeights /
 * growState: known rows kept, fresh rows a new run's — initWeights(graph,
 * seed) — with fresh optimizer state, the step count kept).
 */
export function growFromParent(parent: WarmParent, settings: FitSettings, encoders: Encoders, model: ZooModel): { weights: Weights; state?: EngineState } {
  const growth = vocabularyRowChanges(parent.artifact.encoders, encoders.toJSON());
  const weights = growWeights(model.graph, parent.artifact.weights, initWeights(model.graph, settings.seed), growth);
  if (!parent.state) return { weights };
  return { weights, state: growState(model.graph, settings.optimizer.embeddingOptimizer, parent.state, growth) };
}

/** The lineage a warm start records: its parent, the day and data it trains on, the vocabularies' growth, and the parent's ancestry. */
export function lineageOf(parent: WarmParent, day: number, data: string[], growth: VocabularyGrowth | undefined): Lineage {
  const parentDay = (parent.artifact.encoders as { day?: number }).day;
  return {
    parent: { path: parent.dir, sha256: parent.sha256, day: parentDay ?? null },
    day,
    data,
    ...(growth ? { growth } : {}),
    ancestors: parent.lineage ? [parent.lineage.parent, ...parent.lineage.ancestors] : [],
  };
}

/**
 * Everything a warm-started run starts from, before any training: the
 * parent's encoders extended on settings.train (or an encoded directory's,
 * checked to extend them), the model over the grown schema, its weights and
 * optimizer state grown (growFromParent), the rows read, and the lineage.
 * Training zero steps from here scores every old id as the parent does.
 */
export async function warmStartFrom(parent: WarmParent, settings: FitSettings, grow: GrowOptions, log: (message: string) => void) {
  const encoded = await describeEncoded(settings.train);
  if (!encoded) log(`extending the encoders of ${parent.dir} on ${settings.train}`);
  const grown = await warmEncoders(parent, settings.train, encoded ? { encoders: encoded.encoders, rows: encoded.manifest.rows } : undefined, grow);
  const model = buildModel(grown.encoders.schema, settings.model);
  checkModelSize(model, totalmem()); // before any weight is allocated
  const { weights, state } = growFromParent(parent, settings, grown.encoders, model);
  log(`warm start from ${parent.dir} (optimizer step ${parent.state?.get(STATE_KEYS.step)?.data[0] ?? 0}${parent.state ? '' : '; it holds no optimizer state: fresh state'}), day ${grown.day}`);
  for (const [field, g] of Object.entries(grown.growth ?? {})) {
    const evicted = g.evictedIds.length > 0 ? ` (${g.evictedIds.join(', ')}${g.evicted > g.evictedIds.length ? ', …' : ''})` : '';
    log(`  ${field}: ${g.size} rows; ${g.known} known, ${g.added} added, ${g.reused} reused, ${g.evicted} evicted${evicted}`);
  }
  return {
    model,
    schema: grown.encoders.schema,
    encoders: grown.encoders.toJSON() as unknown,
    encodersObj: grown.encoders,
    settings,
    start: { weights, ...(state ? { state } : {}) },
    ...(grown.trainRows !== undefined ? { trainRows: grown.trainRows } : {}),
    lineage: lineageOf(parent, grown.day, [settings.train], grown.growth),
  };
}
