import type { z } from 'zod';
import { formatType } from '../ir/shape.js';
import { allF32, arity, isScalar } from './support/check.js';
import { ops, onesLike, secondOrder } from './support/emit.js';
import { f64 } from './support/kernel.js';
import { f32, noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    meanGrad: z.output<typeof noAttrs>;
  }
}

export const meanGrad: OpRecord<'meanGrad'> = {
  name: 'meanGrad',
  kind: 'composite',
  doc: 'Spreads a scalar gradient evenly over x’s shape: dy / size(x).',
  attrs: noAttrs,
  type: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    return isScalar(inputs[0]!) ? f32([...inputs[1]!.shape]) : `gradient must be a scalar, got ${formatType(inputs[0]!)}`;
  },
  kernel: ([dy, x]) => {
    const n = x!.data.length;
    return { shape: [...x!.shape], data: new Float64Array(n).fill(n > 0 ? f64(dy!)[0]! / n : 0) };
  },
  backward: secondOrder,
  // ones like x · dy / max(count, 1): exact (NaN where x holds ±∞).
  decompose: (b, [dy, x]) => {
    const ones = onesLike(b, x!);
    return ops.mul(b, ones, ops.div(b, dy!, ops.maximum(b, ops.sum(b, ones), ops.constant(b, 1))));
  },
  examples: [{ inputs: [{ dtype: 'f32', shape: [] }, { dtype: 'f32', shape: ['batch', 3] }], attrs: {} }],
};
