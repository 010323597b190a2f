import type { z } from 'zod';
import { elementwise } from './support/check.js';
import { unbroadcast } from './support/emit.js';
import { broadcast } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    add: z.output<typeof noAttrs>;
  }
}

export const add: OpRecord<'add'> = {
  name: 'add',
  kind: 'primitive',
  doc: 'x + y, broadcast (numpy rules; the batch dim matches only itself or 1).',
  attrs: noAttrs,
  type: elementwise,
  kernel: ([a, b]) => broadcast(a!, b!, (x, y) => x + y),
  backward: (b, { inputs: [x, y], dy, needs }) => [needs[0] ? unbroadcast(b, dy, x!) : undefined, needs[1] ? unbroadcast(b, dy, y!) : undefined],
};
