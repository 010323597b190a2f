import { sameDims } from '../../ir/shape.js';
import type { BackwardRule, Emitter, OpAttrMap, OpName, Value } from './record.js';

/**
 * Terse helpers over `Emitter.op` (a GraphBuilder is one): the builder API
 * model definitions use (exported as `ops` from ir/builder.ts), and what
 * backward rules and decompositions are written in.
 */

const none = {} as Record<string, never>;

type A<O extends OpName> = OpAttrMap[O];

export const ops = {
  gather: (b: Emitter, table: Value, ids: Value) => b.op('gather', [table, ids], none),
  pooledGather: (b: Emitter, table: Value, ids: Value, mode: A<'pooledGather'>['mode']) => b.op('pooledGather', [table, ids], { mode }),
  concat: (b: Emitter, xs: Value[], axis: A<'concat'>['axis']) => b.op('concat', xs, { axis }),
  matmul: (b: Emitter, x: Value, w: Value) => b.op('matmul', [x, w], {}),
  add: (b: Emitter, x: Value, y: Value) => b.op('add', [x, y], none),
  sub: (b: Emitter, x: Value, y: Value) => b.op('sub', [x, y], none),
  mul: (b: Emitter, x: Value, y: Value) => b.op('mul', [x, y], none),
  oneMinus: (b: Emitter, x: Value) => b.op('oneMinus', [x], none),
  relu: (b: Emitter, x: Value) => b.op('relu', [x], none),
  sigmoid: (b: Emitter, x: Value) => b.op('sigmoid', [x], none),
  tanh: (b: Emitter, x: Value) => b.op('tanh', [x], none),
  bce: (b: Emitter, p: Value, y: Value, eps: A<'bce'>['eps'] = 1e-7) => b.op('bce', [p, y], { eps }),
  mean: (b: Emitter, x: Value) => b.op('mean', [x], none),
  weightedMean: (b: Emitter, x: Value, w: Value) => b.op('weightedMean', [x, w], none),
  weightedSum: (b: Emitter, xs: Value[], weights: A<'weightedSum'>['weights']) => b.op('weightedSum', xs, { weights }),
  reshape: (b: Emitter, x: Value, shape: A<'reshape'>['shape']) => b.op('reshape', [x], { shape }),
  constant: (b: Emitter, value: A<'constant'>['value']) => b.op('constant', [], { value }),
  pairwiseDot: (b: Emitter, x: Value) => b.op('pairwiseDot', [x], none),
  sqrt: (b: Emitter, x: Value) => b.op('sqrt', [x], none),
  div: (b: Emitter, x: Value, y: Value) => b.op('div', [x, y], none),
  sum: (b: Emitter, x: Value) => b.op('sum', [x], none),
  maximum: (b: Emitter, x: Value, y: Value) => b.op('maximum', [x, y], none),
};

export class AutodiffError extends Error {
  override name = 'AutodiffError';
}

/** Reduces a broadcast cotangent back to its operand's shape. */
export function unbroadcast(b: Emitter, dy: Value, like: Value): Value {
  return sameDims(dy.type.shape, like.type.shape) ? dy : b.op('sumTo', [dy], { shape: like.type.shape });
}

export const negate = (b: Emitter, x: Value) => ops.mul(b, x, ops.constant(b, -1));

/** A backward rule for ops gradients must not flow through: an error when one would. */
export function noGradientThrough(what: string): BackwardRule<OpName> {
  return (_b, { node, needs }) => {
    if (needs.some(Boolean)) throw new AutodiffError(`node ${node.id} (${node.op}): ${what}`);
    return [];
  };
}

/** The backward rule of the ops autodiff emits. */
export const secondOrder = noGradientThrough('no backward rule: second-order gradients are not supported');

/** Ones of x's shape, x·0 + 1 (so a batch dim stays symbolic; NaN where x is ±∞ or NaN). */
export const onesLike = (b: Emitter, x: Value) => ops.add(b, ops.mul(b, x, ops.constant(b, 0)), ops.constant(b, 1));

/** num / den where den > 0, else 0, for scalars: [den > 0] is reluGrad's step, and the divisor is 1 where it is 0. */
export function safeRatio(b: Emitter, num: Value, den: Value): Value {
  const kept = b.op('reluGrad', [num, den], {});
  const divisor = ops.add(b, b.op('reluGrad', [den, den], {}), ops.oneMinus(b, b.op('reluGrad', [ops.constant(b, 1), den], {})));
  return ops.div(b, kept, divisor);
}

/** f32[n, 1] of ones, a column to sum rows with by matmul: n copies of the constant 1 concatenated. */
export function onesColumn(b: Emitter, n: number): Value {
  const one = ops.reshape(b, ops.constant(b, 1), [1, 1]);
  return ops.concat(b, new Array<Value>(n).fill(one), 0);
}
