import type { Esm2Metrics } from '@esm2/core';

/**
 * Early-stopping metrics by name: AUC-like ones improve upwards, loglosses
 * downwards. `logloss_ctcvr` reads metrics.logloss.ctcvr.
 */
const TASKS = ['ctr', 'ctavr', 'cvr', 'ctcvr'] as const;
export const METRIC_NAMES = [
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
