import type { Graph } from '../ir/types.js';
import type { ModelConfig } from './config.js';

/** Prediction outputs, in the order reports and exports list them. */
export const PREDICTION_NAMES = ['pctr', 'pctavr', 'pcvr', 'pctcvr'] as const;
export type PredictionName = (typeof PREDICTION_NAMES)[number];

/** A zoo model: its graph plus which outputs are predictions and which are losses. */
export interface ZooModel {
  graph: Graph;
  config: ModelConfig;
  /** The `PREDICTION_NAMES` this model produces. */
  predictions: PredictionName[];
  /** Extra per-row outputs worth exporting (ESM2's towers y1..y4). */
  towers: string[];
  /** The scalar training objective is the output named `loss`; the others are its parts. */
  losses: string[];
}
