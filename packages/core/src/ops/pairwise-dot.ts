import type { z } from 'zod';
import type { Dim } from '../ir/tensor-type.js';
import { arity } from './support/check.js';
import { ops, onesColumn } from './support/emit.js';
import { f64 } from './support/kernel.js';
import { pairCount, pairRows, upperTrianglePairs } from './support/pairs.js';
import { f32, noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    pairwiseDot: z.output<typeof noAttrs>;
  }
}

export const pairwiseDot: OpRecord<'pairwiseDot'> = {
  name: 'pairwiseDot',
  kind: 'composite',
  doc:
    "x f32[n, F, D] → f32[n, F(F−1)/2]: the dot product of every pair of x's F rows, i < j, in row-major " +
    'upper-triangle order (0·1, 0·2, …, 0·(F−1), 1·2, …). DLRM’s feature interaction.',
  attrs: noAttrs,
  type: (inputs) => {
    const err = arity(inputs, 1);
    if (err) return err;
    const f = pairRows(inputs[0]!);
    return typeof f === 'string' ? f : f32([inputs[0]!.shape[0]!, pairCount(f)]);
  },
  kernel: ([x]) => {
    const [n, f, d] = x!.shape as [number, number, number];
    const src = f64(x!);
    const pairs = (f * (f - 1)) / 2;
    const out = new Float64Array(n * pairs);
    for (let r = 0; r < n; r++) {
      let p = r * pairs;
      for (let i = 0; i < f; i++) {
        for (let j = i + 1; j < f; j++, p++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += src[(r * f + i) * d + k]! * src[(r * f + j) * d + k]!;
          out[p] = s;
        }
      }
    }
    return { shape: [n, pairs], data: out };
  },
  backward: (b, { inputs: [x], dy }) => [b.op('pairwiseDotGrad', [dy, x!], {})],
  // Per pair, the rows' product summed by a matmul with a column of ones, the columns concatenated: the kernel's sums, in its order.
  decompose: (b, [x]) => {
    const [n, f, d] = x!.type.shape as [Dim, number, number];
    const rows = Array.from({ length: f }, (_, i) => ops.reshape(b, b.op('slice', [x!], { axis: 1, start: i, size: 1 }), [n, d]));
    const ones = onesColumn(b, d);
    const dots = upperTrianglePairs(f).map(([i, j]) => ops.matmul(b, ops.mul(b, rows[i]!, rows[j]!), ones));
    return ops.concat(b, dots, 1);
  },
  examples: [
    { inputs: [{ dtype: 'f32', shape: ['batch', 4, 3] }], attrs: {} },
    { inputs: [{ dtype: 'f32', shape: ['batch', 2, 1] }], attrs: {} },
  ],
};
