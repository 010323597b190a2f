import { describe, expect, it } from 'vitest';
import { logloss } from './logloss.js';

describe('logloss', () => {
  // p = 0.9, 0.2, 0.6, 0.1 with y = 1, 0, 0, 1:
  //   -ln 0.9 = 0.1053605, -ln 0.8 = 0.2231436, -ln 0.4 = 0.9162907, -ln 0.1 = 2.3025851
  //   mean = 3.5473799 / 4 = 0.8868450
  const p = [0.9, 0.2, 0.6, 0.1];
  const y = [1, 0, 0, 1];

  it('is the mean BCE on 4 rows by hand', () => {
    expect(logloss(p, y)).toBeCloseTo(0.886844973, 8);
  });

  it('averages over masked rows only', () => {
    // rows 0 and 2: (0.1053605 + 0.9162907) / 2
    expect(logloss(p, y, [1, 0, 1, 0])).toBeCloseTo((-Math.log(0.9) - Math.log(0.4)) / 2, 12);
  });

  it('clips to [eps, 1 - eps] so confident misses are finite', () => {
    // -ln(1e-7) = 16.11809565 for both rows.
    expect(logloss([0, 1], [1, 0])).toBeCloseTo(16.11809565, 7);
    expect(logloss([0, 1], [1, 0], undefined, 1e-3)).toBeCloseTo(-Math.log(1e-3), 10);
    expect(logloss([1, 0], [1, 0])).toBeCloseTo(1e-7, 12);
  });

  it('is NaN with no rows and rejects non-probabilities', () => {
    expect(logloss([0.5], [1], [0])).toBeNaN();
    expect(() => logloss([0.5, 1.5], [1, 0])).toThrow(/p\[1\] = 1.5/);
    expect(() => logloss([0.5, NaN], [1, 0])).toThrow(/p\[1\] = NaN/);
    expect(() => logloss([0.5, 0.5], [1, 3])).toThrow(/y\[1\] = 3/);
    expect(() => logloss([0.5], [1, 0])).toThrow(/length mismatch/);
  });
});
