export { auc, splitByClass } from './auc.js';
export { gauc, type GaucResult } from './gauc.js';
export { logloss } from './logloss.js';
export { pcoc } from './pcoc.js';
export {
  topKPrecisionRecall,
  topKCount,
  fractionLabel,
  DEFAULT_TOP_K_FRACTIONS,
  type TopKResult,
} from './topk.js';
export { ScoreCollector, type ScoreBatch } from './score-collector.js';
export {
  evaluateEsm2,
  type Esm2EvalInput,
  type Esm2Metrics,
  type Esm2Predictions,
  type PerTask,
  type AtCut,
  type TopKTable,
} from './evaluate-esm2.js';
export { formatMetricsTable, type MetricsTableOptions } from './format-table.js';
export {
  esm2TaskRows,
  ESM2_TASKS,
  PREDICTION_OF,
  type Esm2Task,
  type Esm2PredictionName,
  type TaskRows,
} from './esm2-tasks.js';
export { checkFunnelLabels } from './funnel-labels.js';
export type { NumericArray } from './validate.js';
export { delongTest, type DelongResult } from './delong.js';
export { erfc, normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions.js';
export { weightedAuc, WeightedAucRanking } from './weighted-auc.js';
export {
  pairedBootstrap,
  percentilePValue,
  quantileOfSorted,
  AUC_RESAMPLE,
  GAUC_RESAMPLE,
  DEFAULT_BOOTSTRAP_RESAMPLES,
  type MetricFn,
  type ResampleMetric,
  type PairedBootstrapOptions,
  type PairedBootstrapResult,
} from './bootstrap.js';
export { pairedSeedInterval, type SeedIntervalResult } from './seed-interval.js';
export { meanSd, type MeanSd } from './mean-sd.js';
export { positivesVerdict, MIN_POSITIVES_FOR_COMPARISON, type PositivesVerdict } from './positives-rule.js';
