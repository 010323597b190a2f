import type { Esm2Metrics, PerTask } from '@esm2/core';
import type { ReliabilityBin, RocCurve } from './curves.js';

/** The test data the figures rest on (the `test` block of comparison.json; metrics.json's first four keys). */
export interface DataSummary {
  rows: number;
  clicks: number;
  dactions: number;
  buys: number;
  /** Where the data came from (a file name), shown above the counts. */
  source?: string;
}

/**
 * One line of a run's history.json (the trainer's EpochRecord): the epoch's
 * training losses and, when there was validation data, the validation
 * metrics under metrics.json's keys (`ctcvr_auc`, `logloss: {ctr, …}`).
 */
export interface HistoryEpoch {
  epoch: number;
  train_loss?: number;
  train_losses?: Record<string, number>;
  [metric: string]: unknown;
}

/** One trained model (one seed) evaluated on the test data. */
export interface ReportRun {
  seed?: number;
  /** The test metrics (core's `evaluateEsm2`, i.e. metrics.json). */
  metrics: Esm2Metrics;
  /** Per-task ROC curves (`rocCurve` / `esm2Curves`), ≤ 500 points each. */
  roc?: PerTask<RocCurve>;
  /** Per-task reliability bins (`reliabilityBins` / `esm2Curves`). */
  calibration?: PerTask<ReliabilityBin[]>;
  /** The run's history.json; absent for models without epochs (GBDT). */
  history?: HistoryEpoch[];
}

/** A model (or variant) with one run per seed: `eval` gives one model with one run, `compare` several with one per seed. */
export interface ReportModel {
  name: string;
  runs: ReportRun[];
}

/**
 * One model's difference to a baseline on one metric (comparison.json's
 * `differences` entries): mean difference (model − baseline) and its 95 %
 * interval; `method` says how the interval was made (e.g. "paired over seeds",
 * "bootstrap over test rows", "DeLong").
 */
export interface ReportDifference {
  model: string;
  baseline: string;
  /** A metrics.json key, e.g. "cvr_auc", "ctcvr_gauc". */
  metric: string;
  mean: number;
  ci95: [number, number];
  method?: string;
  /** Test positives the metric rests on; defaults to the task's positives in the first run. */
  positives?: number;
  /** The two-sided p of `method`, shown beside the interval. */
  pValue?: number;
  /**
   * The verdict in words, shown as given (e.g. comparison.md's). Without
   * it the report reads the interval itself: significant when it excludes
   * 0, with a note when the positives are too few.
   */
  reading?: string;
}

export interface ReportInput {
  title?: string;
  data: DataSummary;
  models: ReportModel[];
  /** Differences to baselines with 95 % intervals (compare); a table is shown when given. */
  differences?: ReportDifference[];
  /** Free-text notes shown under the summary (e.g. how the differences were computed). */
  notes?: string[];
  /** Shown in the footer; defaults to the current time. */
  generatedAt?: string;
}
