import { describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import { smallSchema } from '../testing.js';
import { buildModel } from './index.js';
import { MODEL_NAMES } from './config.js';
import { calibratedLogit, calibrateTowerBiases, RATE_CLAMP } from './tower.js';
import type { BaseRates } from './model.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const RATES: BaseRates = { ctr: 0.045, dactionGivenClick: 0.2, buyGivenDAction: 0.08, buyGivenOAction: 0.01, buyGivenClick: 0.024 };

describe('calibrated starts', () => {
  it('calibratedLogit: the logit of the rate, clamped off 0 and 1, plus ln r for positives weighted ×r', () => {
    expect(calibratedLogit(0.25)).toBeCloseTo(Math.log(1 / 3), 12);
    expect(sigmoid(calibratedLogit(0.045))).toBeCloseTo(0.045, 12);
    expect(calibratedLogit(0)).toBeCloseTo(Math.log(RATE_CLAMP / (1 - RATE_CLAMP)), 12);
    expect(calibratedLogit(1)).toBeCloseTo(-Math.log(RATE_CLAMP / (1 - RATE_CLAMP)), 12);
    // Over-sampling ×r: the constant p minimising r·π·(−ln p) + (1−π)·(−ln(1−p)) has zero derivative −rπ/p + (1−π)/(1−p).
    const [pi, r] = [0.02, 5];
    const p = sigmoid(calibratedLogit(pi, r));
    expect((-r * pi) / p + (1 - pi) / (1 - p)).toBeCloseTo(0, 10);
    expect(() => calibratedLogit(Number.NaN)).toThrow(/base rate/);
  });

  it('every zoo model names the rate of each tower; only those biases change', () => {
    const want: Record<string, Record<string, number>> = {
      esm2: { 'y1/out/b': RATES.ctr, 'y2/out/b': RATES.dactionGivenClick, 'y3/out/b': RATES.buyGivenDAction, 'y4/out/b': RATES.buyGivenOAction },
      esmm: { 'ctr/out/b': RATES.ctr, 'cvr/out/b': RATES.buyGivenClick },
      dnn: { 'ctr/out/b': RATES.ctr, 'cvr/out/b': RATES.buyGivenClick },
      'dnn-os': { 'ctr/out/b': (5 * RATES.ctr) / (5 * RATES.ctr + 1 - RATES.ctr), 'cvr/out/b': (5 * RATES.buyGivenClick) / (5 * RATES.buyGivenClick + 1 - RATES.buyGivenClick) },
    };
    for (const name of MODEL_NAMES) {
      const model = buildModel(smallSchema(), { model: name, towers: [4], oversampleRate: 5 });
      const fresh = initWeights(model.graph, 1);
      const calibrated = calibrateTowerBiases(model, fresh, RATES);
      const biases = Object.fromEntries(model.towerRates.map((t) => [t.bias, sigmoid(calibrated.get(t.bias)![0]!)]));
      expect(Object.keys(biases).sort(), name).toEqual(Object.keys(want[name]!).sort());
      for (const [bias, rate] of Object.entries(want[name]!)) expect(biases[bias], `${name} ${bias}`).toBeCloseTo(rate, 6);
      for (const [param, w] of fresh) {
        if (param in biases) expect([...w], param).toEqual([0]);
        else expect(calibrated.get(param), param).toBe(w);
      }
    }
  });

  it('refuses a rate outside [0, 1]', () => {
    const model = buildModel(smallSchema(), { model: 'esmm', towers: [4] });
    expect(() => calibrateTowerBiases(model, initWeights(model.graph, 1), { ...RATES, buyGivenClick: 1.5 })).toThrow("base rate 'buyGivenClick' must be in [0, 1], got 1.5");
  });
});
