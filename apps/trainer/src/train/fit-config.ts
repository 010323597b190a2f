import { checkSeed, DEFAULT_OPTIMIZER, MODEL_NAMES, SEED_MAX, modelConfigSchema, parseModelConfig, zodProblems, type ModelConfigInput, type OptimizerConfig } from '@esm2/core';
import { readInputFile } from '@esm2/core/node';
import { dataConfigSchema, type DataConfigInput } from '@esm2/data';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { METRIC_NAMES, metricKey } from './metric-key.js';
import type { FitSettings } from './settings.js';

/**
 * The fit config file (`--config cfg.yaml`, YAML or JSON). Every section and
 * key is optional; flags override it. A commented example with every key is
 * apps/trainer/examples/fit-config.yaml. Unknown keys anywhere (a misspelt
 * `embedingDim`) are errors naming the key's path and the file.
 *
 *   model:     { model: esm2, towers: [256, 128, 64], embeddingDim: 16, lossWeights: {…}, … }
 *   optimizer: { lr: 0.001, beta1, beta2, eps, embeddingOptimizer: adam|adagrad, embeddingLr, embeddingL2, clipNorm }
 *   data:      { numeric: [price], multi: [tags], hash: {…}, … }   (the data layer's config)
 *   train:     { epochs, batchSize, seed, shuffleBuffer, selectBy: logloss, earlyStop: ctcvr_auc, patience, backend }
 */
const optimizerSchema = z
  .strictObject({
    lr: z.number().positive(),
    beta1: z.number().min(0).lt(1),
    beta2: z.number().min(0).lt(1),
    eps: z.number().positive(),
    embeddingOptimizer: z.enum(['adam', 'adagrad']),
    embeddingLr: z.number().min(0),
    embeddingL2: z.number().min(0),
    clipNorm: z.number().min(0),
  })
  .partial() satisfies z.ZodType<Partial<OptimizerConfig>>;

const positiveInt = z.number().int().positive();
const trainSchema = z
  .strictObject({
    epochs: positiveInt,
    batchSize: positiveInt,
    seed: z.number().int().min(0).max(SEED_MAX),
    shuffleBuffer: positiveInt,
    selectBy: z.enum(METRIC_NAMES),
    earlyStop: z.enum(METRIC_NAMES),
    patience: positiveInt,
    backend: z.string(),
  })
  .partial();

export const fitConfigSchema = z.strictObject({
  model: modelConfigSchema.partial().optional(),
  optimizer: optimizerSchema.optional(),
  data: dataConfigSchema.optional(),
  train: trainSchema.optional(),
});

export interface FitConfigFile {
  model?: ModelConfigInput;
  optimizer?: Partial<OptimizerConfig>;
  data?: DataConfigInput;
  train?: z.input<typeof trainSchema>;
}

/** The defaults of everything `fit` takes, for the help and the resolution below. */
const MODEL_DEFAULTS = parseModelConfig({});
export const FIT_DEFAULTS = {
  epochs: 3,
  batchSize: 1024,
  seed: 1,
  shuffleBuffer: 100_000,
  patience: 2,
  /** The best epoch by the summed validation logloss (why: docs/experiments.md §5). */
  selectBy: 'logloss',
  lr: DEFAULT_OPTIMIZER.lr,
  towers: MODEL_DEFAULTS.towers,
  embeddingDim: MODEL_DEFAULTS.embeddingDim,
  interaction: MODEL_DEFAULTS.interaction,
  crossLayers: MODEL_DEFAULTS.crossLayers,
  lossWeights: MODEL_DEFAULTS.lossWeights,
  /** Calibrated starts: core's model default (why: docs/experiments.md §5). `--init paper` (or compare --paper) is the paper's start. */
  init: MODEL_DEFAULTS.init,
  embeddingLr: DEFAULT_OPTIMIZER.embeddingLr,
  embeddingL2: DEFAULT_OPTIMIZER.embeddingL2,
} as const;

