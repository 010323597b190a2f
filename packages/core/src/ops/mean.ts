import type { z } from 'zod';
import { allF32, arity } from './support/check.js';
import { ops, onesLike } from './support/emit.js';
import { f64, scalar } from './support/kernel.js';
import { f32, noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    mean: z.output<typeof noAttrs>;
  }
}

export const mean: OpRecord<'mean'> = {
  name: 'mean',
  kind: 'composite',
  doc: 'Mean of all elements: a scalar; 0 for no elements.',
  attrs: noAttrs,
  type: (inputs) => arity(inputs, 1) ?? allF32(inputs) ?? f32([]),
  kernel: ([x]) => {
    const d = f64(x!);
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]!;
    return scalar(d.length > 0 ? s / d.length : 0);
  },
  backward: (b, { inputs: [x], dy }) => [b.op('meanGrad', [dy, x!], {})],
  // sum(x) / max(count, 1), count = sum of ones like x: exact (NaN where x holds ±∞).
  decompose: (b, [x]) => {
    const total = ops.sum(b, x!);
    return ops.div(b, total, ops.maximum(b, ops.sum(b, onesLike(b, x!)), ops.constant(b, 1)));
  },
  examples: [
    { inputs: [{ dtype: 'f32', shape: ['batch', 3] }], attrs: {} },
    { inputs: [{ dtype: 'f32', shape: ['batch'] }], attrs: {} },
  ],
};
