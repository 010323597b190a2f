import type { z } from 'zod';
import { unary } from './support/check.js';
import { ops } from './support/emit.js';
import { map } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    tanh: z.output<typeof noAttrs>;
  }
}

export const tanh: OpRecord<'tanh'> = {
  name: 'tanh',
  kind: 'composite',
  doc: 'The hyperbolic tangent.',
  attrs: noAttrs,
  type: unary,
  kernel: ([x]) => map(x!, Math.tanh),
  backward: (b, { out, dy }) => [ops.mul(b, dy, ops.oneMinus(b, ops.mul(b, out, out)))],
  // 2·sigmoid(2x) − 1 (as tinygrad has it): equal up to rounding, which near 0 is large relative to tanh x in f32.
  decompose: (b, [x]) => ops.add(b, ops.mul(b, ops.sigmoid(b, ops.mul(b, x!, ops.constant(b, 2))), ops.constant(b, 2)), ops.constant(b, -1)),
  examples: [{ inputs: [{ dtype: 'f32', shape: ['batch', 4], range: [-4, 4], values: [0, 1e-4, -20, 20] }], attrs: {} }],
};
