import { DEFAULT_OPTIMIZER, modelConfigSchema, seedProblem, type Esm2Metrics, type OptimizerConfig } from '@esm2/core';
import { dataConfigSchema, type DataConfigInput } from '@esm2/data';
import { z } from 'zod';
import { METRIC_NAMES } from './metric-key.js';

/**
 * The training settings: one schema, the single source of every setting's
 * type, check and default. Its sections are the fit config file's (`model`,
 * `optimizer`, `data`, `train`; every key optional), the flags of `fit`,
 * `fit()` and `compare` land in them (SETTING_FLAGS), and one parse of the
 * config with the flags over it (fit-config.ts) checks every value and fills
 * the defaults. A commented example with every key is
 * apps/trainer/examples/fit-config.yaml.
 */
const positiveInt = z.number().int().positive();
const metric = z.enum(METRIC_NAMES, { error: (issue) => `unknown metric '${String(issue.input)}' (choose from ${METRIC_NAMES.join(', ')})` });
const seed = z.number().superRefine((s, ctx) => {
  const problem = seedProblem(s);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});
const d = DEFAULT_OPTIMIZER;

const optimizerSchema = z.strictObject({
  lr: z.number().positive().default(d.lr),
  beta1: z.number().min(0).lt(1).default(d.beta1),
  beta2: z.number().min(0).lt(1).default(d.beta2),
  eps: z.number().positive().default(d.eps),
  embeddingOptimizer: z.enum(['adam', 'adagrad']).default(d.embeddingOptimizer),
  embeddingLr: z.number().min(0).default(d.embeddingLr),
  embeddingL2: z.number().min(0).default(d.embeddingL2),
  clipNorm: z.number().min(0).default(d.clipNorm),
}) satisfies z.ZodType<OptimizerConfig, Partial<OptimizerConfig>>;

const trainSchema = z.strictObject({
  epochs: positiveInt.default(3),
  batchSize: positiveInt.default(1024),
  /** Seeds the initial weights and each epoch's shuffle. */
  seed: seed.default(1),
  /** Rows held by the streaming shuffle. */
  shuffleBuffer: positiveInt.default(100_000),
  /** The validation metric that picks the best epoch: the summed validation logloss by default (why: docs/experiments.md §5). */
  selectBy: metric.default('logloss'),
  /** Stop when this validation metric stops improving for `patience` epochs; it also picks the best epoch. */
  earlyStop: metric.optional(),
  patience: positiveInt.default(2),
  /** The training engine (default: the trainer's, engines.ts). */
  backend: z.string().optional(),
});

/** The settings schema: the model (core's model config, its defaults there), the optimizer (core's DEFAULT_OPTIMIZER), the data layer's config and the loop. */
export const fitConfigSchema = z.strictObject({
  model: modelConfigSchema.prefault({}),
  optimizer: optimizerSchema.prefault({}),
  data: dataConfigSchema.optional(),
  train: trainSchema.prefault({}),
});
type Sections = z.output<typeof fitConfigSchema>;
type SectionInputs = { [S in keyof Sections]-?: NonNullable<z.input<typeof fitConfigSchema>[S]> };

/**
 * The settings a flag sets — the same-named option of `fit`, `fit()` and
 * `compare` — and the section it lands in: `--embedding-l2` is
 * optimizer.embeddingL2. Everything else of the schema is set by the config.
 */
export const SETTING_FLAGS = {
  /** esm2 | esmm | dnn | dnn-os. */
  model: 'model',
  /** Hidden layer widths of every tower. */
  towers: 'model',
  embeddingDim: 'model',
  /** Feature interaction on the shared embedding: none | dot | cross (zoo/interaction.ts). */
  interaction: 'model',
  /** DCN-v2 cross layers of interaction 'cross'. */
  crossLayers: 'model',
  /** Weights of ESM2's three losses (ESMM uses ctr and ctcvr); default 1 each. */
  lossWeights: 'model',
  /** How tower output biases start: 'paper' (0) or 'calibrated' (logit of the training data's base rates). */
  init: 'model',
  /** Adam learning rate. */
  lr: 'optimizer',
  /** Learning rate of the embedding rows (0 = the dense lr). */
  embeddingLr: 'optimizer',
  /** L2 on the embedding rows a batch touched. */
  embeddingL2: 'optimizer',
  /** Epochs to train; with a resume, the new total. */
  epochs: 'train',
  batchSize: 'train',
  /** Seeds the initial weights and each epoch's shuffle. */
  seed: 'train',
  /** Rows held by the streaming shuffle. */
  shuffleBuffer: 'train',
  /** The validation metric that picks the best epoch (default logloss); an early-stopping metric takes its place. */
  selectBy: 'train',
  /** Stop when this validation metric (e.g. ctcvr_auc) stops improving for `patience` epochs. */
  earlyStop: 'train',
  patience: 'train',
  backend: 'train',
} as const satisfies { [K in string]: keyof SectionInputs };
export type SettingFlag = keyof typeof SETTING_FLAGS;
export const SETTING_FLAG_NAMES = Object.keys(SETTING_FLAGS) as SettingFlag[];

