import { describe, expect, it } from 'vitest';
import { mulberry32, normalSampler } from '../random.js';
import { auc } from './auc.js';
import { AUC_RESAMPLE, GAUC_RESAMPLE, pairedBootstrap, percentilePValue, quantileOfSorted } from './bootstrap.js';
import { delongTest } from './delong.js';
import { normalCdf } from './distributions.js';
import { gauc } from './gauc.js';
import type { NumericArray } from './validate.js';

/**
 * Two correlated binormal models: within each class a score is
 * μ·label + √½·Z + √½·Zₘ (unit variance, correlation ½ between models), so the
 * true AUC is Φ(μ/√2) and the true difference is known.
 */
const MU_A = 1.0;
const MU_B = 0.6;
const TRUE_DIFF = normalCdf(MU_A / Math.SQRT2) - normalCdf(MU_B / Math.SQRT2);

function simulate(seed: number, n: number, users = 0) {
  const rand = mulberry32(seed);
  const normal = normalSampler(rand);
  const labels = new Float64Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const groups: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = rand() < 0.3 ? 1 : 0;
    const shared = Math.SQRT1_2 * normal();
    labels[i] = y;
    a[i] = MU_A * y + shared + Math.SQRT1_2 * normal();
    b[i] = MU_B * y + shared + Math.SQRT1_2 * normal();
    if (users > 0) groups.push(Math.floor(rand() * users));
  }
  return { labels, a, b, groups };
}

