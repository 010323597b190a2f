import type { z } from 'zod';
import { elementwise } from './support/check.js';
import { ops, unbroadcast } from './support/emit.js';
import { broadcast } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    mul: z.output<typeof noAttrs>;
  }
}

export const mul: OpRecord<'mul'> = {
  name: 'mul',
  kind: 'primitive',
  doc: 'x · y, broadcast.',
  attrs: noAttrs,
  type: elementwise,
  kernel: ([a, b]) => broadcast(a!, b!, (x, y) => x * y),
  backward: (b, { inputs: [x, y], dy, needs }) => [
    needs[0] ? unbroadcast(b, ops.mul(b, dy, y!), x!) : undefined,
    needs[1] ? unbroadcast(b, ops.mul(b, dy, x!), y!) : undefined,
  ],
};
