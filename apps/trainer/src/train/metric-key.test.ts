import type { Esm2Metrics } from '@esm2/core';
import { describe, expect, it } from 'vitest';
import { entireSpaceLogloss, improves, metricKey, METRIC_NAMES, recordLogloss } from './metric-key.js';

const metrics = (logloss: Esm2Metrics['logloss'], ctcvr_auc?: number) => ({ logloss, ...(ctcvr_auc !== undefined ? { ctcvr_auc } : {}) }) as Esm2Metrics;

describe('selection metrics', () => {
  it('logloss sums the entire-space loglosses (ctr + ctavr + ctcvr), never the conditional cvr, and improves downwards', () => {
    const key = metricKey('logloss');
    expect(METRIC_NAMES).toContain('logloss');
    expect(key.higherIsBetter).toBe(false);
    expect(key.read(metrics({ ctr: 0.16, ctavr: 0.025, cvr: 0.05, ctcvr: 0.003 }))).toBeCloseTo(0.188, 12);
    // ESMM predicts no CTAVR: its sum is ctr + ctcvr.
    expect(key.read(metrics({ ctr: 0.16, ctcvr: 0.003 }))).toBeCloseTo(0.163, 12);
    expect(entireSpaceLogloss(metrics({ ctavr: 0.02, ctcvr: 0.003 }))).toBeUndefined();
    expect(improves(key, 0.18, 0.19)).toBe(true);
    expect(improves(key, 0.19, 0.18)).toBe(false);
  });

  it('reads the sum from a history line, and nothing from a line without validation', () => {
    expect(recordLogloss({ epoch: 1, logloss: { ctr: 0.1, ctavr: 0.02, ctcvr: 0.001 } })).toBeCloseTo(0.121, 12);
    expect(recordLogloss({ epoch: 1, train_loss: 0.2 })).toBeUndefined();
  });

  it('AUC keys improve upwards; unknown names are refused with the list', () => {
    expect(metricKey('ctcvr_auc').higherIsBetter).toBe(true);
    expect(metricKey('ctcvr_auc').read(metrics({}, 0.7))).toBe(0.7);
    expect(() => metricKey('loss')).toThrow(/unknown metric 'loss' \(choose from logloss, ctr_auc/);
  });
});
