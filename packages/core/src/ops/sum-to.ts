import { z } from 'zod';
import { broadcastDims, formatType, sameDims, sizeOf } from '../ir/shape.js';
import type { Dim } from '../ir/tensor-type.js';
import { allF32, arity } from './support/check.js';
import { ops, onesLike, secondOrder } from './support/emit.js';
import { f64, strides } from './support/kernel.js';
import { dimSchema, f32, type Emitter, type OpRecord, type Value } from './support/record.js';

const schema = z.object({ shape: z.array(dimSchema) });

declare module './support/record.js' {
  interface OpAttrMap {
    sumTo: z.output<typeof schema>;
  }
}

const slice = (b: Emitter, x: Value, axis: number, start: number) => b.op('slice', [x], { axis, start, size: 1 });

/** Sums x over a leading batch axis: ones[n, 1]ᵀ · x as [n, rest] (matmul adds the rows in the kernel's order). */
function sumBatch(b: Emitter, x: Value): Value {
  const rest = x.type.shape.slice(1);
  if (!rest.every((d): d is number => typeof d === 'number')) throw new Error(`sumTo: cannot decompose a sum over the batch of ${formatType(x.type)}`);
  const size = sizeOf(rest);
  const flat = x.type.shape.length === 2 ? x : ops.reshape(b, x, ['batch', size]);
  const ones = onesLike(b, size === 1 ? flat : slice(b, flat, 1, 0));
  const summed = b.op('matmul', [ones, flat], { transA: true });
  return x.type.shape.length === 2 ? summed : ops.reshape(b, summed, [1, ...rest]);
}

export const sumTo: OpRecord<'sumTo'> = {
  name: 'sumTo',
  kind: 'composite',
  doc: 'Sums over broadcast dimensions so a gradient has its operand’s shape: x reduced to `shape`, which broadcasts back to x’s.',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 1) ?? allF32(inputs);
    if (err) return err;
    const x = inputs[0]!;
    const back = broadcastDims(attrs.shape, x.shape);
    if (!back || !sameDims(back, x.shape)) return `cannot sum ${formatType(x)} down to [${attrs.shape.join(',')}]`;
    return f32([...attrs.shape]);
  },
  kernel: ([x], attrs) => {
    const rank = x!.shape.length;
    const target = attrs.shape.map((d, i) => (d === 'batch' ? x!.shape[rank - attrs.shape.length + i]! : d));
    const padded = [...new Array<number>(rank - target.length).fill(1), ...target];
    const stX = strides(x!.shape);
    const stT = strides(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
    const out = new Float64Array(sizeOf(target));
    const src = f64(x!);
    for (let i = 0; i < src.length; i++) {
      let rem = i;
      let t = 0;
      for (let d = 0; d < rank; d++) {
        const k = Math.floor(rem / stX[d]!);
        rem -= k * stX[d]!;
        t += k * stT[d]!;
      }
      out[t]! += src[i]!;
    }
    return { shape: target, data: out };
  },
  backward: secondOrder,
  // Everything summed: sum. Else the batch axis (axis 0 only) by a matmul with ones, then each other summed
  // axis by adding its slices: the kernel's sums, in its order when one axis is summed.
  decompose: (b, [input], attrs) => {
    let x = input!;
    const target = attrs.shape;
    if (sameDims(x.type.shape, target)) return x;
    const rank = x.type.shape.length;
    const padded: Dim[] = [...new Array<Dim>(rank - target.length).fill(1), ...target];
    const summed = x.type.shape.map((d, i) => padded[i] === 1 && d !== 1);
    if (summed.every((s, i) => s || x.type.shape[i] === 1)) {
      const total = ops.sum(b, x);
      return target.length === 0 ? total : ops.reshape(b, total, target);
    }
    summed.forEach((s, axis) => {
      if (!s) return;
      const size = x.type.shape[axis]!;
      if (size === 'batch') {
        if (axis !== 0) throw new Error(`sumTo: cannot decompose a sum over the batch dimension at axis ${axis} of ${formatType(x.type)}`);
        x = sumBatch(b, x);
        return;
      }
      let acc = slice(b, x, axis, 0);
      for (let k = 1; k < size; k++) acc = ops.add(b, acc, slice(b, x, axis, k));
      x = acc;
    });
    return sameDims(x.type.shape, target) ? x : ops.reshape(b, x, target);
  },
  examples: (
    [
      [['batch', 4], [4]],
      [['batch', 4], ['batch', 1]],
      [['batch', 4], []],
      [['batch', 4], ['batch', 4]],
      [['batch', 1], [1]],
      [['batch'], [1]],
      [['batch', 3, 4], [3, 1]],
      [['batch', 3, 4], [1, 4]],
      [['batch', 3, 4], ['batch', 1, 4]],
      [[2, 3], [3]],
    ] as [Dim[], Dim[]][]
  ).map(([from, to]) => ({ inputs: [{ dtype: 'f32', shape: from }], attrs: { shape: to } })),
};
