import { z } from 'zod';
import { formatType } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { arity } from './support/check.js';
import { ops, secondOrder } from './support/emit.js';
import { f64, rowOf } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ rows: z.number().int() });

declare module './support/record.js' {
  interface OpAttrMap {
    scatterAdd: z.output<typeof schema>;
  }
}

export const scatterAdd: OpRecord<'scatterAdd'> = {
  name: 'scatterAdd',
  kind: 'composite',
  doc: 'Dense [rows, D] table gradient from per-row gradients, ids i32[n], dy f32[n, D]: row id gets the sum of its rows’ dy; ids < 0 are skipped.',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 2);
    if (err) return err;
    const [ids, dy] = inputs as [TensorType, TensorType];
    if (ids.dtype !== 'i32' || ids.shape.length !== 1) return `ids must be i32[n], got ${formatType(ids)}`;
    if (dy.dtype !== 'f32' || dy.shape.length !== 2 || dy.shape[0] !== ids.shape[0]) return `gradient must be f32[n,D] matching ids, got ${formatType(dy)}`;
    if (!(Number.isInteger(attrs.rows) && attrs.rows > 0)) return `rows must be a positive integer, got ${attrs.rows}`;
    return f32([attrs.rows, dy.shape[1]!]);
  },
  kernel: ([ids, dy], attrs, node) => {
    const dim = dy!.shape[1]!;
    const out = new Float64Array(attrs.rows * dim);
    const g = f64(dy!);
    const table = { shape: [attrs.rows, dim], data: out };
    for (let i = 0; i < ids!.data.length; i++) {
      const id = ids!.data[i]!;
      if (id < 0) continue;
      const base = rowOf(table, id, node, i);
      for (let d = 0; d < dim; d++) out[base + d]! += g[i * dim + d]!;
    }
    return table;
  },
  backward: secondOrder,
  // A pooledScatterAdd of one id per row (sum): exact.
  decompose: (b, [ids, dy], attrs) => b.op('pooledScatterAdd', [ops.reshape(b, ids!, [ids!.type.shape[0]!, 1]), dy!], { rows: attrs.rows, mode: 'sum' }),
  examples: [{ inputs: [{ dtype: 'i32', shape: ['batch'], range: [-1, 6], values: [2, 2] }, { dtype: 'f32', shape: ['batch', 3] }], attrs: { rows: 6 } }],
};
