import { checkSameLength, isIncluded, readLabel, readProbability, type NumericArray } from './validate.js';

/**
 * Calibration: mean predicted probability / observed positive rate over selected
 * rows (1 = calibrated, > 1 = over-predicting). Returns NaN — not Infinity — when
 * there are no positives (or no rows): the ratio carries no information then, and
 * NaN cannot be mistaken for "very over-calibrated" in a comparison.
 */
export function pcoc(p: NumericArray, y: NumericArray, mask?: NumericArray): number {
  const n = checkSameLength('pcoc', { p, y, mask });
  let sumP = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (!isIncluded('pcoc', mask, i)) continue;
    sumP += readProbability('pcoc', 'p', p, i);
    positives += readLabel('pcoc', 'y', y, i);
  }
  // The row counts cancel: mean(p) / mean(y) = sum(p) / sum(y).
  return positives === 0 ? NaN : sumP / positives;
}