/** Flags as the fit command parsed them (and `fit()`'s options of the same names); undefined = not given. */
export interface FitFlags {
  data?: string;
  /** Validation data, evaluated after every epoch; picks the best epoch. */
  valid?: string;
  /** esm2 | esmm | dnn | dnn-os. */
  model?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  towers?: number[];
  embeddingDim?: number;
  /** Feature interaction on the shared embedding: none | dot | cross (zoo/interaction.ts). */
  interaction?: string;
  /** DCN-v2 cross layers of interaction 'cross'. */
  crossLayers?: number;
  /** Weights of ESM2's three losses (ESMM uses ctr and ctcvr); default 1 each. */
  lossWeights?: { ctr: number; ctavr: number; ctcvr: number };
  backend?: string;
  /** How tower output biases start: 'paper' (0) or 'calibrated' (logit of the training data's base rates). */
  init?: string;
  /** Learning rate of the embedding rows (0 = the dense lr). */
  embeddingLr?: number;
  /** L2 on the embedding rows a batch touched. */
  embeddingL2?: number;
  /** The validation metric that picks the best epoch (default logloss); an early-stopping metric takes its place. */
  selectBy?: string;
  /** Stop when this validation metric (e.g. ctcvr_auc) stops improving for `patience` epochs. */
  earlyStop?: string;
  patience?: number;
  shuffleBuffer?: number;
  /**
   * The label columns whose OR is DAction (`--daction cart`, `--daction cart,fav`),
   * overriding the config's data.labels.daction. Default: the data config's, else
   * inferred from the file (imported UserBehavior: cart OR fav). Saved with the
   * run's encoders, so eval and scoring read the same DAction; a resume may not change it.
   */
  daction?: string[];
}

/** Checks a parsed fit config (from a file or from code); problems name each key by its path. */
export function parseFitConfig(doc: unknown, source: string): FitConfigFile {
  if (doc === null || doc === undefined) return {};
  const r = fitConfigSchema.safeParse(doc);
  if (r.success) return doc; // as written: defaults are applied once flags are merged in
  const problems = typeof doc !== 'object' || Array.isArray(doc) ? [`expected a mapping with sections ${Object.keys(fitConfigSchema.shape).join(', ')}`] : zodProblems(r.error);
  throw new Error(`${source}: ${problems.join('; ')} (see apps/trainer/examples/fit-config.yaml for every key)`);
}

