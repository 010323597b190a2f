import { z } from 'zod';
import { formatType, sizeOf } from '../ir/shape.js';
import { allF32, arity } from './support/check.js';
import { secondOrder } from './support/emit.js';
import { f64 } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ axis: z.number().int(), start: z.number().int(), size: z.number().int() });

declare module './support/record.js' {
  interface OpAttrMap {
    slice: z.output<typeof schema>;
  }
}

export const slice: OpRecord<'slice'> = {
  name: 'slice',
  kind: 'primitive',
  doc: 'Elements [start, start + size) of x along `axis` (not the batch dimension).',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 1) ?? allF32(inputs);
    if (err) return err;
    const x = inputs[0]!;
    const dim = x.shape[attrs.axis];
    if (dim === undefined) return `axis ${attrs.axis} out of range for ${formatType(x)}`;
    if (dim === 'batch') return 'cannot slice the batch dimension';
    if (!(Number.isInteger(attrs.start) && Number.isInteger(attrs.size) && attrs.start >= 0 && attrs.size > 0 && attrs.start + attrs.size <= dim)) {
      return `slice [${attrs.start}, ${attrs.start + attrs.size}) out of range for ${formatType(x)} axis ${attrs.axis}`;
    }
    const shape = [...x.shape];
    shape[attrs.axis] = attrs.size;
    return f32(shape);
  },
  kernel: ([x], attrs) => {
    const shape = [...x!.shape];
    const outer = sizeOf(shape.slice(0, attrs.axis));
    const inner = sizeOf(shape.slice(attrs.axis + 1));
    const dim = shape[attrs.axis]!;
    shape[attrs.axis] = attrs.size;
    const src = f64(x!);
    const out = new Float64Array(sizeOf(shape));
    for (let o = 0; o < outer; o++) {
      const from = (o * dim + attrs.start) * inner;
      out.set(src.subarray(from, from + attrs.size * inner), o * attrs.size * inner);
    }
    return { shape, data: out };
  },
  backward: secondOrder,
};
