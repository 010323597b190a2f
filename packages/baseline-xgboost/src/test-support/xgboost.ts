import { spawnSync } from 'node:child_process';
import type { FeatureSchema } from '@esm2/core';
import type { Batch } from '@esm2/data';
import { pythonPath } from '@esm2/core/node';

/**
 * Whether the XGBoost tests run: always under CI=true (a missing XGBoost
 * then fails them, naming the package), elsewhere only when the python
 * runs use (pythonPath(): ESM2_PYTHON, else Debian's) imports XGBoost (else they skip, saying why).
 */
export function xgboostTestsRun(): boolean {
  const python = pythonPath();
  const probe = spawnSync(python, ['-c', 'import xgboost'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  if (process.env.CI === 'true') return true;
  console.warn(`skipping the XGBoost tests: ${python} cannot import xgboost (apt-get install python3-xgboost); under CI=true they fail instead`);
  return false;
}

/** The tiny schema the tests use: one id field, one number, one two-slot list. */
export const SCHEMA: FeatureSchema = {
  fields: [
    { kind: 'categorical', name: 'item', encoding: { kind: 'vocabulary', size: 8 } },
    { kind: 'numeric', name: 'price', normalization: 'none' },
    { kind: 'multiCategorical', name: 'tags', encoding: { kind: 'hash', buckets: 16 }, maxLength: 2, pooling: 'mean' },
  ],
  labels: { click: 'click', daction: 'daction', buy: 'buy' },
};

export interface Row {
  item: number;
  price: number;
  tags: [number, number];
  click: number;
  buy: number;
  user?: number;
}

/** Rows as one batch in the project's encoding (tags padded with -1; DAction = buy here). */
export function batchOf(rows: readonly Row[]): Batch {
  const f32 = (get: (r: Row) => number) => Float32Array.from(rows, get);
  return {
    size: rows.length,
    features: {
      item: Int32Array.from(rows, (r) => r.item),
      price: f32((r) => r.price),
      tags: Int32Array.from(rows.flatMap((r) => r.tags)),
    },
    labels: { click: f32((r) => r.click), daction: f32((r) => r.buy), buy: f32((r) => r.buy) },
    ...(rows.every((r) => r.user !== undefined) ? { userIds: Int32Array.from(rows, (r) => r.user!) } : {}),
  };
}

/** Splits rows into batches of `size` (the last may be short), as a dataset would yield them. */
export function batchesOf(rows: readonly Row[], size: number): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < rows.length; i += size) out.push(batchOf(rows.slice(i, i + size)));
  return out;
}
