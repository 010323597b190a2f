import type { HostTensor } from '@esm2/core';
import type { SparseLookup, SparseTable } from './sparse-plan.js';

/** One lookup node's share of a batch. */
export interface LookupBatch {
  lookup: SparseLookup;
  /** The node's value, [n, dim] row-major. */
  values: Float32Array;
  /** Per id position: the index of its row in `TableBatch.ids`, −1 for padding. */
  local: Int32Array;
  /** Ids per output row (1 for gather, L for pooled). */
  width: number;
}

/** A table's share of a batch: the unique rows it touches and each lookup's result. */
export interface TableBatch {
  table: SparseTable;
  /** Table rows touched, in first-seen order. */
  ids: Int32Array;
  lookups: LookupBatch[];
}

/**
 * Looks a batch up in a host-side table, with the IR's semantics (pooled:
 * negative ids are padding; mean divides by the count of real ids). Work is
 * proportional to the batch; `slot` is a reusable vocabulary-sized scratch
 * (−1 = unseen) that is reset before returning.
 */
export function lookupBatch(table: SparseTable, data: Float32Array, slot: Int32Array, feeds: Record<string, HostTensor>): TableBatch {
  const { dim } = table;
  const order: number[] = [];
  const lookups: LookupBatch[] = [];
  try {
    for (const lookup of table.lookups) {
      const feed = feeds[lookup.ids];
      if (!feed) throw new Error(`missing input '${lookup.ids}'`);
      const n = feed.shape[0]!;
      const width = lookup.kind === 'pooled' ? feed.shape[1]! : 1;
      const local = new Int32Array(n * width);
      const values = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        let count = 0;
        for (let j = 0; j < width; j++) {
          const pos = i * width + j;
          const id = feed.data[pos]!;
          if (lookup.kind === 'pooled' && id < 0) {
            local[pos] = -1;
            continue;
          }
          if (!Number.isInteger(id) || id < 0 || id >= table.rows) {
            throw new Error(`input '${lookup.ids}' has id ${id} at row ${i}, outside table '${table.param}' of ${table.rows} rows`);
          }
          let s = slot[id]!;
          if (s < 0) {
            s = order.length;
            slot[id] = s;
            order.push(id);
          }
          local[pos] = s;
          count++;
          for (let d = 0; d < dim; d++) values[i * dim + d]! += data[id * dim + d]!;
        }
        if (lookup.kind === 'pooled' && lookup.mode === 'mean' && count > 1) for (let d = 0; d < dim; d++) values[i * dim + d]! /= count;
      }
      lookups.push({ lookup, values, local, width });
    }
  } finally {
    for (const id of order) slot[id] = -1;
  }
  return { table, ids: Int32Array.from(order), lookups };
}

/**
 * The gradient w.r.t. the touched rows, [ids.length, dim], from the
 * gradients w.r.t. each lookup's result: the transpose of lookupBatch
 * (what the IR's scatterAdd / pooledScatterAdd compute, restricted to the touched rows).
 */
export function rowGradients(batch: TableBatch, lookupGrads: readonly Float32Array[]): Float32Array {
  const { dim } = batch.table;
  const out = new Float32Array(batch.ids.length * dim);
  batch.lookups.forEach((lb, k) => {
    const g = lookupGrads[k]!;
    const n = lb.local.length / lb.width;
    for (let i = 0; i < n; i++) {
      let scale = 1;
      if (lb.lookup.kind === 'pooled' && lb.lookup.mode === 'mean') {
        let count = 0;
        for (let j = 0; j < lb.width; j++) if (lb.local[i * lb.width + j]! >= 0) count++;
        scale = count > 0 ? 1 / count : 0;
      }
      for (let j = 0; j < lb.width; j++) {
        const s = lb.local[i * lb.width + j]!;
        if (s < 0) continue;
        for (let d = 0; d < dim; d++) out[s * dim + d]! += g[i * dim + d]! * scale;
      }
    }
  });
  return out;
}
