import type { z } from 'zod';
import { unary } from './support/check.js';
import { map } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    relu: z.output<typeof noAttrs>;
  }
}

export const relu: OpRecord<'relu'> = {
  name: 'relu',
  kind: 'composite',
  doc: 'x where x > 0, else 0.',
  attrs: noAttrs,
  type: unary,
  kernel: ([x]) => map(x!, (v) => (v > 0 ? v : 0)),
  backward: (b, { inputs: [x], dy }) => [b.op('reluGrad', [dy, x!], {})],
  // x · [x > 0]: reluGrad with x as its own cotangent, exact (NaN and −0 give 0, as here).
  decompose: (b, [x]) => b.op('reluGrad', [x!, x!], {}),
  examples: [{ inputs: [{ dtype: 'f32', shape: ['batch', 4], values: [0, -0, 1e-30, -1e-30] }], attrs: {} }],
};
