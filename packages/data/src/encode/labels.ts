import type { Batch } from '../batch.js';
import type { ResolvedConfig } from '../infer.js';
import { parseLabel } from './values.js';

export type FlagBad = (row: number, column: string, reason: string) => void;

/**
 * Labels as 0/1 floats; DAction is the OR of its columns (cart, fav, ...).
 * A label column the data lacks (no DAction in Ali-CCP) reads as all zeros.
 */
export function encodeLabels(
  labels: ResolvedConfig['labels'],
  get: (column: string) => unknown[] | undefined,
  n: number,
  flag: FlagBad,
): Batch['labels'] {
  // Which DAction column fired first, so a funnel error names a real column.
  const source = new Int8Array(n).fill(-1);
  const read = (col: string, out: Float32Array, tag = 0) => {
    const values = get(col);
    if (values === undefined) return;
    for (let i = 0; i < n; i++) {
      const x = parseLabel(values[i]);
      if (typeof x === 'string') flag(i, col, x);
      else if (x === 1 && out[i] === 0) {
        out[i] = 1;
        source[i] = tag;
      }
    }
  };
  const click = new Float32Array(n);
  const daction = new Float32Array(n);
  const buy = new Float32Array(n);
  read(labels.click, click);
  for (const [k, a] of labels.daction.entries()) read(a, daction, k);
  read(labels.buy, buy);
  // The funnel: DAction and purchase only follow a click. Breaking it is bad input, never "fixed".
  for (let i = 0; i < n; i++) {
    if (click[i] !== 0) continue;
    if (daction[i] === 1) flag(i, labels.daction[source[i]!]!, 'daction=1 but click=0');
    else if (buy[i] === 1) flag(i, labels.buy, 'buy=1 but click=0');
  }
  return { click, daction, buy };
}
