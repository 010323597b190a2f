import { z } from 'zod';
import { zodProblems } from '../zod-problems.js';

/** The interaction modules a model config may choose (`interaction`). */
export const INTERACTIONS = ['none', 'dot', 'cross'] as const;
export type Interaction = (typeof INTERACTIONS)[number];

export const MODEL_NAMES = ['esm2', 'esmm', 'dnn', 'dnn-os'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** How a new run's tower output biases start (ModelConfig.init). */
export const INIT_MODES = ['paper', 'calibrated'] as const;

const positive = z.number().positive();
/**
 * The widest layer or embedding a config may ask for: far above any useful
 * model, and low enough that a typo (`embeddingDim: 100000000`) is refused
 * by name before any data is read; checkModelSize bounds the tables it makes.
 */
export const MAX_WIDTH = 65536;
const width = z.number().int().positive().max(MAX_WIDTH);

/** Model hyper-parameters with the documented defaults (paper-sized ESM2). */
export const modelConfigSchema = z.strictObject({
  model: z.enum(MODEL_NAMES).default('esm2'),
  /** Hidden layer widths of every tower; each tower ends in a 1-unit sigmoid. */
  towers: z.array(width).default([256, 128, 64]),
  activation: z.enum(['relu', 'tanh']).default('relu'),
  /** Embedding width for fields that do not set their own. */
  embeddingDim: width.default(16),
  /** Width of the learned tanh projection of the numeric features. */
  numericDim: width.default(16),
  /**
   * Feature interaction on the shared embedding (zoo/interaction.ts): 'dot'
   * appends DLRM's pairwise dot products of the fields to the concatenation,
   * 'cross' feeds the towers DCN-v2 cross layers over it. Artifacts written
   * before the option existed read back as 'none', what they were.
   */
  interaction: z.enum(INTERACTIONS).default('none'),
  /** Number of DCN-v2 cross layers (interaction 'cross'). */
  crossLayers: z.number().int().positive().default(2),
  /** Std of the normal init of embedding tables. */
  embeddingInitStd: positive.default(0.05),
  /**
   * How a new run's tower output biases start: 'calibrated' (the default) at
   * the logit of the base rate each tower predicts, counted in the training
   * data (ZooModel.towerRates; the trainer applies it, plain initWeights leaves
   * them at 0), or 'paper' at 0 (p = 0.5, the paper's start). The one
   * default of `fit`, `fit()` and `compare` (the trainer's settings schema
   * reads it). Why calibrated: docs/experiments.md §5.
   */
  init: z.enum(INIT_MODES).default('calibrated'),
  lossWeights: z
    .strictObject({ ctr: z.number().nonnegative().default(1), ctavr: z.number().nonnegative().default(1), ctcvr: z.number().nonnegative().default(1) })
    .default({ ctr: 1, ctavr: 1, ctcvr: 1 }),
  /**
   * Unused: DNN / DNN-OS now always have both networks (CTR and CVR). Still
   * accepted because every artifact written before records it in its config.
   */
  task: z.enum(['ctr', 'cvr']).default('cvr'),
  /** DNN-OS: positives (clicks for CTR, purchases for CVR) weigh this many times a negative, the expectation of over-sampling them ×rate. */
  oversampleRate: z.number().min(1).default(5),
  /** Clip for BCE on probabilities. */
  bceEps: z.number().positive().max(0.01).default(1e-7),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

export function parseModelConfig(input: unknown): ModelConfig {
  const result = modelConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new Error(`invalid model config: ${zodProblems(result.error).join('; ')}`);
  }
  return result.data;
}
