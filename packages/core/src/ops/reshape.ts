import { z } from 'zod';
import { formatType } from '../ir/shape.js';
import type { Dim } from '../ir/tensor-type.js';
import { arity } from './support/check.js';
import { ops } from './support/emit.js';
import { dimSchema, type OpRecord } from './support/record.js';

const schema = z.object({ shape: z.array(dimSchema) });

declare module './support/record.js' {
  interface OpAttrMap {
    reshape: z.output<typeof schema>;
  }
}

export const reshape: OpRecord<'reshape'> = {
  name: 'reshape',
  kind: 'primitive',
  doc: 'The same elements (f32 or i32), row-major, in another shape; the batch dimension must be kept.',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 1);
    if (err) return err;
    const x = inputs[0]!;
    const batchIn = x.shape.filter((d) => d === 'batch').length;
    const batchOut = attrs.shape.filter((d) => d === 'batch').length;
    if (batchIn !== batchOut) return `batch dimension must be kept: ${formatType(x)} → [${attrs.shape.join(',')}]`;
    const fixed = (s: Dim[]) => s.reduce<number>((n, d) => (d === 'batch' ? n : n * d), 1);
    if (fixed(x.shape) !== fixed(attrs.shape)) return `element count differs: ${formatType(x)} → [${attrs.shape.join(',')}]`;
    return { dtype: x.dtype, shape: [...attrs.shape] };
  },
  kernel: ([x], attrs) => {
    const known = attrs.shape.reduce<number>((n, d) => (d === 'batch' ? n : n * d), 1);
    const shape = attrs.shape.map((d) => (d === 'batch' ? x!.data.length / known : d));
    return { shape, data: x!.data };
  },
  backward: (b, { inputs: [x], dy }) => [ops.reshape(b, dy, x!.type.shape)],
};
