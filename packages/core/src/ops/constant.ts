import { z } from 'zod';
import { arity } from './support/check.js';
import { scalar } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ value: z.number() });

declare module './support/record.js' {
  interface OpAttrMap {
    constant: z.output<typeof schema>;
  }
}

export const constant: OpRecord<'constant'> = {
  name: 'constant',
  kind: 'primitive',
  doc: 'A finite f32 scalar, `value`.',
  attrs: schema,
  type: (inputs, attrs) => arity(inputs, 0) ?? (Number.isFinite(attrs.value) ? f32([]) : `value must be finite, got ${attrs.value}`),
  kernel: (_inputs, attrs) => scalar(attrs.value),
  backward: () => [],
};
