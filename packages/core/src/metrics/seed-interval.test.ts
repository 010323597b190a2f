import { describe, expect, it } from 'vitest';
import { pairedSeedInterval } from './seed-interval.js';

describe('pairedSeedInterval', () => {
  it('matches the paired t-test by hand on three seeds', () => {
    // Differences 0.02, 0.03, 0.01: mean 0.02, sd 0.01, se 0.01/√3, t(0.975, 2) = 4.302653;
    // t = 0.02/(0.01/√3) = √12, two-sided p (df 2) = 1 − t/√(2 + t²) = 1 − √(6/7).
    const r = pairedSeedInterval([0.8, 0.82, 0.81], [0.78, 0.79, 0.8]);
    expect(r.seeds).toBe(3);
    expect(r.meanA).toBeCloseTo(0.81, 14);
    expect(r.meanB).toBeCloseTo(0.79, 14);
    expect(r.difference).toBeCloseTo(0.02, 14);
    expect(r.sd).toBeCloseTo(0.01, 14);
    expect(r.se).toBeCloseTo(0.01 / Math.sqrt(3), 14);
    expect(r.df).toBe(2);
    expect(r.tQuantile).toBeCloseTo(4.302653, 6);
    const half = 4.302652729749464 * (0.01 / Math.sqrt(3));
    expect(r.ci95[0]).toBeCloseTo(0.02 - half, 9);
    expect(r.ci95[1]).toBeCloseTo(0.02 + half, 9);
    expect(r.ci95[0]).toBeLessThan(0); // 3 seeds: not significant despite every seed favouring A
    expect(r.t).toBeCloseTo(Math.sqrt(12), 10);
    expect(r.pValue).toBeCloseTo(1 - Math.sqrt(6 / 7), 10);
    expect(r.reason).toBeUndefined();
  });

  it('uses the t quantile for the seed count (5 seeds → 4 df, 30 seeds → 29 df)', () => {
    const five = pairedSeedInterval([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]);
    expect(five.tQuantile).toBeCloseTo(2.776445, 6);
    expect(five.ci95[1] - five.difference).toBeCloseTo(2.776445 * (Math.sqrt(2.5) / Math.sqrt(5)), 6);
    const a = Array.from({ length: 30 }, (_, i) => Math.sin(i));
    const thirty = pairedSeedInterval(a, a.map(() => 0));
    expect(thirty.df).toBe(29);
    expect(thirty.tQuantile).toBeCloseTo(2.04523, 6);
  });

  it('collapses to the difference with no spread', () => {
    const r = pairedSeedInterval([0.7, 0.8], [0.6, 0.7]);
    expect(r.sd).toBeCloseTo(0, 14);
    expect(r.difference).toBeCloseTo(0.1, 14);
    const same = pairedSeedInterval([0.7, 0.8], [0.7, 0.8]);
    expect(same.ci95).toEqual([0, 0]);
    expect(same.pValue).toBe(1);
  });

  it('gives NaN with a reason for one seed or an undefined metric, and throws on unpaired input', () => {
    const one = pairedSeedInterval([0.8], [0.7]);
    expect(one.difference).toBeCloseTo(0.1, 14);
    expect(one.ci95).toEqual([NaN, NaN]);
    expect(one.reason).toBe('1 seed: a spread over seeds needs at least 2');
    const undef = pairedSeedInterval([0.8, NaN, 0.7], [0.7, 0.6, NaN]);
    expect(undef.pValue).toBeNaN();
    expect(undef.reason).toMatch(/undefined \(NaN\) for seed index 1, 2/);
    expect(pairedSeedInterval([], []).reason).toMatch(/0 seeds/);
    expect(() => pairedSeedInterval([0.8, 0.7], [0.7])).toThrow(/2 values for model A but 1 for model B/);
  });
});
