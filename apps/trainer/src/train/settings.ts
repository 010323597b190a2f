import type { Esm2Metrics, ModelConfig, OptimizerConfig } from '@esm2/core';
import type { DataConfigInput } from '@esm2/data';

/** Everything that defines a fit, resolved from flags and config; saved in the checkpoint so --resume needs none of it again. */
export interface FitSettings {
  train: string;
  valid?: string;
  model: ModelConfig;
  optimizer: OptimizerConfig;
  data?: DataConfigInput;
  epochs: number;
  batchSize: number;
  /** Seeds the initial weights and each epoch's shuffle. */
  seed: number;
  /** Rows held by the streaming shuffle. */
  shuffleBuffer: number;
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
