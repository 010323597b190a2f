import { describe, expect, it } from 'vitest';
import { pcoc } from './pcoc.js';

describe('pcoc', () => {
  const p = [0.9, 0.2, 0.6, 0.1];
  const y = [1, 0, 0, 1];

  it('is mean prediction / observed rate on 4 rows by hand', () => {
    // mean p = 1.8 / 4 = 0.45; observed = 2 / 4 = 0.5; 0.45 / 0.5 = 0.9
    expect(pcoc(p, y)).toBeCloseTo(0.9, 12);
  });

  it('uses masked rows only', () => {
    // rows 0..2: mean p = 1.7 / 3, observed = 1 / 3 -> 1.7
    expect(pcoc(p, y, [1, 1, 1, 0])).toBeCloseTo(1.7, 12);
  });

  it('is NaN (not Infinity) when there are no positives', () => {
    expect(pcoc([0.2, 0.3], [0, 0])).toBeNaN();
    expect(pcoc([], [])).toBeNaN();
  });

  it('rejects bad input', () => {
    expect(() => pcoc([0.2, -0.1], [0, 1])).toThrow(/p\[1\] = -0.1/);
    expect(() => pcoc([0.2], [0, 1])).toThrow(/length mismatch/);
  });
});
