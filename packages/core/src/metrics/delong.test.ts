import { describe, expect, it } from 'vitest';
import { mulberry32, normalSampler } from '../random.js';
import { auc } from './auc.js';
import { delongTest } from './delong.js';

/**
 * DeLong's variance straight from the definitions, O(m·n): the kernel
 * ψ(x, y) = 1, ½, 0 for x >, =, < y; V10(xᵢ) = mean_j ψ(xᵢ, yⱼ),
 * V01(yⱼ) = mean_i ψ(xᵢ, yⱼ); S10, S01 the (m−1), (n−1) sample covariance
 * matrices of the components of the two models; Var(A − B) =
 * (S10ᴬᴬ + S10ᴮᴮ − 2 S10ᴬᴮ)/m + (S01ᴬᴬ + S01ᴮᴮ − 2 S01ᴬᴮ)/n.
 */
function bruteForceDelong(sa: number[], sb: number[], y: number[]) {
  const psi = (x: number, z: number) => (x > z ? 1 : x === z ? 0.5 : 0);
  const pos = y.flatMap((v, i) => (v === 1 ? [i] : []));
  const neg = y.flatMap((v, i) => (v === 0 ? [i] : []));
  const m = pos.length;
  const n = neg.length;
  const comps = (s: number[]) => ({
    v10: pos.map((i) => neg.reduce((acc, j) => acc + psi(s[i]!, s[j]!), 0) / n),
    v01: neg.map((j) => pos.reduce((acc, i) => acc + psi(s[i]!, s[j]!), 0) / m),
  });
  const A = comps(sa);
  const B = comps(sb);
  const mean = (v: number[]) => v.reduce((x, z) => x + z, 0) / v.length;
  const cov = (u: number[], v: number[]) => {
    const mu = mean(u);
    const mv = mean(v);
    return u.reduce((acc, _, k) => acc + (u[k]! - mu) * (v[k]! - mv), 0) / (u.length - 1);
  };
  const varA = cov(A.v10, A.v10) / m + cov(A.v01, A.v01) / n;
  const varB = cov(B.v10, B.v10) / m + cov(B.v01, B.v01) / n;
  const covAB = cov(A.v10, B.v10) / m + cov(A.v01, B.v01) / n;
  return { aucA: mean(A.v10), aucB: mean(B.v10), varA, varB, covAB, variance: varA + varB - 2 * covAB };
}

