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
  /**
   * Which base rate each tower predicts at a calibrated start (config
   * `init: 'calibrated'`): its output bias starts at that rate's logit.
   */
  towerRates: TowerRate[];
}

/**
 * Base rates of the training data, the constant predictions each tower
 * would make knowing nothing else: click rate, and the conditional rates of
 * ESM2's sub-targets (OAction = clicked without DAction).
 */
export const BASE_RATE_NAMES = ['ctr', 'dactionGivenClick', 'buyGivenDAction', 'buyGivenOAction', 'buyGivenClick'] as const;
export type BaseRateName = (typeof BASE_RATE_NAMES)[number];
export type BaseRates = Record<BaseRateName, number>;

export interface TowerRate {
  /** The tower's output bias parameter (`<tower>/out/b`). */
  bias: string;
  rate: BaseRateName;
  /**
   * Positives weigh this many times a negative in the tower's loss (DNN-OS):
   * the loss's constant minimiser is then r·π / (r·π + 1 − π), whose logit
   * is logit(π) + ln r.
   */
  oversample?: number;
}
