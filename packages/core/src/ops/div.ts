import type { z } from 'zod';
import { elementwise } from './support/check.js';
import { negate, ops, unbroadcast } from './support/emit.js';
import { broadcast } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    div: z.output<typeof noAttrs>;
  }
}

export const div: OpRecord<'div'> = {
  name: 'div',
  kind: 'primitive',
  doc: 'x / y, broadcast.',
  attrs: noAttrs,
  type: elementwise,
  kernel: ([a, b]) => broadcast(a!, b!, (x, y) => x / y),
  backward: (b, { inputs: [x, y], out, dy, needs }) => [
    needs[0] ? unbroadcast(b, ops.div(b, dy, y!), x!) : undefined,
    needs[1] ? unbroadcast(b, negate(b, ops.div(b, ops.mul(b, dy, out), y!)), y!) : undefined,
  ],
};
