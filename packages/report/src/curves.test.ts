import { auc, mulberry32 } from '@esm2/core';
import { describe, expect, it } from 'vitest';
import { areaUnder, esm2Curves, reliabilityBins, rocCurve } from './curves.js';

describe('rocCurve', () => {
  it('matches a hand-computed curve, ties moving diagonally', () => {
    // Scores descending: 0.9(+) 0.8(−) 0.7(+) 0.7(−) 0.2(−); 2 positives, 3 negatives.
    const c = rocCurve([0.7, 0.9, 0.2, 0.8, 0.7], [1, 1, 0, 0, 0]);
    expect(c.positives).toBe(2);
    expect(c.negatives).toBe(3);
    expect(c.fpr).toEqual([0, 0, 1 / 3, 2 / 3, 1]);
    expect(c.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
    // Area: 1/3·0.5 + 1/3·(0.5+1)/2 + 1/3·1 = 0.75 = the AUC with the tie counted as a half.
    expect(areaUnder(c)).toBeCloseTo(0.75, 12);
    expect(auc([0.7, 0.9, 0.2, 0.8, 0.7], [1, 1, 0, 0, 0])).toBeCloseTo(0.75, 12);
  });

  it('uses only the masked rows', () => {
    const c = rocCurve([0.9, 0.1, 0.5, 0.4], [0, 1, 1, 0], [0, 1, 1, 1]);
    // Masked rows, descending: 0.5(+) 0.4(−) 0.1(+); the unmasked 0.9(−) is ignored.
    expect(c).toEqual({ fpr: [0, 0, 1, 1], tpr: [0, 0.5, 0.5, 1], positives: 2, negatives: 1 });
  });

  it('is empty when a class is missing', () => {
    expect(rocCurve([0.1, 0.2], [0, 0])).toEqual({ fpr: [], tpr: [], positives: 0, negatives: 2 });
  });

  it('thins a long curve to at most maxPoints, keeping its ends and (nearly) its area', () => {
    const rand = mulberry32(3);
    const n = 20000;
    const y = Float64Array.from({ length: n }, () => (rand() < 0.3 ? 1 : 0));
    const s = Float64Array.from(y, (v) => v * 0.5 + rand());
    const full = rocCurve(s, y, undefined, n + 10);
    expect(full.fpr.length).toBe(n + 1);
    expect(areaUnder(full)).toBeCloseTo(auc(s, y), 10);
    for (const max of [500, 50]) {
      const thin = rocCurve(s, y, undefined, max);
      expect(thin.fpr.length).toBeLessThanOrEqual(max);
      expect(thin.fpr.length).toBeGreaterThan(max / 2);
      expect([thin.fpr[0], thin.tpr[0], thin.fpr.at(-1), thin.tpr.at(-1)]).toEqual([0, 0, 1, 1]);
      expect(Math.abs(areaUnder(thin) - auc(s, y))).toBeLessThan(2 / max);
      for (let k = 1; k < thin.fpr.length; k++) {
        expect(thin.fpr[k]).toBeGreaterThanOrEqual(thin.fpr[k - 1]!);
        expect(thin.tpr[k]).toBeGreaterThanOrEqual(thin.tpr[k - 1]!);
      }
    }
  });

  it('names the bad value', () => {
    expect(() => rocCurve([0.1, NaN], [0, 1])).toThrow('rocCurve: scores[1] is NaN');
    expect(() => rocCurve([0.1, 0.2], [0, 2])).toThrow('rocCurve: labels[1] = 2, expected 0 or 1');
    expect(() => rocCurve([0.1], [0, 1])).toThrow('rocCurve: length mismatch: labels has length 2 but scores has length 1');
  });
});

describe('reliabilityBins', () => {
  it('cuts the sorted predictions into equal-count bins', () => {
    const bins = reliabilityBins([0.4, 0.1, 0.2, 0.3, 0.05, 0.6], [1, 0, 0, 1, 0, 1], undefined, 3);
    expect(bins).toEqual([
      { lo: 0.05, hi: 0.1, rows: 2, positives: 0, meanPredicted: expect.closeTo(0.075, 12), observedRate: 0 },
      { lo: 0.2, hi: 0.3, rows: 2, positives: 1, meanPredicted: expect.closeTo(0.25, 12), observedRate: 0.5 },
      { lo: 0.4, hi: 0.6, rows: 2, positives: 2, meanPredicted: expect.closeTo(0.5, 12), observedRate: 1 },
    ]);
  });

  it('has no more bins than rows, and rejects non-probabilities', () => {
    expect(reliabilityBins([0.5], [1], undefined, 10)).toHaveLength(1);
    expect(() => reliabilityBins([0.5, 1.5], [1, 0])).toThrow('reliabilityBins: p[1] is 1.5');
  });
});

describe('esm2Curves', () => {
  it('evaluates CVR on clicked rows only, as the AUC does', () => {
    const click = [1, 1, 1, 0, 0];
    const daction = [1, 0, 0, 0, 0];
    const buy = [1, 0, 0, 0, 0];
    const pcvr = [0.2, 0.5, 0.1, 0.9, 0.9];
    const { roc, calibration } = esm2Curves({ click, daction, buy, pcvr }, { bins: 2 });
    expect(Object.keys(roc)).toEqual(['cvr']);
    expect(roc.cvr).toMatchObject({ positives: 1, negatives: 2, fpr: [0, 0.5, 0.5, 1], tpr: [0, 0, 1, 1] });
    expect(calibration.cvr!.reduce((s, b) => s + b.rows, 0)).toBe(3);
  });
});
