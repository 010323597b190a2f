import type { BaseRates } from '@esm2/core';
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
  for (let i = 0; i < n; i++) {
    const broken = funnelBreak(click, daction, buy, i);
    if (broken) flag(i, broken === 'daction' ? labels.daction[source[i]!]! : labels.buy, `${broken}=1 but click=0`);
  }
  return { click, daction, buy };
}

/**
 * The funnel: DAction and purchase only follow a click. Breaking it is bad
 * input, never "fixed": which label of row `i` breaks it (DAction first), if any.
 */
export function funnelBreak(click: Float32Array, daction: Float32Array, buy: Float32Array, i: number): 'daction' | 'buy' | undefined {
  if (click[i] !== 0) return undefined;
  return daction[i] === 1 ? 'daction' : buy[i] === 1 ? 'buy' : undefined;
}

/**
 * Label counts of a training file (rows kept by reading): what the base
 * rates of a calibrated start come from. OAction = clicked without DAction.
 */
export interface LabelCounts {
  rows: number;
  clicks: number;
  dactions: number;
  buys: number;
  /** Purchases after a DAction, and after an OAction (the two add up to `buys`). */
  dactionBuys: number;
  oactionBuys: number;
}

export const emptyLabelCounts = (): LabelCounts => ({ rows: 0, clicks: 0, dactions: 0, buys: 0, dactionBuys: 0, oactionBuys: 0 });

/** Adds the labels of rows 0..n−1 of a block, skipping the dropped ones, to `counts`. */
export function countLabels(counts: LabelCounts, labels: Batch['labels'], n: number, drop: ReadonlySet<number>): void {
  const { click, daction, buy } = labels;
  for (let i = 0; i < n; i++) {
    if (drop.has(i)) continue;
    counts.rows++;
    if (click[i] !== 1) continue;
    counts.clicks++;
    const a = daction[i] === 1;
    if (a) counts.dactions++;
    if (buy[i] === 1) {
      counts.buys++;
      if (a) counts.dactionBuys++;
      else counts.oactionBuys++;
    }
  }
}

/**
 * The base rates of the towers (click rate; DAction | click; buy | DAction;
 * buy | OAction; buy | click), each as (positives + 1) / (trials + 2):
 * Laplace's rule keeps a rate with no trials or no positives (data without
 * a DAction column) off 0 and 1, and on millions of rows it is the plain rate.
 */
export function baseRates(c: LabelCounts): BaseRates {
  const rate = (k: number, n: number) => (k + 1) / (n + 2);
  return {
    ctr: rate(c.clicks, c.rows),
    dactionGivenClick: rate(c.dactions, c.clicks),
    buyGivenDAction: rate(c.dactionBuys, c.dactions),
    buyGivenOAction: rate(c.oactionBuys, c.clicks - c.dactions),
    buyGivenClick: rate(c.buys, c.clicks),
  };
}
