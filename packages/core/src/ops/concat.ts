import { z } from 'zod';
import { formatType, sizeOf } from '../ir/shape.js';
import { allF32 } from './support/check.js';
import { f64 } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ axis: z.number().int() });

declare module './support/record.js' {
  interface OpAttrMap {
    concat: z.output<typeof schema>;
  }
}

export const concat: OpRecord<'concat'> = {
  name: 'concat',
  kind: 'primitive',
  doc: 'Joins f32 operands along `axis` (not the batch dimension); the other dimensions must agree.',
  attrs: schema,
  type: (inputs, attrs) => {
    if (inputs.length < 1) return 'expects at least 1 input';
    const err = allF32(inputs);
    if (err) return err;
    const rank = inputs[0]!.shape.length;
    if (!Number.isInteger(attrs.axis) || attrs.axis < 0 || attrs.axis >= rank) return `axis ${attrs.axis} out of range for rank ${rank}`;
    let along = 0;
    for (const [i, t] of inputs.entries()) {
      if (t.shape.length !== rank) return `input ${i} has rank ${t.shape.length}, expected ${rank}`;
      for (let d = 0; d < rank; d++) {
        if (d !== attrs.axis && t.shape[d] !== inputs[0]!.shape[d]) {
          return `input ${i} is ${formatType(t)}, incompatible with ${formatType(inputs[0]!)} off axis ${attrs.axis}`;
        }
      }
      const size = t.shape[attrs.axis]!;
      if (size === 'batch') return `cannot concat along the batch dimension`;
      along += size;
    }
    const shape = [...inputs[0]!.shape];
    shape[attrs.axis] = along;
    return f32(shape);
  },
  kernel: (inputs, attrs) => {
    const axis = attrs.axis;
    const shape = [...inputs[0]!.shape];
    shape[axis] = inputs.reduce((s, v) => s + v.shape[axis]!, 0);
    const outer = sizeOf(shape.slice(0, axis));
    const innerOut = sizeOf(shape.slice(axis));
    const out = new Float64Array(outer * innerOut);
    let offset = 0;
    for (const v of inputs) {
      const inner = sizeOf(v.shape.slice(axis));
      const src = f64(v);
      for (let o = 0; o < outer; o++) out.set(src.subarray(o * inner, (o + 1) * inner), o * innerOut + offset);
      offset += inner;
    }
    return { shape, data: out };
  },
  backward: (b, { inputs, dy, attrs, needs }) => {
    let start = 0;
    return inputs.map((x, i) => {
      const size = x.type.shape[attrs.axis] as number;
      const grad = needs[i] ? b.op('slice', [dy], { axis: attrs.axis, start, size }) : undefined;
      start += size;
      return grad;
    });
  },
};
