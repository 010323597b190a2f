import type { z } from 'zod';
import { formatType } from '../ir/shape.js';
import { allF32, arity, isScalar } from './support/check.js';
import { ops, safeRatio, secondOrder } from './support/emit.js';
import { f64 } from './support/kernel.js';
import { f32, noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    weightedMeanGrad: z.output<typeof noAttrs>;
  }
}

export const weightedMeanGrad: OpRecord<'weightedMeanGrad'> = {
  name: 'weightedMeanGrad',
  kind: 'composite',
  doc: 'Gradient of weightedMean with respect to its values: dy · w / sum(w) for a scalar dy (0 when sum(w) ≤ 0).',
  attrs: noAttrs,
  type: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    return isScalar(inputs[0]!) ? f32([...inputs[1]!.shape]) : `gradient must be a scalar, got ${formatType(inputs[0]!)}`;
  },
  kernel: ([dy, w]) => {
    const dw = f64(w!);
    let den = 0;
    for (let i = 0; i < dw.length; i++) den += dw[i]!;
    const scale = den > 0 ? f64(dy!)[0]! / den : 0;
    return { shape: [...w!.shape], data: dw.map((v) => v * scale) };
  },
  backward: secondOrder,
  // w · safeRatio(dy, sum(w)): exact.
  decompose: (b, [dy, w]) => ops.mul(b, w!, safeRatio(b, dy!, ops.sum(b, w!))),
  examples: [
    { inputs: [{ dtype: 'f32', shape: [] }, { dtype: 'f32', shape: ['batch'], range: [0, 3], values: [0] }], attrs: {} },
    { inputs: [{ dtype: 'f32', shape: [] }, { dtype: 'f32', shape: ['batch'], range: [-1, 0.2] }], attrs: {} },
    { inputs: [{ dtype: 'f32', shape: [] }, { dtype: 'f32', shape: ['batch'], range: [0, 0] }], attrs: {} },
  ],
};