describe('delongTest', () => {
  // Positives A {0.9, 0.4} vs negatives {0.5, 0.4, 0.1}; B {0.3, 0.8} vs {0.2, 0.6, 0.7}.
  //   V10ᴬ = [1, (1 + ½)/3 = ½]  V01ᴬ = [½, (1 + ½)/2 = ¾, 1]  AUC_A = ¾
  //   V10ᴮ = [⅓, 1]              V01ᴮ = [1, ½, ½]              AUC_B = ⅔
  //   D10 = [⅔, −½] → s² = 2·(7/12)² = 49/72, /m = 49/144
  //   D01 = [−½, ¼, ½] → s² = (49 + 4 + 25)/144/2 = 39/144, /n = 13/144
  //   Var(A − B) = 62/144 = 31/72; Var A = 1/16 + 1/48 = 1/12; Var B = 1/9 + 1/36 = 5/36;
  //   Cov = (1/12 + 5/36 − 31/72)/2 = −5/48.
  const labels = [1, 0, 0, 1, 0];
  const a = [0.9, 0.5, 0.4, 0.4, 0.1];
  const b = [0.3, 0.2, 0.6, 0.8, 0.7];

  it('matches the hand computation on a small case with a cross-class tie', () => {
    const r = delongTest(a, b, labels);
    expect(r.aucA).toBe(0.75);
    expect(r.aucB).toBeCloseTo(2 / 3, 15);
    expect(r.difference).toBeCloseTo(1 / 12, 15);
    expect(r.variance).toBeCloseTo(31 / 72, 14);
    expect(r.varianceA).toBeCloseTo(1 / 12, 14);
    expect(r.varianceB).toBeCloseTo(5 / 36, 14);
    expect(r.covariance).toBeCloseTo(-5 / 48, 14);
    const se = Math.sqrt(31 / 72);
    expect(r.se).toBeCloseTo(se, 14);
    expect(r.ci95[0]).toBeCloseTo(1 / 12 - 1.959963984540054 * se, 12);
    expect(r.ci95[1]).toBeCloseTo(1 / 12 + 1.959963984540054 * se, 12);
    expect(r.z).toBeCloseTo(1 / 12 / se, 14);
    // p = erfc(z/√2), z = 0.127000127…: CPython's math.erfc gives 0.8989402980321263.
    expect(r.pValue).toBeCloseTo(0.8989402980321263, 13);
    expect(r.positives).toBe(2);
    expect(r.negatives).toBe(3);
    expect(r.reason).toBeUndefined();
  });

  for (const seed of [1, 2, 3]) {
    it(`equals the O(n²) structural-components definition on random tied data (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const normal = normalSampler(rand);
      const n = 300;
      const y: number[] = [];
      const sa: number[] = [];
      const sb: number[] = [];
      for (let i = 0; i < n; i++) {
        const label = rand() < 0.25 ? 1 : 0;
        const shared = normal();
        y.push(label);
        // Correlated models rounded to one decimal: many ties within and across classes.
        sa.push(Math.round((shared + label + 0.5 * normal()) * 10) / 10);
        sb.push(Math.round((shared + 0.6 * label + 0.5 * normal()) * 5) / 5);
      }
      const ref = bruteForceDelong(sa, sb, y);
      const r = delongTest(sa, sb, y);
      expect(ref.covAB).toBeGreaterThan(0); // the pairing matters in this case
      expect(r.aucA).toBeCloseTo(ref.aucA, 13);
      expect(r.aucB).toBeCloseTo(ref.aucB, 13);
      expect(r.aucA).toBe(auc(sa, y));
      expect(r.variance).toBeCloseTo(ref.variance, 13);
      expect(r.varianceA).toBeCloseTo(ref.varA, 13);
      expect(r.varianceB).toBeCloseTo(ref.varB, 13);
      expect(r.covariance).toBeCloseTo(ref.covAB, 13);
    });
  }

  it('keeps only masked rows, as auc does', () => {
    const mask = [1, 1, 0, 1, 1];
    const r = delongTest(a, b, labels, mask);
    const keep = (v: number[]) => v.filter((_, i) => mask[i] === 1);
    const ref = bruteForceDelong(keep(a), keep(b), keep(labels));
    expect(r.positives).toBe(2);
    expect(r.negatives).toBe(2);
    expect(r.variance).toBeCloseTo(ref.variance, 14);
    expect(r.aucA).toBe(auc(a, labels, mask));
  });

  it('gives a zero-width interval and p = 1 for identical models', () => {
    const r = delongTest(a, a, labels);
    expect(r.difference).toBe(0);
    expect(r.se).toBe(0);
    expect(r.ci95).toEqual([0, 0]);
    expect(r.pValue).toBe(1);
  });

  it('gives NaN with a reason, not an exception, when the data cannot support the test', () => {
    const none = delongTest([0.1, 0.2], [0.3, 0.4], [0, 0]);
    expect(none.aucA).toBeNaN();
    expect(none.pValue).toBeNaN();
    expect(none.ci95).toEqual([NaN, NaN]);
    expect(none.reason).toMatch(/no positives among the 2 selected rows/);
    expect(delongTest([0.1, 0.2], [0.3, 0.4], [1, 1]).reason).toMatch(/no negatives/);
    expect(delongTest([], [], []).reason).toMatch(/no positives among the 0/);
    const one = delongTest([0.9, 0.1, 0.2], [0.1, 0.2, 0.3], [1, 0, 0]);
    expect(one.aucA).toBe(1);
    expect(one.aucB).toBe(0);
    expect(one.variance).toBeNaN();
    expect(one.reason).toMatch(/1 positives and 2 negatives: DeLong's variance needs at least 2 of each/);
  });

  it('throws naming the array and index on bad input', () => {
    expect(() => delongTest([0.1, 0.2], [0.1], [0, 1])).toThrow(/scoresB has length 1 but scoresA has length 2/);
    expect(() => delongTest([0.1, 0.2], [0.1, NaN], [0, 1])).toThrow(/delongTest: scores\[1\] is NaN/);
    expect(() => delongTest([0.1, 0.2], [0.1, 0.2], [0, 2])).toThrow(/labels\[1\] = 2/);
  });
});
