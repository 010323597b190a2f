import type { z } from 'zod';
import { formatType, sameDims } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { allF32, arity } from './support/check.js';
import { AutodiffError, ops, safeRatio } from './support/emit.js';
import { f64, scalar } from './support/kernel.js';
import { f32, noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    weightedMean: z.output<typeof noAttrs>;
  }
}

export const weightedMean: OpRecord<'weightedMean'> = {
  name: 'weightedMean',
  kind: 'composite',
  doc: 'sum(w·x) / sum(w) of values x and weights w of one shape: a scalar; 0 when sum(w) ≤ 0 (a batch with no selected rows contributes nothing).',
  attrs: noAttrs,
  type: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [x, w] = inputs as [TensorType, TensorType];
    if (!sameDims(x.shape, w.shape)) return `values ${formatType(x)} and weights ${formatType(w)} differ in shape`;
    return f32([]);
  },
  kernel: ([x, w]) => {
    const dx = f64(x!);
    const dw = f64(w!);
    let num = 0;
    let den = 0;
    for (let i = 0; i < dx.length; i++) {
      num += dw[i]! * dx[i]!;
      den += dw[i]!;
    }
    return scalar(den > 0 ? num / den : 0);
  },
  backward: (b, { node, inputs: [, w], dy, needs }) => {
    if (needs[1]) throw new AutodiffError(`node ${node.id} (weightedMean): weights must not depend on parameters`);
    return [b.op('weightedMeanGrad', [dy, w!], {})];
  },
  // The same sums in the same order, and safeRatio's den > 0 test: exact.
  decompose: (b, [x, w]) => {
    const num = ops.sum(b, ops.mul(b, w!, x!));
    return safeRatio(b, num, ops.sum(b, w!));
  },
  examples: [
    { inputs: [{ dtype: 'f32', shape: ['batch'] }, { dtype: 'f32', shape: ['batch'], range: [0, 3], values: [0] }], attrs: {} },
    { inputs: [{ dtype: 'f32', shape: ['batch', 2] }, { dtype: 'f32', shape: ['batch', 2], range: [-1, 0.2] }], attrs: {} },
    { inputs: [{ dtype: 'f32', shape: ['batch'] }, { dtype: 'f32', shape: ['batch'], range: [0, 0] }], attrs: {} },
  ],
};
