import { ops, type GraphBuilder, type Value } from '../ir/builder.js';
import type { Weights } from '../ir/tensor.js';
import type { ModelConfig } from './config.js';
import type { BaseRates, TowerRate, ZooModel } from './model.js';

/** An MLP tower ending in one sigmoid unit: a probability per row, shape [batch]. */
export function mlpTower(b: GraphBuilder, name: string, x: Value, config: ModelConfig): Value {
  let h = x;
  let width = x.type.shape[1] as number;
  for (const [i, units] of config.towers.entries()) {
    const w = b.param(`${name}/l${i}/w`, [width, units], { kind: 'glorotUniform' });
    const bias = b.param(`${name}/l${i}/b`, [units], { kind: 'zeros' });
    const z = ops.add(b, ops.matmul(b, h, w), bias);
    h = config.activation === 'relu' ? ops.relu(b, z) : ops.tanh(b, z);
    width = units;
  }
  const w = b.param(`${name}/out/w`, [width, 1], { kind: 'glorotUniform' });
  const bias = b.param(towerBias(name), [1], { kind: 'zeros' });
  const logit = ops.add(b, ops.matmul(b, h, w), bias);
  return ops.sigmoid(b, ops.reshape(b, logit, ['batch']));
}

/** The output bias of tower `name`: where a calibrated start puts the base rate's logit. */
export const towerBias = (name: string): string => `${name}/out/b`;

/** A tower's TowerRate entry (see ZooModel.towerRates). */
export const towerRate = (tower: string, rate: TowerRate['rate'], oversample?: number): TowerRate => ({
  bias: towerBias(tower),
  rate,
  ...(oversample !== undefined && oversample !== 1 ? { oversample } : {}),
});

/** Rates are clamped into [RATE_CLAMP, 1 − RATE_CLAMP] before the logit: a rate of 0 or 1 (no DAction column, say) must not start a tower at ±∞. */
export const RATE_CLAMP = 1e-4;

/** logit(rate) with the rate clamped (RATE_CLAMP), plus ln(oversample) for a tower whose positives are weighted. */
export function calibratedLogit(rate: number, oversample = 1): number {
  if (!Number.isFinite(rate)) throw new Error(`base rate must be a number in [0, 1], got ${rate}`);
  const p = Math.min(1 - RATE_CLAMP, Math.max(RATE_CLAMP, rate));
  return Math.log(p / (1 - p)) + Math.log(oversample);
}

/**
 * A calibrated start: `weights` (fresh ones, e.g. from initWeights) with
 * each tower's output bias set to the logit of the base rate it predicts
 * (model.towerRates), so the model's first predictions average about the
 * data's rates instead of 0.5. Returns a new map; `weights` is untouched.
 */
export function calibrateTowerBiases(model: ZooModel, weights: Weights, rates: BaseRates): Weights {
  const out = new Map(weights);
  for (const { bias, rate, oversample } of model.towerRates) {
    const w = weights.get(bias);
    if (!w) throw new Error(`model '${model.graph.name}' has no tower bias '${bias}'`);
    if (!(rates[rate] >= 0 && rates[rate] <= 1)) throw new Error(`base rate '${rate}' must be in [0, 1], got ${rates[rate]}`);
    out.set(bias, new Float32Array(w.length).fill(calibratedLogit(rates[rate], oversample)));
  }
  return out;
}
