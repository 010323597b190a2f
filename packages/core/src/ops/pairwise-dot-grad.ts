import type { z } from 'zod';
import { formatType, sameDims } from '../ir/shape.js';
import type { Dim, TensorType } from '../ir/tensor-type.js';
import { allF32, arity } from './support/check.js';
import { ops, secondOrder } from './support/emit.js';
import { f64 } from './support/kernel.js';
import { pairCount, pairRows, upperTrianglePairs } from './support/pairs.js';
import { f32, noAttrs, type OpRecord, type Value } from './support/record.js';

declare module './support/record.js' {
  interface OpAttrMap {
    pairwiseDotGrad: z.output<typeof noAttrs>;
  }
}

export const pairwiseDotGrad: OpRecord<'pairwiseDotGrad'> = {
  name: 'pairwiseDotGrad',
  kind: 'composite',
  doc: 'Gradient of pairwiseDot, dy f32[n, P], x f32[n, F, D] → f32[n, F, D]: dx_i = Σ_{j≠i} dy(i,j)·x_j.',
  attrs: noAttrs,
  type: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [dy, x] = inputs as [TensorType, TensorType];
    const f = pairRows(x);
    if (typeof f === 'string') return f;
    if (!sameDims(dy.shape, [x.shape[0]!, pairCount(f)])) return `gradient must be f32[${String(x.shape[0])},${pairCount(f)}] for ${formatType(x)}, got ${formatType(dy)}`;
    return f32([...x.shape]);
  },
  kernel: ([dy, x]) => {
    const [n, f, d] = x!.shape as [number, number, number];
    const src = f64(x!);
    const g = f64(dy!);
    const pairs = (f * (f - 1)) / 2;
    const out = new Float64Array(src.length);
    for (let r = 0; r < n; r++) {
      let p = r * pairs;
      for (let i = 0; i < f; i++) {
        for (let j = i + 1; j < f; j++, p++) {
          const gp = g[p]!;
          for (let k = 0; k < d; k++) {
            out[(r * f + i) * d + k]! += gp * src[(r * f + j) * d + k]!;
            out[(r * f + j) * d + k]! += gp * src[(r * f + i) * d + k]!;
          }
        }
      }
    }
    return { shape: [n, f, d], data: out };
  },
  backward: secondOrder,
  // Row i: Σ over pairs (i, j) in output order of dy's column · row j (j ascending, as the kernel adds them), rows concatenated.
  decompose: (b, [dy, x]) => {
    const [n, f] = x!.type.shape as [Dim, number, number];
    const rows = Array.from({ length: f }, (_, i) => b.op('slice', [x!], { axis: 1, start: i, size: 1 }));
    const terms: Value[][] = rows.map(() => []);
    upperTrianglePairs(f).forEach(([i, j], p) => {
      const weight = ops.reshape(b, b.op('slice', [dy!], { axis: 1, start: p, size: 1 }), [n, 1, 1]);
      terms[i]!.push(ops.mul(b, weight, rows[j]!));
      terms[j]!.push(ops.mul(b, weight, rows[i]!));
    });
    const grads = terms.map((t) => t.reduce((acc, term) => ops.add(b, acc, term)));
    return ops.concat(b, grads, 1);
  },
  examples: [
    { inputs: [{ dtype: 'f32', shape: ['batch', 6] }, { dtype: 'f32', shape: ['batch', 4, 3] }], attrs: {} },
    { inputs: [{ dtype: 'f32', shape: ['batch', 1] }, { dtype: 'f32', shape: ['batch', 2, 2] }], attrs: {} },
  ],
};
