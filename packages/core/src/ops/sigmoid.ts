import type { z } from 'zod';
import { unary } from './support/check.js';
import { ops } from './support/emit.js';
import { map } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    sigmoid: z.output<typeof noAttrs>;
  }
}

export const sigmoid: OpRecord<'sigmoid'> = {
  name: 'sigmoid',
  kind: 'primitive',
  doc: '1 / (1 + e^−x).',
  attrs: noAttrs,
  type: unary,
  kernel: ([x]) => map(x!, (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))),
  backward: (b, { out, dy }) => [ops.mul(b, dy, ops.mul(b, out, ops.oneMinus(b, out)))],
};
