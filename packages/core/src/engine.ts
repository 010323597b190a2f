import type { HostTensor, Weights } from './ir/tensor.js';
import type { ZooModel } from './zoo/model.js';
import type { StateTensor } from './artifact/artifact.js';

/**
 * The contract between the trainer app and a training engine (tfjs, onnx…):
 * the app owns data, loops, checkpoints and metrics; an engine owns
 * parameters, optimizer state and the compute of one step.
 */

export interface OptimizerConfig {
  /** Dense parameters always use Adam. */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Optimizer for embedding rows (updated sparsely: only rows a batch touched). */
  embeddingOptimizer: 'adam' | 'adagrad';
  /**
   * Learning rate of the embedding rows (their Adam or Adagrad step), 0 =
   * the dense `lr`. A smaller one slows the ID embeddings that overfit after
   * the first epoch (the "one-epoch phenomenon" of CTR models).
   */
  embeddingLr: number;
  /** Adds embeddingL2·‖row‖² for every embedding row a batch touched to the objective (0 = off). */
  embeddingL2: number;
  /**
   * Clip the global norm of the model loss's gradient to this value (0 = off):
   * dense parameters and embedding lookup rows, each lookup row counted once
   * (as TensorFlow's clip_by_global_norm treats IndexedSlices). The L2
   * gradient is added after clipping.
   */
  clipNorm: number;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  embeddingOptimizer: 'adam',
  embeddingLr: 0,
  embeddingL2: 0,
  clipNorm: 0,
};

export interface StepResult {
  /** The value of every loss output of the model (`loss` and its parts) on this batch, before the update. */
  losses: Record<string, number>;
}

/**
 * Tensors an engine needs to resume exactly: optimizer moments, step
 * counters (see STATE_KEYS, saveEngineState). They are artifact state
 * tensors, so a checkpoint stores them as they are.
 */
export type EngineState = Map<string, StateTensor>;

export interface TrainingEngine {
  readonly name: string;
  /** Human-readable detail of what runs underneath (e.g. `tfjs cpu`, `onnxruntime 1 thread`). */
  readonly description: string;
  /** One optimizer step on a batch of feeds (features and labels). */
  step(feeds: Record<string, HostTensor>): Promise<StepResult>;
  /** Predictions (and any other named outputs) without updating anything. */
  predict(feeds: Record<string, HostTensor>, outputs: string[]): Promise<Record<string, Float32Array>>;
  /** A copy of the current parameters. */
  getWeights(): Weights;
  getState(): EngineState;
  setState(state: EngineState): void;
  dispose(): void;
}

export interface EngineOptions {
  model: ZooModel;
  weights: Weights;
  optimizer: OptimizerConfig;
}

/**
 * What a backend package exports so the trainer can pick it by name.
 * Backend-specific choices (threads, devices…) are given when the factory
 * is made (e.g. `onnxEngineFactory({ threads: 2 })`), never here.
 */
export interface EngineFactory {
  readonly name: string;
  create(options: EngineOptions): Promise<TrainingEngine>;
}
