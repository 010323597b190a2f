import { checkSameLength, readLabel, type NumericArray } from './validate.js';

/**
 * Checks the ESM2 label funnel: every label is 0/1, and a DAction or a purchase
 * only happens on a clicked impression. A violating row is bad input; fixing it
 * silently would move CVR/CTCVR metrics, so it throws. Returns the row count.
 */
export function checkFunnelLabels(
  fn: string,
  click: NumericArray,
  daction: NumericArray,
  buy: NumericArray,
): number {
  const n = checkSameLength(fn, { click, daction, buy });
  for (let i = 0; i < n; i++) {
    const c = readLabel(fn, 'click', click, i);
    const a = readLabel(fn, 'daction', daction, i);
    const b = readLabel(fn, 'buy', buy, i);
    if (c === 0 && (a === 1 || b === 1)) {
      throw new Error(
        `${fn}: row ${i} has daction=${a}, buy=${b} without a click; DAction and purchase require click = 1`,
      );
    }
  }
  return n;
}