describe('pairedBootstrap', () => {
  it('covers the true AUC difference at about the nominal 95 % rate (and agrees with DeLong)', () => {
    const replications = 200;
    let bootCovered = 0;
    let delongCovered = 0;
    let seRatio = 0;
    for (let rep = 0; rep < replications; rep++) {
      const { labels, a, b } = simulate(1000 + rep, 200);
      const r = pairedBootstrap({ scoresA: a, scoresB: b, labels, metric: AUC_RESAMPLE, resamples: 200, seed: rep });
      const d = delongTest(a, b, labels);
      expect(r.difference).toBeCloseTo(d.difference, 14);
      expect(r.ci95[0]).toBeLessThan(r.ci95[1]);
      if (r.ci95[0] <= TRUE_DIFF && TRUE_DIFF <= r.ci95[1]) bootCovered++;
      if (d.ci95[0] <= TRUE_DIFF && TRUE_DIFF <= d.ci95[1]) delongCovered++;
      seRatio += r.se / d.se / replications;
    }
    // Seeded, so deterministic (measured: bootstrap 0.92, DeLong 0.945, se ratio
    // 1.00); the band is wide (±4 binomial sd) so a change of seed or resampler
    // detail cannot make it flaky, yet a broken interval fails: an unpaired
    // resample inflates the se by ~√2 here, a mis-centred one drops coverage.
    expect(bootCovered / replications).toBeGreaterThan(0.88);
    expect(bootCovered / replications).toBeLessThan(0.995);
    expect(delongCovered / replications).toBeGreaterThan(0.88);
    expect(delongCovered / replications).toBeLessThan(0.995);
    expect(seRatio).toBeGreaterThan(0.85);
    expect(seRatio).toBeLessThan(1.15);
  });

  it('gives the percentile p of the same resamples: p < 0.05 goes with an interval clear of 0', () => {
    let agree = 0;
    let significant = 0;
    for (let rep = 0; rep < 200; rep++) {
      const { labels, a, b } = simulate(5000 + rep, 200);
      const r = pairedBootstrap({ scoresA: a, scoresB: b, labels, metric: AUC_RESAMPLE, resamples: 200, seed: rep });
      const clear = r.ci95[0] > 0 || r.ci95[1] < 0;
      if (clear) significant++;
      if (clear === r.pValue < 0.05) agree++;
      expect(r.pValue).toBeGreaterThanOrEqual(0);
      expect(r.pValue).toBeLessThanOrEqual(1);
    }
    // The p inverts the interval: they never disagree (a count-based p did here in 7 of 200).
    expect(significant).toBeGreaterThan(10);
    expect(agree).toBe(200);
    // Exactly: at p's α the interval touches 0; each side of 0 by hand.
    const sorted = [-0.3, -0.1, 0.2, 0.4, 0.5];
    const p = percentilePValue(sorted);
    expect(quantileOfSorted(sorted, p / 2)).toBeCloseTo(0, 12);
    expect(p).toBeCloseTo(2 * ((1 + 0.1 / 0.3) / 4), 12);
    expect(percentilePValue([0.1, 0.2])).toBe(0);
    expect(percentilePValue([-0.2, -0.1])).toBe(0);
    expect(percentilePValue([-1, 0, 0, 1])).toBe(1);
    // One model against itself: every resampled difference is 0, p = 1.
    const { labels, a } = simulate(7, 200);
    expect(pairedBootstrap({ scoresA: a, scoresB: a, labels, metric: AUC_RESAMPLE, resamples: 50, seed: 1 }).pValue).toBe(1);
  });

  it('is deterministic for a seed, and the weighted path equals the materialised one', () => {
    const { labels, a, b } = simulate(7, 300);
    const fast = pairedBootstrap({ scoresA: a, scoresB: b, labels, metric: AUC_RESAMPLE, resamples: 100, seed: 3 });
    const again = pairedBootstrap({ scoresA: a, scoresB: b, labels, metric: AUC_RESAMPLE, resamples: 100, seed: 3 });
    const slow = pairedBootstrap({ scoresA: a, scoresB: b, labels, metric: (s, y) => auc(s, y), resamples: 100, seed: 3 });
    const other = pairedBootstrap({ scoresA: a, scoresB: b, labels, metric: AUC_RESAMPLE, resamples: 100, seed: 4 });
    expect(again).toEqual(fast);
    expect(fast.a).toBe(auc(a, labels));
    expect(fast.b).toBe(auc(b, labels));
    expect(slow.ci95[0]).toBeCloseTo(fast.ci95[0], 13);
    expect(slow.ci95[1]).toBeCloseTo(fast.ci95[1], 13);
    expect(slow.se).toBeCloseTo(fast.se, 13);
    expect(other.ci95[0]).not.toBe(fast.ci95[0]);
    expect(fast.defined).toBe(100);
  });

  it('keeps the positive count of every resample, and resamples both models with the same rows', () => {
    const { labels, a } = simulate(8, 150);
    const positives = labels.reduce((s, y) => s + y, 0);
    const seen: number[] = [];
    // A metric that reports the positive count; A and B identical → difference 0 every time.
    const countPositives = (_: NumericArray, y: NumericArray) => {
      let p = 0;
      for (let i = 0; i < y.length; i++) p += y[i]!;
      seen.push(p, y.length);
      return p;
    };
    const r = pairedBootstrap({ scoresA: a, scoresB: a, labels, metric: countPositives, resamples: 20 });
    expect(seen.length).toBe(2 * 2 + 2 * 2 * 20);
    for (let k = 0; k < seen.length; k += 2) {
      expect(seen[k]).toBe(positives);
      expect(seen[k + 1]).toBe(150);
    }
    expect(r.ci95).toEqual([0, 0]);
  });

  it('resamples whole users for GAUC, keeping the number of users with a positive', () => {
    const { labels, a, b, groups } = simulate(9, 400, 40);
    const rowsOf = new Map<number, number>();
    const posUsers = new Set<number>();
    groups.forEach((u, i) => {
      rowsOf.set(u, (rowsOf.get(u) ?? 0) + 1);
      if (labels[i] === 1) posUsers.add(u);
    });
    const checkWholeUsers = (s: NumericArray, y: NumericArray, g?: ArrayLike<number | string>) => {
      const count = new Map<number, number>();
      for (let i = 0; i < g!.length; i++) count.set(g![i] as number, (count.get(g![i] as number) ?? 0) + 1);
      let drawsOfPosUsers = 0;
      for (const [u, c] of count) {
        expect(c % rowsOf.get(u)!).toBe(0); // whole users only
        if (posUsers.has(u)) drawsOfPosUsers += c / rowsOf.get(u)!;
      }
      expect(drawsOfPosUsers).toBe(posUsers.size);
      return gauc(s, y, g!).gauc;
    };
    const slow = pairedBootstrap({ scoresA: a, scoresB: b, labels, groups, metric: checkWholeUsers, resamples: 30 });
    const fast = pairedBootstrap({ scoresA: a, scoresB: b, labels, groups, metric: GAUC_RESAMPLE, resamples: 30 });
    expect(fast.a).toBeCloseTo(gauc(a, labels, groups).gauc, 14);
    expect(fast.ci95[0]).toBeCloseTo(slow.ci95[0], 13);
    expect(fast.ci95[1]).toBeCloseTo(slow.ci95[1], 13);
    expect(fast.ci95[0]).toBeLessThan(fast.ci95[1]);
  });

  it('resamples only the masked-in rows (e.g. clicked rows for CVR)', () => {
    const { labels, a, b } = simulate(11, 300);
    const mask = Float64Array.from(labels, (_, i) => (i % 3 === 0 ? 0 : 1));
    a[0] = NaN; // masked out: never read
    const keep = (v: Float64Array) => v.filter((_, i) => mask[i] === 1);
    const masked = pairedBootstrap({ scoresA: a, scoresB: b, labels, mask, metric: AUC_RESAMPLE, resamples: 50 });
    const filtered = pairedBootstrap({
      scoresA: keep(a),
      scoresB: keep(b),
      labels: keep(labels),
      metric: AUC_RESAMPLE,
      resamples: 50,
    });
    expect(masked).toEqual(filtered);
    expect(masked.a).toBe(auc(a, labels, mask));
    a[1] = NaN;
    expect(() => pairedBootstrap({ scoresA: a, scoresB: b, labels, mask, metric: AUC_RESAMPLE })).toThrow(
      /pairedBootstrap: scoresA\[1\] is NaN/,
    );
    expect(() =>
      pairedBootstrap({ scoresA: b, scoresB: b, labels, mask: [1], metric: AUC_RESAMPLE }),
    ).toThrow(/mask has length 1/);
  });

  it('gives NaN with a reason when the metric is undefined on the data', () => {
    const r = pairedBootstrap({ scoresA: [0.1, 0.2], scoresB: [0.3, 0.4], labels: [0, 0], metric: AUC_RESAMPLE });
    expect(r.a).toBeNaN();
    expect(r.ci95).toEqual([NaN, NaN]);
    expect(r.reason).toMatch(/undefined on all 2 rows/);
    // Defined on the given (plain array) rows, undefined on every resample (typed arrays).
    const never = pairedBootstrap({
      scoresA: [0.1, 0.2],
      scoresB: [0.3, 0.4],
      labels: [0, 1],
      metric: (scores) => (scores instanceof Float64Array ? NaN : scores[0]!),
      resamples: 50,
    });
    expect(never.difference).toBeCloseTo(-0.2, 15);
    expect(never.defined).toBe(0);
    expect(never.ci95).toEqual([NaN, NaN]);
    expect(never.reason).toMatch(/undefined on all 50 resamples/);
  });

  it('rejects bad arguments naming them', () => {
    const base = { scoresA: [0.1, 0.2], scoresB: [0.3, 0.4], labels: [0, 1], metric: AUC_RESAMPLE };
    expect(() => pairedBootstrap({ ...base, resamples: 0 })).toThrow(/resamples = 0/);
    expect(() => pairedBootstrap({ ...base, labels: [0, 2] })).toThrow(/labels\[1\] = 2/);
    expect(() => pairedBootstrap({ ...base, scoresB: [0.3] })).toThrow(/scoresB has length 1/);
    expect(() => pairedBootstrap({ ...base, metric: GAUC_RESAMPLE })).toThrow(/needs groups/);
    expect(() => pairedBootstrap({ ...base, groups: [1, NaN], metric: GAUC_RESAMPLE })).toThrow(/groups\[1\] is NaN/);
  });

  it('takes percentiles with linear interpolation (type 7)', () => {
    expect(quantileOfSorted([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantileOfSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileOfSorted([0, 10], 0.025)).toBe(0.25);
    expect(quantileOfSorted([7], 0.975)).toBe(7);
  });
});
