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
  embeddingL2: 0,
  clipNorm: 0,
};

export interface StepResult {
  /** The value of every loss output of the model (`loss` and its parts) on this batch, before the update. */
  losses: Record<string, number>;
}

/** Tensors an engine needs to resume exactly: optimizer moments, step counters. */
export type EngineState = Map<string, HostTensor>;

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
  /** Intra-op threads for engines that have them. */
  threads?: number;
  /** Let idle intra-op threads spin-wait (engines with thread pools). Faster on an idle machine, much slower on a busy one. */
  spinning?: boolean;
}

/** What a backend package exports so the trainer can pick it by name. */
export interface EngineFactory {
  readonly name: string;
  create(options: EngineOptions): Promise<TrainingEngine>;
}

/** Engine state as artifact state tensors, for checkpoints (f64 data is stored as f32). */
export function engineStateToArtifact(state: EngineState): Map<string, StateTensor> {
  return new Map(
    [...state].map(([name, t]): [string, StateTensor] =>
      t.data instanceof Int32Array
        ? [name, { dtype: 'i32', shape: [...t.shape], data: t.data }]
        : [name, { dtype: 'f32', shape: [...t.shape], data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) }],
    ),
  );
}

/** The inverse of engineStateToArtifact. */
export function engineStateFromArtifact(state: ReadonlyMap<string, StateTensor>): EngineState {
  return new Map([...state].map(([name, t]) => [name, { shape: [...t.shape], data: t.data }]));
}
