import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { fractionLabel, topKCount, topKPrecisionRecall } from './topk.js';


describe('topKPrecisionRecall', () => {
  // Descending: 0.95(+) 0.8(-) 0.7(+) 0.6(-) 0.5(-) 0.4(+) 0.3(+) 0.2 0.1 0.05; 4 positives.
  const scores = [0.95, 0.1, 0.8, 0.3, 0.7, 0.2, 0.6, 0.05, 0.4, 0.5];
  const labels = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0];

  it('matches hand-computed precision / recall / F1', () => {
    const [k1, k3, k3b, all] = topKPrecisionRecall(scores, labels, [0.1, 0.3, 0.25, 1]);
    // k = 1: tp 1 -> P 1, R 1/4, F1 = 2·1·0.25 / 1.25 = 0.4
    expect(k1).toEqual({ fraction: 0.1, k: 1, precision: 1, recall: 0.25, f1: expect.closeTo(0.4, 12) });
    // k = 3: tp 2 -> P 2/3, R 1/2, F1 = (2/3) / (7/6) = 4/7
    expect(k3!.k).toBe(3);
    expect(k3!.precision).toBeCloseTo(2 / 3, 12);
    expect(k3!.recall).toBe(0.5);
    expect(k3!.f1).toBeCloseTo(4 / 7, 12);
    // ceil(0.25 · 10) = 3
    expect(k3b!.k).toBe(3);
    // k = 10: P 0.4, R 1, F1 = 0.8 / 1.4 = 4/7
    expect(all!.precision).toBe(0.4);
    expect(all!.recall).toBe(1);
    expect(all!.f1).toBeCloseTo(4 / 7, 12);
  });

  it('calls at least one row positive and uses the paper fractions by default', () => {
    const r = topKPrecisionRecall(scores, labels);
    expect(r.map((x) => [x.fraction, x.k])).toEqual([
      [0.001, 1],
      [0.006, 1],
      [0.01, 1],
    ]);
  });

  it('breaks ties at the cut by ascending index', () => {
    // 0.9 is taken; then two 0.5s in index order: row 0 (neg) before rows 2, 3 (pos).
    const s = [0.5, 0.9, 0.5, 0.5];
    const y = [0, 0, 1, 1];
    const [half, threeQ] = topKPrecisionRecall(s, y, [0.5, 0.75]);
    expect(half).toMatchObject({ k: 2, precision: 0, recall: 0, f1: 0 });
    expect(threeQ).toMatchObject({ k: 3, precision: 1 / 3, recall: 0.5 });
    // Reversed index order of the same multiset flips the outcome.
    expect(topKPrecisionRecall([0.5, 0.5, 0.5, 0.9], [1, 1, 0, 0], [0.5])[0]).toMatchObject({ precision: 0.5 });
  });

  it('ranks masked rows only', () => {
    // Without row 0 the top of 9 rows is 0.8 (neg); 3 positives remain.
    const mask = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    expect(topKPrecisionRecall(scores, labels, [0.1], mask)[0]).toEqual({
      fraction: 0.1,
      k: 1,
      precision: 0,
      recall: 0,
      f1: 0,
    });
  });

  it('agrees with a stable comparator sort on random tied data', () => {
    const rand = mulberry32(5);
    const n = 5000;
    const s = Array.from({ length: n }, () => Math.round(rand() * 20) / 20);
    const y: number[] = s.map((v) => (rand() < v * 0.2 ? 1 : 0));
    const order = [...s.keys()].sort((a, b) => s[b]! - s[a]! || a - b);
    const positives = y.reduce((a, b) => a + b, 0);
    for (const r of topKPrecisionRecall(s, y, [0.001, 0.006, 0.01, 0.1, 0.33])) {
      const tp = order.slice(0, r.k).reduce((acc, i) => acc + y[i]!, 0);
      expect(r.k).toBe(Math.ceil(r.fraction * n));
      expect(r.precision).toBe(tp / r.k);
      expect(r.recall).toBe(tp / positives);
    }
  });

  it('reports NaN recall without positives and NaN everything without rows', () => {
    expect(topKPrecisionRecall([0.3, 0.2], [0, 0], [0.5])[0]).toMatchObject({ precision: 0, recall: NaN, f1: NaN });
    expect(topKPrecisionRecall([], [], [0.5])[0]).toMatchObject({ k: 0, precision: NaN });
  });

  it('rejects bad fractions and bad rows', () => {
    expect(() => topKPrecisionRecall([0.1], [1], [0])).toThrow(/fraction 0/);
    expect(() => topKPrecisionRecall([0.1], [1], [1.5])).toThrow(/fraction 1.5/);
    expect(() => topKPrecisionRecall([0.1, NaN], [1, 0])).toThrow(/scores\[1\] is NaN/);
    expect(() => topKPrecisionRecall([0.1, 0.2], [1])).toThrow(/length mismatch/);
  });
});

describe('topKCount', () => {
  it('snaps float noise instead of rounding it up', () => {
    expect(0.07 * 100).not.toBe(7); // 7.000000000000001
    expect(topKCount(0.07, 100)).toBe(7);
    expect(topKCount(0.01, 701)).toBe(8);
    expect(topKCount(0.001, 1500)).toBe(2);
    expect(topKCount(0.006, 1000)).toBe(6);
    expect(topKCount(0.001, 10)).toBe(1);
  });
});

describe('fractionLabel', () => {
  it('formats the report keys', () => {
    expect([0.001, 0.006, 0.01].map(fractionLabel)).toEqual(['0.1%', '0.6%', '1%']);
  });
});
