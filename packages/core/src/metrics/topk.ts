import { upperBound } from './mann-whitney.js';
import { checkSameLength, isIncluded, readLabel, readScore, type NumericArray } from './validate.js';

export const DEFAULT_TOP_K_FRACTIONS: readonly number[] = [0.001, 0.006, 0.01];

export interface TopKResult {
  fraction: number;
  /** Rows called positive: ceil(fraction · n), at least 1 (0 only when n = 0). */
  k: number;
  /** True positives / k. */
  precision: number;
  /** True positives / all positives; NaN when there are none. */
  recall: number;
  /** Harmonic mean; 0 when precision = recall = 0, NaN when recall is NaN. */
  f1: number;
}

/**
 * ceil(fraction · n), but 0.01 · 700 = 7.000000000000001 in floating point must
 * give 7, not 8, so products within rounding noise of an integer snap to it.
 */
export function topKCount(fraction: number, n: number): number {
  if (n === 0) return 0;
  const x = fraction * n;
  const r = Math.round(x);
  const k = Math.abs(x - r) <= 1e-9 * Math.max(1, x) ? r : Math.ceil(x);
  return Math.min(n, Math.max(1, k));
}

/**
 * Precision / recall / F1 when the top ceil(fraction · n) selected rows by score
 * are called positive. Tie rule at the cut: rows scoring strictly above the k-th
 * largest score are all taken, and the remaining slots go to the rows tied at
 * that score in ascending index order — deterministic, and independent of the
 * sort algorithm.
 */
export function topKPrecisionRecall(
  scores: NumericArray,
  labels: NumericArray,
  fractions: readonly number[] = DEFAULT_TOP_K_FRACTIONS,
  mask?: NumericArray,
): TopKResult[] {
  for (const f of fractions) {
    if (!(f > 0 && f <= 1)) throw new Error(`topKPrecisionRecall: fraction ${f} is not in (0, 1]`);
  }
  const len = checkSameLength('topKPrecisionRecall', { scores, labels, mask });
  let n = 0;
  for (let i = 0; i < len; i++) {
    if (!isIncluded('topKPrecisionRecall', mask, i)) continue;
    readScore('topKPrecisionRecall', 'scores', scores, i);
    readLabel('topKPrecisionRecall', 'labels', labels, i);
    n++;
  }
  // Compact copies in index order: the tie rule needs index order, and the
  // sorted copy only needs to locate each cut's threshold.
  const sel = new Float64Array(n);
  const lab = new Uint8Array(n);
  let positives = 0;
  for (let i = 0, j = 0; i < len; i++) {
    if (mask !== undefined && mask[i] !== 1) continue;
    sel[j] = scores[i]!;
    lab[j] = labels[i]!;
    positives += labels[i]!;
    j++;
  }
  const sorted = sel.slice().sort();

  return fractions.map((fraction) => {
    const k = topKCount(fraction, n);
    if (k === 0) return { fraction, k, precision: NaN, recall: NaN, f1: NaN };
    const threshold = sorted[n - k]!;
    const above = n - upperBound(sorted, threshold);
    let tiedSlots = k - above;
    let tp = 0;
    for (let j = 0; j < n; j++) {
      const s = sel[j]!;
      if (s > threshold) tp += lab[j]!;
      else if (s === threshold && tiedSlots > 0) {
        tp += lab[j]!;
        tiedSlots--;
      }
    }
    const precision = tp / k;
    const recall = positives === 0 ? NaN : tp / positives;
    const f1 = Number.isNaN(recall) ? NaN : tp === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { fraction, k, precision, recall, f1 };
  });
}

/** "0.1%", "0.6%", "1%": the report keys; toPrecision strips float noise like 0.6000000000000001. */
export function fractionLabel(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(12))}%`;
}
