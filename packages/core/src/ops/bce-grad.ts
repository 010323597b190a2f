import { z } from 'zod';
import { formatType, sameDims } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { allF32, arity } from './support/check.js';
import { negate, ops, secondOrder } from './support/emit.js';
import { f64 } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ eps: z.number() });

declare module './support/record.js' {
  interface OpAttrMap {
    bceGrad: z.output<typeof schema>;
  }
}

export const bceGrad: OpRecord<'bceGrad'> = {
  name: 'bceGrad',
  kind: 'composite',
  doc: 'd bce / dp · dy = dy·(p − y) / (p·(1 − p)) for dy, p, y of one shape; 0 where p was clipped (the clip has no slope).',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 3) ?? allF32(inputs);
    if (err) return err;
    const [dy, p, y] = inputs as [TensorType, TensorType, TensorType];
    if (!(attrs.eps > 0 && attrs.eps < 0.5)) return `eps must be in (0, 0.5), got ${attrs.eps}`;
    if (!sameDims(dy.shape, p.shape) || !sameDims(p.shape, y.shape)) {
      return `gradient ${formatType(dy)}, probabilities ${formatType(p)} and labels ${formatType(y)} differ in shape`;
    }
    return f32([...p.shape]);
  },
  kernel: ([dy, p, y], attrs) => {
    const [g, pd, yd] = [f64(dy!), f64(p!), f64(y!)];
    const out = new Float64Array(pd.length);
    for (let i = 0; i < out.length; i++) {
      const q = pd[i]!;
      if (q < attrs.eps || q > 1 - attrs.eps) continue;
      out[i] = (g[i]! * (q - yd[i]!)) / (q * (1 - q));
    }
    return { shape: [...p!.shape], data: out };
  },
  backward: secondOrder,
  // dy masked to eps ≤ p ≤ 1 − eps by reluGrad's step (dy − dy·[eps − p > 0], then likewise above), times the
  // kernel's formula on p clipped into [eps, 1 − eps] (p itself where the mask keeps dy; finite where it does not).
  decompose: (b, [dy, p, y], attrs) => {
    const lo = ops.constant(b, attrs.eps);
    const hi = ops.constant(b, 1 - attrs.eps);
    const fromLo = ops.sub(b, dy!, b.op('reluGrad', [dy!, ops.sub(b, lo, p!)], {}));
    const inside = ops.sub(b, fromLo, b.op('reluGrad', [fromLo, ops.sub(b, p!, hi)], {}));
    const q = negate(b, ops.maximum(b, negate(b, ops.maximum(b, p!, lo)), negate(b, hi)));
    return ops.div(b, ops.mul(b, inside, ops.sub(b, q, y!)), ops.mul(b, q, ops.oneMinus(b, q)));
  },
  examples: [1e-7, 0.05].map((eps) => ({
    inputs: [
      { dtype: 'f32', shape: ['batch'] },
      { dtype: 'f32', shape: ['batch'], range: [0, 1], values: [0, 1e-9, 1, 1 - 1e-9, 0.05, 0.95, 1e-7, 1 - 1e-7] },
      { dtype: 'f32', shape: ['batch'], range: [0, 1] },
    ],
    attrs: { eps },
  })),
};
