/** @esm2/trainer: the `esm2-train` CLI, and `fit()` to train from code exactly as `esm2-train fit` does. */
export { fit, type FitOptions, type FitResult } from './api.js';
export { BACKEND_NAMES, DEFAULT_BACKEND, type BackendName } from './train/engines.js';
export type { FitConfigFile } from './train/fit-config.js';
export type { Lineage, LineageEntry } from './train/lineage.js';
export type { LoopReporter } from './train/loop.js';
export type { EpochMetrics, EpochRecord, FitSettings, LoopPosition } from './train/settings.js';
export { runCompare, gatherComparison, type CompareOptions, type CellInfo } from './compare/run.js';
export type { GatheredModel } from './compare/gathered.js';
export { parseVariants, type CompareEntry } from './compare/spec.js';
export { readLabels, readScores, readUsers, type SavedLabels, type SavedScores } from './compare/scores.js';
export type { Comparison, Difference } from './compare/summary.js';
