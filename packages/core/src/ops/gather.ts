import type { z } from 'zod';
import { formatType } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { arity } from './support/check.js';
import { ops } from './support/emit.js';
import { f64, rowOf } from './support/kernel.js';
import { f32, noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    gather: z.output<typeof noAttrs>;
  }
}

export const gather: OpRecord<'gather'> = {
  name: 'gather',
  kind: 'composite',
  doc: 'Rows of a table: table f32[V, D], ids i32[n] → f32[n, D]; every id must be in [0, V).',
  attrs: noAttrs,
  type: (inputs) => {
    const err = arity(inputs, 2);
    if (err) return err;
    const [table, ids] = inputs as [TensorType, TensorType];
    if (table.dtype !== 'f32' || table.shape.length !== 2) return `table must be f32[V,D], got ${formatType(table)}`;
    if (ids.dtype !== 'i32' || ids.shape.length !== 1) return `ids must be i32[n], got ${formatType(ids)}`;
    return f32([ids.shape[0]!, table.shape[1]!]);
  },
  kernel: ([table, ids], _attrs, node) => {
    const dim = table!.shape[1]!;
    const n = ids!.data.length;
    const out = new Float64Array(n * dim);
    const t = f64(table!);
    for (let i = 0; i < n; i++) {
      const base = rowOf(table!, ids!.data[i]!, node, i);
      for (let d = 0; d < dim; d++) out[i * dim + d] = t[base + d]!;
    }
    return { shape: [n, dim], data: out };
  },
  backward: (b, { inputs: [table, ids], dy }) => [b.op('scatterAdd', [ids!, dy], { rows: table!.type.shape[0] as number })],
  // A pooledGather of one id per row: the same on ids in [0, V) (pooledGather skips ids < 0, where gather fails).
  decompose: (b, [table, ids]) => ops.pooledGather(b, table!, ops.reshape(b, ids!, [ids!.type.shape[0]!, 1]), 'sum'),
  examples: [{ inputs: [{ dtype: 'f32', shape: [6, 3] }, { dtype: 'i32', shape: ['batch'], range: [0, 6] }], attrs: {} }],
};
