import type { z } from 'zod';
import { elementwise } from './support/check.js';
import { negate, ops, unbroadcast } from './support/emit.js';
import { broadcast } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    sub: z.output<typeof noAttrs>;
  }
}

export const sub: OpRecord<'sub'> = {
  name: 'sub',
  kind: 'composite',
  doc: 'x − y, broadcast.',
  attrs: noAttrs,
  type: elementwise,
  kernel: ([a, b]) => broadcast(a!, b!, (x, y) => x - y),
  backward: (b, { inputs: [x, y], dy, needs }) => [
    needs[0] ? unbroadcast(b, dy, x!) : undefined,
    needs[1] ? unbroadcast(b, negate(b, dy), y!) : undefined,
  ],
  // x + (−1·y): exact, as IEEE x − y is x + (−y).
  decompose: (b, [x, y]) => ops.add(b, x!, negate(b, y!)),
  examples: [
    { inputs: [{ dtype: 'f32', shape: ['batch', 4] }, { dtype: 'f32', shape: [4] }], attrs: {} },
    { inputs: [{ dtype: 'f32', shape: [] }, { dtype: 'f32', shape: ['batch', 1] }], attrs: {} },
  ],
};
