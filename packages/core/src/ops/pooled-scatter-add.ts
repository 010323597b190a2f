import { z } from 'zod';
import { formatType } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { arity } from './support/check.js';
import { secondOrder } from './support/emit.js';
import { f64, rowOf } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ rows: z.number().int(), mode: z.enum(['sum', 'mean']) });

declare module './support/record.js' {
  interface OpAttrMap {
    pooledScatterAdd: z.output<typeof schema>;
  }
}

export const pooledScatterAdd: OpRecord<'pooledScatterAdd'> = {
  name: 'pooledScatterAdd',
  kind: 'primitive',
  doc: 'Table gradient of pooledGather, ids i32[n, L], dy f32[n, D] → f32[rows, D]: each id of a row gets the row’s gradient (÷ its count of real ids for mean); ids < 0 are skipped.',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 2);
    if (err) return err;
    const [ids, dy] = inputs as [TensorType, TensorType];
    if (ids.dtype !== 'i32' || ids.shape.length !== 2) return `ids must be i32[n,L], got ${formatType(ids)}`;
    if (dy.dtype !== 'f32' || dy.shape.length !== 2 || dy.shape[0] !== ids.shape[0]) return `gradient must be f32[n,D] matching ids, got ${formatType(dy)}`;
    if (attrs.mode !== 'sum' && attrs.mode !== 'mean') return `mode must be 'sum' or 'mean'`;
    if (!(Number.isInteger(attrs.rows) && attrs.rows > 0)) return `rows must be a positive integer, got ${attrs.rows}`;
    return f32([attrs.rows, dy.shape[1]!]);
  },
  kernel: ([ids, dy], attrs, node) => {
    const dim = dy!.shape[1]!;
    const [n, len] = ids!.shape as [number, number];
    const out = new Float64Array(attrs.rows * dim);
    const g = f64(dy!);
    const table = { shape: [attrs.rows, dim], data: out };
    for (let i = 0; i < n; i++) {
      const row = (ids!.data as Int32Array).subarray(i * len, (i + 1) * len);
      let count = 0;
      for (const id of row) if (id >= 0) count++;
      const scale = attrs.mode === 'mean' && count > 0 ? 1 / count : 1;
      for (const id of row) {
        if (id < 0) continue;
        const base = rowOf(table, id, node, i);
        for (let d = 0; d < dim; d++) out[base + d]! += g[i * dim + d]! * scale;
      }
    }
    return table;
  },
  backward: secondOrder,
};
