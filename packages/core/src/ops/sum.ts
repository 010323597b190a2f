import type { z } from 'zod';
import { allF32, arity } from './support/check.js';
import { ops } from './support/emit.js';
import { f64, scalar } from './support/kernel.js';
import { f32, noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    sum: z.output<typeof noAttrs>;
  }
}

export const sum: OpRecord<'sum'> = {
  name: 'sum',
  kind: 'primitive',
  doc: 'Sum of all elements: a scalar.',
  attrs: noAttrs,
  type: (inputs) => arity(inputs, 1) ?? allF32(inputs) ?? f32([]),
  kernel: ([x]) => {
    const d = f64(x!);
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]!;
    return scalar(s);
  },
  // Broadcasting the scalar cotangent onto x's shape (x·0 + dy) keeps the batch dim symbolic.
  backward: (b, { inputs: [x], dy }) => [ops.add(b, ops.mul(b, x!, ops.constant(b, 0)), dy)],
};
