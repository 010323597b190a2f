import type { z } from 'zod';
import { elementwise } from './support/check.js';
import { noGradientThrough } from './support/emit.js';
import { broadcast } from './support/kernel.js';
import { noAttrs, type OpRecord } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    maximum: z.output<typeof noAttrs>;
  }
}

export const maximum: OpRecord<'maximum'> = {
  name: 'maximum',
  kind: 'primitive',
  doc: 'max(x, y), broadcast (NaN when either is).',
  attrs: noAttrs,
  type: elementwise,
  kernel: ([a, b]) => broadcast(a!, b!, (x, y) => Math.max(x, y)),
  backward: noGradientThrough('no backward rule: maximum is only used by optimizers'),
};