type FlagInput<K extends SettingFlag> = K extends keyof SectionInputs[(typeof SETTING_FLAGS)[K]] ? SectionInputs[(typeof SETTING_FLAGS)[K]][K] : never;
type FlagOutput<K extends SettingFlag> = K extends keyof Sections[(typeof SETTING_FLAGS)[K]] ? Sections[(typeof SETTING_FLAGS)[K]][K] : never;
/** The settings flags as given (undefined = not given), typed by the schema; a choice (model, init, metric…) is any string until the schema checks it. */
export type SettingFlags = { [K in SettingFlag]?: NonNullable<FlagInput<K>> extends string ? string : FlagInput<K> };

/** The schema's defaults of the flags' settings, for the help texts. */
const DEFAULT_SECTIONS = fitConfigSchema.parse({});
export const FIT_DEFAULTS = Object.fromEntries(
  SETTING_FLAG_NAMES.map((k) => [k, (DEFAULT_SECTIONS[SETTING_FLAGS[k]] as Record<string, unknown>)[k]]),
) as { readonly [K in SettingFlag]: FlagOutput<K> };

/**
 * What a resume may give again: the new total of epochs and the engine.
 * Every other setting is the run's saved one (a flag for it is ignored,
 * saying so); `daction` is refused when it differs.
 */
export const RESUME_MAY_CHANGE = ['epochs', 'backend'] as const satisfies readonly SettingFlag[];
export const RESUME_KEPT = SETTING_FLAG_NAMES.filter((k) => !(RESUME_MAY_CHANGE as readonly string[]).includes(k));

/**
 * What a warm start (`--warm-start RUN`) may give again over its parent's
 * saved settings: the optimizer's rates and L2, the loop's settings and the
 * engine (and, outside this schema, --workers). The rest — the model's
 * architecture — is the parent's; a flag that would change it is refused
 * naming the difference (train/warm-start.ts).
 */
export const WARM_MAY_CHANGE = ['epochs', 'lr', 'embeddingLr', 'embeddingL2', 'batchSize', 'seed', 'shuffleBuffer', 'selectBy', 'earlyStop', 'patience', 'backend'] as const satisfies readonly SettingFlag[];
export const WARM_KEPT = SETTING_FLAG_NAMES.filter((k) => !(WARM_MAY_CHANGE as readonly string[]).includes(k));

/** `embeddingL2` → `--embedding-l2`: the flag of an option. */
export const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The given (not undefined) values of `keys` in `from`. */
export function pickDefined<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]])) as Partial<Pick<T, K>>;
}

/** `from` without `keys`. */
export function omit<T extends object, K extends PropertyKey>(from: T, keys: readonly K[]): Omit<T, K> {
  return Object.fromEntries(Object.entries(from).filter(([k]) => !(keys as readonly PropertyKey[]).includes(k))) as Omit<T, K>;
}

/**
 * Everything that defines a fit, resolved from flags and config by the
 * schema above; saved in the checkpoint so --resume needs none of it again.
 * Read back as saved (runs of older versions lack later keys).
 */
export interface FitSettings extends Pick<Sections['train'], 'epochs' | 'batchSize' | 'seed' | 'shuffleBuffer'> {
  train: string;
  valid?: string;
  model: Sections['model'];
  optimizer: Sections['optimizer'];
  /** The data section as written (the data layer applies its defaults). */
  data?: DataConfigInput;
  earlyStop?: { metric: string; patience: number };
  /**
   * The validation metric that picks the best epoch when no early-stopping
   * metric is given (--select-by; default logloss). Absent in runs saved
   * before the setting: they keep ctcvr_auc, what they were started with.
   */
  selectBy?: string;
  backend: string;
  /**
   * Data-parallel workers of the onnx engine (--workers; default the cores).
   * Absent in runs saved before the setting: they resume with the default.
   */
  workers?: number;
}

/**
 * An epoch's validation metrics, metrics.json's keys (`ctcvr_auc`, `logloss`
 * per task, …), present when the run has validation data. A value that is
 * undefined on the data (an AUC without positives) is NaN as the loop hands
 * it out and null once written to and read back from history.json.
 */
export type EpochMetrics = { [K in keyof Esm2Metrics]?: Esm2Metrics[K] | (number extends Esm2Metrics[K] ? null : never) };

/**
 * One line of history.json: the epoch's training loss and the validation
 * metrics under the same keys as metrics.json (logloss per task, AUCs…) —
 * what the report's training and validation curves are drawn from. Read
 * back with readHistory (train/history.ts), which checks the training
 * fields and passes the rest through.
 */
export type EpochRecord = EpochMetrics & {
  epoch: number;
  train_loss: number;
  /** Mean over the epoch of every loss output (loss and its parts). */
  train_losses: Record<string, number>;
  seconds: number;
  samples_per_s: number;
};

/** Where the loop is: saved in each checkpoint. The shuffle of epoch e is seeded from (seed, e), so this is also the RNG position. */
export interface LoopPosition {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** The best epoch so far by the selection metric (the early-stop metric, else selectBy); absent without validation data. */
  best?: { epoch: number; value: number; metric: string };
  /** Epochs since the best one (early stopping). */
  badEpochs: number;
  stopped: boolean;
  history: EpochRecord[];
  trainRows?: number;
}
