import { z } from 'zod';
import { formatType } from '../ir/shape.js';
import { allF32, isScalar } from './support/check.js';
import { ops } from './support/emit.js';
import { f64, scalar } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ weights: z.array(z.number()) });

declare module './support/record.js' {
  interface OpAttrMap {
    weightedSum: z.output<typeof schema>;
  }
}

export const weightedSum: OpRecord<'weightedSum'> = {
  name: 'weightedSum',
  kind: 'composite',
  doc: 'Σ weights[i]·x_i of scalar operands (the total loss of a multi-task model).',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = allF32(inputs);
    if (err) return err;
    if (inputs.length === 0) return 'expects at least 1 input';
    if (attrs.weights.length !== inputs.length) return `has ${inputs.length} inputs but ${attrs.weights.length} weights`;
    if (!attrs.weights.every(Number.isFinite)) return `weights must be finite, got [${attrs.weights.join(',')}]`;
    const bad = inputs.findIndex((t) => !isScalar(t));
    if (bad >= 0) return `input ${bad} must be a scalar, got ${formatType(inputs[bad]!)}`;
    return f32([]);
  },
  kernel: (inputs, attrs) => scalar(inputs.reduce((s, v, i) => s + attrs.weights[i]! * f64(v)[0]!, 0)),
  backward: (b, { dy, attrs, needs }) => attrs.weights.map((w, i) => (needs[i] ? ops.mul(b, dy, ops.constant(b, w)) : undefined)),
  // x_0·w_0 + x_1·w_1 + …, added in the kernel's order: exact.
  decompose: (b, xs, attrs) =>
    xs.map((x, i) => ops.mul(b, x, ops.constant(b, attrs.weights[i]!))).reduce((total, term) => ops.add(b, total, term)),
  examples: [
    { inputs: [{ dtype: 'f32', shape: [] }, { dtype: 'f32', shape: [] }, { dtype: 'f32', shape: [] }], attrs: { weights: [1, 0.5, -2] } },
    { inputs: [{ dtype: 'f32', shape: [] }], attrs: { weights: [3] } },
  ],
};
