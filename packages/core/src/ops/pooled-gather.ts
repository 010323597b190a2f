import { z } from 'zod';
import { formatType } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { arity } from './support/check.js';
import { f64, rowOf } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ mode: z.enum(['sum', 'mean']) });

declare module './support/record.js' {
  interface OpAttrMap {
    pooledGather: z.output<typeof schema>;
  }
}

export const pooledGather: OpRecord<'pooledGather'> = {
  name: 'pooledGather',
  kind: 'primitive',
  doc:
    'Pooled rows of a table per row of ids: table f32[V, D], ids i32[n, L] → f32[n, D], the sum (or mean) of the rows of the ids. ' +
    'Padding ids (< 0) are skipped; `mean` divides by the count of real ids (0 when none).',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 2);
    if (err) return err;
    const [table, ids] = inputs as [TensorType, TensorType];
    if (attrs.mode !== 'sum' && attrs.mode !== 'mean') return `mode must be 'sum' or 'mean'`;
    if (table.dtype !== 'f32' || table.shape.length !== 2) return `table must be f32[V,D], got ${formatType(table)}`;
    if (ids.dtype !== 'i32' || ids.shape.length !== 2) return `ids must be i32[n,L], got ${formatType(ids)}`;
    return f32([ids.shape[0]!, table.shape[1]!]);
  },
  kernel: ([table, ids], attrs, node) => {
    const dim = table!.shape[1]!;
    const [n, len] = ids!.shape as [number, number];
    const out = new Float64Array(n * dim);
    const t = f64(table!);
    for (let i = 0; i < n; i++) {
      let count = 0;
      for (let j = 0; j < len; j++) {
        const id = ids!.data[i * len + j]!;
        if (id < 0) continue;
        const base = rowOf(table!, id, node, i);
        for (let d = 0; d < dim; d++) out[i * dim + d]! += t[base + d]!;
        count++;
      }
      if (attrs.mode === 'mean' && count > 0) for (let d = 0; d < dim; d++) out[i * dim + d]! /= count;
    }
    return { shape: [n, dim], data: out };
  },
  backward: (b, { inputs: [table, ids], dy, attrs }) => [
    b.op('pooledScatterAdd', [ids!, dy], { rows: table!.type.shape[0] as number, mode: attrs.mode }),
  ],
};
