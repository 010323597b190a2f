import { z } from 'zod';
import { formatType } from '../ir/shape.js';
import type { TensorType } from '../ir/tensor-type.js';
import { allF32, arity } from './support/check.js';
import { f64 } from './support/kernel.js';
import { f32, type OpRecord } from './support/record.js';

const schema = z.object({ transA: z.boolean().optional(), transB: z.boolean().optional() });

declare module './support/record.js' {
  interface OpAttrMap {
    matmul: z.output<typeof schema>;
  }
}

export const matmul: OpRecord<'matmul'> = {
  name: 'matmul',
  kind: 'primitive',
  doc: 'op(A)·op(B) of 2-D f32 operands, op transposing when transA / transB.',
  attrs: schema,
  type: (inputs, attrs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [a, b] = inputs as [TensorType, TensorType];
    if (a.shape.length !== 2 || b.shape.length !== 2) return `operands must be 2-D, got ${formatType(a)} and ${formatType(b)}`;
    const [m, ka] = attrs.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = attrs.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (ka !== kb) return `inner dimensions differ: ${formatType(a)}${attrs.transA ? 'ᵀ' : ''} × ${formatType(b)}${attrs.transB ? 'ᵀ' : ''}`;
    return f32([m, n]);
  },
  kernel: ([a, b], attrs) => {
    const [ar, ac] = a!.shape as [number, number];
    const [br, bc] = b!.shape as [number, number];
    const [m, k] = attrs.transA ? [ac, ar] : [ar, ac];
    const n = attrs.transB ? br : bc;
    const A = f64(a!);
    const B = f64(b!);
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        const av = attrs.transA ? A[p * ac + i]! : A[i * ac + p]!;
        if (av === 0) continue;
        for (let j = 0; j < n; j++) out[i * n + j]! += av * (attrs.transB ? B[j * bc + p]! : B[p * bc + j]!);
      }
    }
    return { shape: [m, n], data: out };
  },
  backward: (b, { inputs: [a, w], dy, attrs, needs }) => {
    const tA = attrs.transA ?? false;
    const tB = attrs.transB ?? false;
    // C = op(A)·op(B); each case is the standard identity for its transposes.
    const dA = !needs[0]
      ? undefined
      : tA
        ? b.op('matmul', [w!, dy], { transA: tB, transB: true })
        : b.op('matmul', [dy, w!], { transB: !tB });
    const dB = !needs[1]
      ? undefined
      : tB
        ? b.op('matmul', [dy, a!], { transA: true, transB: tA })
        : b.op('matmul', [a!, dy], { transA: !tA });
    return [dA, dB];
  },
};
