import type { FeatureSchema } from '@esm2/core';
import { requiresPythonModule, type Required } from '@esm2/core/testing';
import type { Batch } from '@esm2/data';
import { pythonPath } from '@esm2/core/node';

/** The XGBoost tests' requirement (python3-xgboost for the python the runs use: pythonPath(), ESM2_PYTHON else Debian's), under the one skip policy of @esm2/core/testing's requires(). */
export function xgboostRequired(): Required {
  return requiresPythonModule(pythonPath(), 'xgboost');
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
