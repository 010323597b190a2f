import type { Esm2Metrics } from '@esm2/core';

/**
 * Validation metrics that pick the best epoch and stop early, by name:
 * AUC-like ones improve upwards, loglosses downwards. `logloss_ctcvr` reads
 * metrics.logloss.ctcvr; `logloss` is the sum of the entire-space loglosses
 * (ctr + ctavr + ctcvr, those the model predicts): the validation value of
 * ESM2's objective with unit weights, which rests on every row rather than
 * on the few purchases a CTCVR AUC rests on.
 */
const TASKS = ['ctr', 'ctavr', 'cvr', 'ctcvr'] as const;
const ENTIRE_SPACE = ['ctr', 'ctavr', 'ctcvr'] as const;
export const METRIC_NAMES = [
  'logloss',
  ...TASKS.map((t) => `${t}_auc`),
  'cvr_gauc',
  'ctcvr_gauc',
  ...TASKS.map((t) => `logloss_${t}`),
] as const;

export interface MetricKey {
  name: string;
  higherIsBetter: boolean;
  read(metrics: Esm2Metrics): number | undefined;
}

export function metricKey(name: string): MetricKey {
  if (!(METRIC_NAMES).includes(name)) throw new Error(`unknown metric '${name}' (choose from ${METRIC_NAMES.join(', ')})`);
  if (name === 'logloss') return { name, higherIsBetter: false, read: entireSpaceLogloss };
  if (name.startsWith('logloss_')) {
    const task = name.slice('logloss_'.length) as (typeof TASKS)[number];
    return { name, higherIsBetter: false, read: (m) => m.logloss[task] };
  }
  return { name, higherIsBetter: true, read: (m) => m[name as 'ctr_auc'] };
}

/** Whether `value` beats `best` (a missing or NaN value never does; anything beats no best). */
export function improves(key: MetricKey, value: number | undefined, best: number | undefined): boolean {
  if (value === undefined || Number.isNaN(value)) return false;
  if (best === undefined) return true;
  return key.higherIsBetter ? value > best : value < best;
}

/** ctr + ctavr + ctcvr logloss, over the tasks the model predicts (ESMM has no ctavr); undefined without ctr or ctcvr. */
export function entireSpaceLogloss(m: Esm2Metrics): number | undefined {
  if (m.logloss.ctr === undefined || m.logloss.ctcvr === undefined) return undefined;
  return ENTIRE_SPACE.reduce((sum, t) => sum + (m.logloss[t] ?? 0), 0);
}

/** The summed entire-space logloss of a history line (undefined for an epoch without validation). */
export function recordLogloss(record: Record<string, unknown>): number | undefined {
  const l = record['logloss'];
  return l !== null && typeof l === 'object' ? entireSpaceLogloss({ logloss: l } as Esm2Metrics) : undefined;
}
