import { expect } from 'vitest';

/** Element-wise |a − b| ≤ atol + rtol·|b|, reporting the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) expect.fail(`${what}[${worst}] = ${actual[worst]} but expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
}