export async function loadFitConfig(path: string): Promise<FitConfigFile> {
  const text = await readInputFile(path);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  return parseFitConfig(doc, path);
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

/** Flags over config over defaults, validated; errors name the flag or key at fault. */
export function resolveFitSettings(flags: FitFlags, config: FitConfigFile, defaults: { backend: string }): FitSettings {
  const cfg = parseFitConfig(config, 'fit config');
  if (!flags.data) throw new Error('--data <file> is required');
  const modelName = flags.model ?? cfg.model?.model;
  if (!modelName) throw new Error(`--model is required (one of ${MODEL_NAMES.join(', ')})`);
  if (!(MODEL_NAMES as readonly string[]).includes(modelName)) throw new Error(`--model '${modelName}' is not a zoo model (choose from ${MODEL_NAMES.join(', ')})`);
  if (flags.lossWeights) {
    const w = flags.lossWeights;
    check([w.ctr, w.ctavr, w.ctcvr].every((x) => Number.isFinite(x) && x >= 0), `--loss-weights must be three numbers ≥ 0, got ${w.ctr},${w.ctavr},${w.ctcvr}`);
  }
  const model = parseModelConfig({
    ...cfg.model,
    model: modelName,
    ...(flags.towers ? { towers: flags.towers } : {}),
    ...(flags.embeddingDim ? { embeddingDim: flags.embeddingDim } : {}),
    ...(flags.interaction !== undefined ? { interaction: flags.interaction } : {}),
    ...(flags.crossLayers !== undefined ? { crossLayers: flags.crossLayers } : {}),
    ...(flags.lossWeights ? { lossWeights: flags.lossWeights } : {}),
    ...(flags.init !== undefined ? { init: flags.init } : {}),
  });
  // The weights the model's loss uses (ESMM has no CTAVR loss; the DNNs none of these): all zero, nothing would be learnt.
  const w = model.lossWeights;
  const used = model.model === 'esm2' ? { ctr: w.ctr, ctavr: w.ctavr, ctcvr: w.ctcvr } : model.model === 'esmm' ? { ctr: w.ctr, ctcvr: w.ctcvr } : undefined;
  if (used && Object.values(used).every((x) => x === 0)) {
    const source = flags.lossWeights ? '--loss-weights' : 'model.lossWeights';
    throw new Error(`${source}: ${Object.entries(used).map(([k, v]) => `${k} ${v}`).join(', ')}: ${model.model} would learn nothing; at least one loss weight must be > 0`);
  }
  const optimizer: OptimizerConfig = {
    ...DEFAULT_OPTIMIZER,
    ...cfg.optimizer,
    ...(flags.lr !== undefined ? { lr: flags.lr } : {}),
    ...(flags.embeddingLr !== undefined ? { embeddingLr: flags.embeddingLr } : {}),
    ...(flags.embeddingL2 !== undefined ? { embeddingL2: flags.embeddingL2 } : {}),
  };
  check(optimizer.lr > 0, `learning rate must be positive, got ${optimizer.lr}`);
  check(optimizer.beta1 >= 0 && optimizer.beta1 < 1 && optimizer.beta2 >= 0 && optimizer.beta2 < 1, 'optimizer betas must be in [0, 1)');
  check(optimizer.eps > 0, 'optimizer.eps must be positive');
  check(optimizer.embeddingOptimizer === 'adam' || optimizer.embeddingOptimizer === 'adagrad', "optimizer.embeddingOptimizer must be 'adam' or 'adagrad'");
  check(optimizer.embeddingL2 >= 0 && optimizer.clipNorm >= 0 && optimizer.embeddingLr >= 0, 'optimizer.embeddingLr, optimizer.embeddingL2 and optimizer.clipNorm must be ≥ 0');
  const t = cfg.train ?? {};
  const epochs = flags.epochs ?? t.epochs ?? FIT_DEFAULTS.epochs;
  const batchSize = flags.batchSize ?? t.batchSize ?? FIT_DEFAULTS.batchSize;
  const seed = flags.seed ?? t.seed ?? FIT_DEFAULTS.seed;
  const shuffleBuffer = flags.shuffleBuffer ?? t.shuffleBuffer ?? FIT_DEFAULTS.shuffleBuffer;
  check(Number.isInteger(epochs) && epochs >= 1, `epochs must be a positive integer, got ${epochs}`);
  check(Number.isInteger(batchSize) && batchSize >= 1, `batch size must be a positive integer, got ${batchSize}`);
  checkSeed(seed, flags.seed !== undefined ? 'seed' : 'train.seed');
  check(Number.isInteger(shuffleBuffer) && shuffleBuffer >= 1, `shuffle buffer must be a positive integer, got ${shuffleBuffer}`);
  const metric = flags.earlyStop ?? t.earlyStop;
  const selectBy = flags.selectBy ?? t.selectBy ?? FIT_DEFAULTS.selectBy;
  metricKey(selectBy);
  if (metric !== undefined && (flags.selectBy ?? t.selectBy) !== undefined && metric !== selectBy) {
    throw new Error(`--select-by ${selectBy} and --early-stop ${metric} disagree: early stopping picks the best epoch by its own metric (give one of them)`);
  }
  const patience = flags.patience ?? t.patience ?? FIT_DEFAULTS.patience;
  if (metric !== undefined) metricKey(metric);
  check(Number.isInteger(patience) && patience >= 1, `patience must be a positive integer, got ${patience}`);
  if (metric !== undefined && !flags.valid) throw new Error(`--early-stop ${metric} needs validation data: pass --valid <file>`);
  let data = cfg.data;
  if (flags.daction) {
    const d = flags.daction;
    check(d.length > 0 && d.every((c) => c.trim() !== ''), '--daction needs one or more column names, e.g. cart or cart,fav');
    check(new Set(d).size === d.length, `--daction names a column twice: ${d.join(',')}`);
    data = { ...cfg.data, labels: { ...cfg.data?.labels, daction: d } };
  }
  return {
    train: flags.data,
    ...(flags.valid ? { valid: flags.valid } : {}),
    model,
    optimizer,
    ...(data ? { data } : {}),
    epochs,
    batchSize,
    seed,
    shuffleBuffer,
    ...(metric !== undefined ? { earlyStop: { metric, patience } } : {}),
    selectBy: metric ?? selectBy,
    backend: flags.backend ?? t.backend ?? defaults.backend,
  };
}
