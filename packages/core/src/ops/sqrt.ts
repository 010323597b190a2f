import type { z } from 'zod';
import { unary } from './support/check.js';
import { ops } from './support/emit.js';
import { map } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    sqrt: z.output<typeof noAttrs>;
  }
}

export const sqrt: OpRecord<'sqrt'> = {
  name: 'sqrt',
  kind: 'primitive',
  doc: '√x (Adam’s denominator, the clipping norm).',
  attrs: noAttrs,
  type: unary,
  kernel: ([x]) => map(x!, Math.sqrt),
  backward: (b, { out, dy }) => [ops.div(b, dy, ops.mul(b, out, ops.constant(b, 2)))],
};
