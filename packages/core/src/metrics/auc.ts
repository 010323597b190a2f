import { aucOfSorted } from './mann-whitney.js';
import { checkSameLength, isIncluded, readLabel, readScore, type NumericArray } from './validate.js';

/**
 * Exact ROC AUC over all selected rows (ties averaged). `mask[i] = 1` keeps row i,
 * e.g. the click label to evaluate CVR on clicked rows only. NaN when the
 * selection lacks either class, because AUC is undefined there, not 0.5.
 */
export function auc(scores: NumericArray, labels: NumericArray, mask?: NumericArray): number {
  const n = checkSameLength('auc', { scores, labels, mask });
  // Two passes: the first validates and sizes the class buffers exactly.
  let nPos = 0;
  let nNeg = 0;
  for (let i = 0; i < n; i++) {
    if (!isIncluded('auc', mask, i)) continue;
    readScore('auc', 'scores', scores, i);
    if (readLabel('auc', 'labels', labels, i) === 1) nPos++;
    else nNeg++;
  }
  if (nPos === 0 || nNeg === 0) return NaN;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  let p = 0;
  let q = 0;
  for (let i = 0; i < n; i++) {
    if (mask !== undefined && mask[i] !== 1) continue;
    if (labels[i] === 1) pos[p++] = scores[i]!;
    else neg[q++] = scores[i]!;
  }
  return aucOfSorted(pos.sort(), neg.sort());
}
