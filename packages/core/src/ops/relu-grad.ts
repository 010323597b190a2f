import type { z } from 'zod';
import { formatType, sameDims } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { allF32, arity } from './support/check.js';
import { secondOrder } from './support/emit.js';
import { broadcast } from './support/kernel.js';
import { f32, noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    reluGrad: z.output<typeof noAttrs>;
  }
}

export const reluGrad: OpRecord<'reluGrad'> = {
  name: 'reluGrad',
  kind: 'primitive',
  doc: 'dy · [x > 0] for dy and x of one shape: the IR’s one step function (relu, and every mask of a composite, are written with it).',
  attrs: noAttrs,
  type: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [dy, x] = inputs as [TensorType, TensorType];
    return sameDims(dy.shape, x.shape) ? f32([...x.shape]) : `gradient ${formatType(dy)} and input ${formatType(x)} differ in shape`;
  },
  kernel: ([dy, x]) => broadcast(dy!, x!, (g, v) => (v > 0 ? g : 0)),
  backward: secondOrder,
};
