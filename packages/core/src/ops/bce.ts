import { z } from 'zod';
import { formatType, sameDims } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { allF32, arity } from './support/check.js';
import { AutodiffError } from './support/emit.js';
import { broadcast } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ eps: z.number() });

declare module './support/record.js' {
  interface OpAttrMap {
    bce: z.output<typeof schema>;
  }
}

export const bce: OpRecord<'bce'> = {
  name: 'bce',
  kind: 'primitive',
  doc:
    'Binary cross-entropy per element, −(y·log q + (1 − y)·log(1 − q)) of probabilities p and labels y of one shape, ' +
    'q = p clipped to [eps, 1 − eps] before the logs: products of towers reach 1e-6.',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [p, y] = inputs as [TensorType, TensorType];
    if (!(attrs.eps > 0 && attrs.eps < 0.5)) return `eps must be in (0, 0.5), got ${attrs.eps}`;
    if (!sameDims(p.shape, y.shape)) return `probabilities ${formatType(p)} and labels ${formatType(y)} differ in shape`;
    return f32([...p.shape]);
  },
  kernel: ([p, y], attrs) =>
    broadcast(p!, y!, (pv, yv) => {
      const q = Math.min(Math.max(pv, attrs.eps), 1 - attrs.eps);
      return -(yv * Math.log(q) + (1 - yv) * Math.log(1 - q));
    }),
  backward: (b, { node, inputs: [p, y], dy, attrs, needs }) => {
    if (needs[1]) throw new AutodiffError(`node ${node.id} (bce): labels must not depend on parameters`);
    return [b.op('bceGrad', [dy, p!, y!], { eps: attrs.eps })];
  },
};
