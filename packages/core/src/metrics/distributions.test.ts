import { describe, expect, it } from 'vitest';
import { erfc, normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions.js';

describe('normal distribution', () => {
  it('erfc matches reference values on both branches and for negative x', () => {
    // Reference values: CPython's math.erfc (an independent implementation).
    expect(erfc(0)).toBe(1);
    expect(erfc(0.5)).toBeCloseTo(0.4795001221869535, 14);
    expect(erfc(1)).toBeCloseTo(0.15729920705028513, 14);
    expect(erfc(1.9999)).toBeCloseTo(0.004679802092970608, 15);
    expect(erfc(2)).toBeCloseTo(0.004677734981047266, 15);
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 11);
    expect(erfc(6) / 2.151973671249892e-17).toBeCloseTo(1, 11);
    expect(erfc(-1)).toBeCloseTo(2 - 0.15729920705028513, 14);
    expect(erfc(40)).toBe(0);
  });

  it('Φ and Φ⁻¹ agree with the textbook 97.5 % point and invert each other', () => {
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(0.995)).toBeCloseTo(2.5758293035489, 11);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963984540054, 12);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(1)).toBe(Infinity);
    for (const p of [1e-10, 0.001, 0.3, 0.8, 0.999999]) {
      expect(normalCdf(normalQuantile(p)) / p).toBeCloseTo(1, 10);
    }
    expect(() => normalQuantile(1.5)).toThrow(/p = 1.5/);
  });
});

describe('Student t distribution', () => {
  it('reproduces the tabulated two-sided 95 % quantiles', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706204736174707, 9);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.302653, 6);
    expect(studentTQuantile(0.975, 3)).toBeCloseTo(3.182446305284263, 10);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776445, 6);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228138851986274, 10);
    expect(studentTQuantile(0.975, 29)).toBeCloseTo(2.04523, 6);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042272456301238, 10);
    expect(studentTQuantile(0.975, 100)).toBeCloseTo(1.983971518523552, 10);
    expect(studentTQuantile(0.995, 5)).toBeCloseTo(4.032142983557536, 9);
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.776445, 6);
  });

  it('has the closed-form CDFs for 1 and 2 degrees of freedom', () => {
    for (const t of [-3, -0.4, 0, 0.7, 5, 100]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 14);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 14);
    }
    expect(studentTCdf(Infinity, 7)).toBe(1);
    expect(studentTCdf(-Infinity, 8)).toBe(0);
  });

  it('joins the Cornish–Fisher expansion to the exact CDF seamlessly above 1000 df', () => {
    // Exact (bisection on the finite sum) just below the switch vs the expansion just above.
    const below = studentTQuantile(0.975, 1000);
    const above = studentTQuantile(0.975, 1001);
    expect(below).toBeCloseTo(1.962339, 6); // R: qt(0.975, 1000)
    expect(above).toBeLessThan(below);
    expect(below - above).toBeLessThan(1e-5);
    // The expansion inverts the exact CDF (which stays exact at any df).
    expect(studentTCdf(studentTQuantile(0.975, 5000), 5000)).toBeCloseTo(0.975, 12);
    expect(studentTCdf(studentTQuantile(0.999, 2000), 2000)).toBeCloseTo(0.999, 12);
    expect(studentTQuantile(0.975, 1e9)).toBeCloseTo(normalQuantile(0.975), 8);
  });

  it('rejects non-integer degrees of freedom', () => {
    expect(() => studentTQuantile(0.975, 2.5)).toThrow(/degrees of freedom 2.5/);
    expect(() => studentTCdf(1, 0)).toThrow(/degrees of freedom 0/);
  });
});
