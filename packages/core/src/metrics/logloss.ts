import { checkSameLength, isIncluded, readLabel, readProbability, type NumericArray } from './validate.js';

/**
 * Mean binary cross-entropy over selected rows, p clipped to [eps, 1 − eps] so a
 * confident miss costs a large finite amount instead of Infinity. NaN when no row
 * is selected. Probabilities outside [0, 1] throw: they mean a logit was passed.
 */
export function logloss(p: NumericArray, y: NumericArray, mask?: NumericArray, eps = 1e-7): number {
  if (!(eps >= 0 && eps < 0.5)) throw new Error(`logloss: eps = ${eps}, expected 0 <= eps < 0.5`);
  const n = checkSameLength('logloss', { p, y, mask });
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!isIncluded('logloss', mask, i)) continue;
    const q = Math.min(Math.max(readProbability('logloss', 'p', p, i), eps), 1 - eps);
    // log1p keeps precision for the tiny probabilities the funnel products produce.
    sum -= readLabel('logloss', 'y', y, i) === 1 ? Math.log(q) : Math.log1p(-q);
    count++;
  }
  return count === 0 ? NaN : sum / count;
}
