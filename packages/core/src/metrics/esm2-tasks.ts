// The ESM2 evaluation conventions (ESM2.md) in one table, so every metric —
// AUC, GAUC, logloss, PCOC, top-k, oracle — uses the same rows and labels.
// The classic mistake is CVR on all impressions: unclicked rows are then
// "negatives" the CVR model was never meant to rank.

import type { NumericArray } from './validate.js';

export type Esm2Task = 'ctr' | 'ctavr' | 'cvr' | 'ctcvr';
export type Esm2PredictionName = 'pctr' | 'pctavr' | 'pcvr' | 'pctcvr';

export const ESM2_TASKS: readonly Esm2Task[] = ['ctr', 'ctavr', 'cvr', 'ctcvr'];

export const PREDICTION_OF: Readonly<Record<Esm2Task, Esm2PredictionName>> = {
  ctr: 'pctr',
  ctavr: 'pctavr',
  cvr: 'pcvr',
  ctcvr: 'pctcvr',
};

export interface TaskRows {
  /** 0/1 target per impression. */
  label: Uint8Array;
  /** Rows the task is evaluated on; undefined = every impression. */
  mask: Uint8Array | undefined;
}

/**
 * CTR: all rows, label c. CTAVR: all rows, label c·a. CVR: clicked rows only,
 * label b. CTCVR: all rows, label c·b. Labels must already be validated 0/1.
 */
export function esm2TaskRows(
  click: NumericArray,
  daction: NumericArray,
  buy: NumericArray,
): Record<Esm2Task, TaskRows> {
  const n = click.length;
  const c = Uint8Array.from(click);
  const ca = new Uint8Array(n);
  const b = Uint8Array.from(buy);
  const cb = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    ca[i] = c[i]! & daction[i]!;
    cb[i] = c[i]! & b[i]!;
  }
  return {
    ctr: { label: c, mask: undefined },
    ctavr: { label: ca, mask: undefined },
    cvr: { label: b, mask: c },
    ctcvr: { label: cb, mask: undefined },
  };
}
