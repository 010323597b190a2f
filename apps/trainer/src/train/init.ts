import { calibrateTowerBiases, initWeights, type BaseRates, type Weights, type ZooModel } from '@esm2/core';

/**
 * A new run's weights: seeded initWeights, then — with the model config's
 * `init: 'calibrated'` — every tower's output bias at the logit of the base
 * rate it predicts (the training file's, counted by fitEncoders), so the
 * first predictions average the data's rates rather than 0.5. A resumed run
 * never comes here: it keeps its checkpoint's weights.
 */
export function initialWeights(model: ZooModel, seed: number, rates: BaseRates | undefined): Weights {
  const weights = initWeights(model.graph, seed);
  if (model.config.init !== 'calibrated') return weights;
  if (!rates) throw new Error("init 'calibrated' needs the training data's base rates (encoders fitted on it)");
  return calibrateTowerBiases(model, weights, rates);
}

/** One log line of the rates a calibrated start used. */
export function formatBaseRates(rates: BaseRates): string {
  return Object.entries(rates)
    .map(([k, v]) => `${k} ${v.toPrecision(3)}`)
    .join(', ');
}
