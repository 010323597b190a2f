import { aucOfSorted } from './mann-whitney.js';
import { checkSameLength, isIncluded, readLabel, readScore, type NumericArray } from './validate.js';

/**
 * Exact ROC AUC over all selected rows (ties averaged). `mask[i] = 1` keeps row i,
 * e.g. the click label to evaluate CVR on clicked rows only. NaN when the
 * selection lacks either class, because AUC is undefined there, not 0.5.
 */
export function auc(scores: NumericArray, labels: NumericArray, mask?: NumericArray): number {
  const { pos, neg } = splitByClass('auc', scores, labels, mask);
  if (pos.length === 0 || neg.length === 0) return NaN;
  return aucOfSorted(pos.sort(), neg.sort());
}

/**
 * The selected rows' scores split by label, each class in row order (so two
 * models' splits over the same labels pair row by row). Validates every
 * selected row: a NaN score, a label other than 0/1 or a mask other than 0/1
 * throws naming `fn` and the index.
 */
export function splitByClass(
  fn: string,
  scores: NumericArray,
  labels: NumericArray,
  mask?: NumericArray,
): { pos: Float64Array; neg: Float64Array } {
  const n = checkSameLength(fn, { scores, labels, mask });
  // Two passes: the first validates and sizes the class buffers exactly.
  let nPos = 0;
  let nNeg = 0;
  for (let i = 0; i < n; i++) {
    if (!isIncluded(fn, mask, i)) continue;
    readScore(fn, 'scores', scores, i);
    if (readLabel(fn, 'labels', labels, i) === 1) nPos++;
    else nNeg++;
  }
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  let p = 0;
  let q = 0;
  for (let i = 0; i < n; i++) {
    if (mask !== undefined && mask[i] !== 1) continue;
    if (labels[i] === 1) pos[p++] = scores[i]!;
    else neg[q++] = scores[i]!;
  }
  return { pos, neg };
}
