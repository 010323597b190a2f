import type { z } from 'zod';
import { unary } from './support/check.js';
import { negate, ops } from './support/emit.js';
import { map } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    oneMinus: z.output<typeof noAttrs>;
  }
}

export const oneMinus: OpRecord<'oneMinus'> = {
  name: 'oneMinus',
  kind: 'composite',
  doc: '1 − x.',
  attrs: noAttrs,
  type: unary,
  kernel: ([x]) => map(x!, (v) => 1 - v),
  backward: (b, { dy }) => [negate(b, dy)],
  // −x + 1: exact.
  decompose: (b, [x]) => ops.add(b, negate(b, x!), ops.constant(b, 1)),
  examples: [{ inputs: [{ dtype: 'f32', shape: ['batch', 3], values: [0, 1, -0, 1e-9] }], attrs: {} }],
};
