import type { Esm2Metrics } from '@esm2/core';
import type { EpochRecord } from '../train/settings.js';

/** Everything a report needs of one model: its runs' test metrics, training histories and run directories. */
export interface GatheredModel {
  model: string;
  runs: {
    seed: number;
    dir: string;
    metrics: Esm2Metrics;
    settings: Record<string, unknown>;
    history?: EpochRecord[];
    /** The cell's test predictions (readScores(scores, metrics.rows)), for ROC and calibration curves; absent in cells made before they were kept. */
    scores?: string;
  }[];
}

/** What gatherComparison reads: the finished cells by model or variant, and the test labels file. */
export interface GatheredComparison {
  models: Record<string, GatheredModel>;
  /** `<dir>/test-labels.f32` (click, buy), absent when no cell has written it. */
  labels?: string;
}
