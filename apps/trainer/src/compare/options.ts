import type { Esm2Metrics } from '@esm2/core';
import { access } from 'node:fs/promises';
import type { BackendName } from '../train/engines.js';
import type { FitConfigFile, FitFlags } from '../train/fit-config.js';
import type { LoopReporter } from '../train/loop.js';
import type { CompareEntry } from './spec.js';

/** What a comparison takes (runCompare), its cells and their files: the types every part of compare shares. */

/**
 * The settings of `fit` a comparison hands every deep cell, under their fit
 * option names: a variant's own lossWeights or daction win over the
 * comparison's (the GBDT cells take daction only). compare-settings.json
 * records them, in this order, as the common settings a resume must repeat.
 */
export const COMPARE_SETTINGS = ['epochs', 'lossWeights', 'daction', 'batchSize', 'lr', 'towers', 'embeddingDim', 'interaction', 'init', 'crossLayers', 'backend'] as const satisfies readonly (keyof FitFlags)[];
export type CompareSetting = (typeof COMPARE_SETTINGS)[number];

export interface CompareOptions extends Omit<Pick<FitFlags, CompareSetting>, 'backend'> {
  train: string;
  valid?: string;
  test: string;
  /** Models and variants, in output order. */
  entries: CompareEntry[];
  seeds: number[];
  out: string;
  config?: string | FitConfigFile;
  backend?: BackendName;
  /** Data-parallel workers of each deep cell's onnx engine (fit's --workers; default the cores). */
  workers?: number;
  /** Intra-op threads per onnx session (fit's default: 1 with workers > 1, else 2). */
  threads?: number;
  /** Skip finished cells, continue an interrupted one. */
  resume?: boolean;
  /** Cells trained at once (default 1). */
  parallel?: number;
  /** Resamples of the user bootstrap behind GAUC differences (default DEFAULT_GAUC_RESAMPLES; 0: none). */
  gaucResamples?: number;
  /** Per-cell progress: `reporter(cell)` gives the fit reporter of that cell. */
  reporter?: (cell: CellInfo) => LoopReporter;
  /** Progress of a GBDT cell's stages (`stage`: reading the training rows…), rows counted as they stream; stopped at each stage's end. */
  stageProgress?: (cell: CellInfo, stage: string) => StageProgress;
  log?: (message: string) => void;
}

export interface StageProgress {
  update(rows: number): void;
  stop(): void;
}

/** `batches` as they pass, counted into a fresh `progress()`, stopped when they end (or fail). */

export interface CellInfo {
  name: string;
  entry: CompareEntry;
  seed: number;
  dir: string;
  /** 1-based position among all cells, and their number. */
  index: number;
  count: number;
}

/** What a cell's metrics.json holds: the test metrics and how the cell was made. */
export interface CellFile extends Esm2Metrics {
  cell: { name: string; entry: string; model: string; seed: number; settings: Record<string, unknown> };
  data: string;
  engine?: string;
}

export const CELL_METRICS = 'metrics.json';
export const COMPARISON_JSON = 'comparison.json';
export const COMPARISON_MD = 'comparison.md';

export const exists = (p: string) => access(p).then(() => true, () => false);
