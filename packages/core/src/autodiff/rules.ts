import { ops, type GraphBuilder, type Value } from '../ir/builder.js';
import { sameDims } from '../ir/shape.js';
import type { Node, OpAttrs, OpName } from '../ir/types.js';

/**
 * A backward rule maps the cotangent of a node's result to cotangents of its
 * operands, emitted as ordinary IR ops. `needs[i]` says whether operand i
 * needs one; rules return undefined for the rest.
 */
export type BackwardRule<O extends OpName> = (
  b: GraphBuilder,
  ctx: { node: Node<O>; attrs: OpAttrs[O]; inputs: Value[]; out: Value; dy: Value; needs: boolean[] },
) => (Value | undefined)[];

export class AutodiffError extends Error {
  override name = 'AutodiffError';
}

/** Reduces a broadcast cotangent back to its operand's shape. */
function unbroadcast(b: GraphBuilder, dy: Value, like: Value): Value {
  return sameDims(dy.type.shape, like.type.shape) ? dy : b.op('sumTo', [dy], { shape: like.type.shape });
}

const negate = (b: GraphBuilder, x: Value) => ops.mul(b, x, ops.constant(b, -1));

function noGradientThrough(what: string): BackwardRule<OpName> {
  return (_b, { node, needs }) => {
    if (needs.some(Boolean)) throw new AutodiffError(`node ${node.id} (${node.op}): ${what}`);
    return [];
  };
}

const secondOrder = noGradientThrough('no backward rule: second-order gradients are not supported');

export const backwardRules = {
  gather: (b, { inputs: [table, ids], dy }) => [b.op('scatterAdd', [ids!, dy], { rows: table!.type.shape[0] as number })],
  pooledGather: (b, { inputs: [table, ids], dy, attrs }) => [
    b.op('pooledScatterAdd', [ids!, dy], { rows: table!.type.shape[0] as number, mode: attrs.mode }),
  ],
  concat: (b, { inputs, dy, attrs, needs }) => {
    let start = 0;
    return inputs.map((x, i) => {
      const size = x.type.shape[attrs.axis] as number;
      const grad = needs[i] ? b.op('slice', [dy], { axis: attrs.axis, start, size }) : undefined;
      start += size;
      return grad;
    });
  },
  matmul: (b, { inputs: [a, w], dy, attrs, needs }) => {
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
  add: (b, { inputs: [x, y], dy, needs }) => [needs[0] ? unbroadcast(b, dy, x!) : undefined, needs[1] ? unbroadcast(b, dy, y!) : undefined],
  sub: (b, { inputs: [x, y], dy, needs }) => [
    needs[0] ? unbroadcast(b, dy, x!) : undefined,
    needs[1] ? unbroadcast(b, negate(b, dy), y!) : undefined,
  ],
  mul: (b, { inputs: [x, y], dy, needs }) => [
    needs[0] ? unbroadcast(b, ops.mul(b, dy, y!), x!) : undefined,
    needs[1] ? unbroadcast(b, ops.mul(b, dy, x!), y!) : undefined,
  ],
  oneMinus: (b, { dy }) => [negate(b, dy)],
  relu: (b, { inputs: [x], dy }) => [b.op('reluGrad', [dy, x!], {})],
  sigmoid: (b, { out, dy }) => [ops.mul(b, dy, ops.mul(b, out, ops.oneMinus(b, out)))],
  tanh: (b, { out, dy }) => [ops.mul(b, dy, ops.oneMinus(b, ops.mul(b, out, out)))],
  bce: (b, { node, inputs: [p, y], dy, attrs, needs }) => {
    if (needs[1]) throw new AutodiffError(`node ${node.id} (bce): labels must not depend on parameters`);
    return [b.op('bceGrad', [dy, p!, y!], { eps: attrs.eps })];
  },
  mean: (b, { inputs: [x], dy }) => [b.op('meanGrad', [dy, x!], {})],
  weightedMean: (b, { node, inputs: [, w], dy, needs }) => {
    if (needs[1]) throw new AutodiffError(`node ${node.id} (weightedMean): weights must not depend on parameters`);
    return [b.op('weightedMeanGrad', [dy, w!], {})];
  },
  weightedSum: (b, { dy, attrs, needs }) => attrs.weights.map((w, i) => (needs[i] ? ops.mul(b, dy, ops.constant(b, w)) : undefined)),
  reshape: (b, { inputs: [x], dy }) => [ops.reshape(b, dy, x!.type.shape)],
  constant: () => [],
  pairwiseDot: (b, { inputs: [x], dy }) => [b.op('pairwiseDotGrad', [dy, x!], {})],
  reluGrad: secondOrder,
  bceGrad: secondOrder,
  meanGrad: secondOrder,
  weightedMeanGrad: secondOrder,
  sumTo: secondOrder,
  slice: secondOrder,
  scatterAdd: secondOrder,
  pooledScatterAdd: secondOrder,
  pairwiseDotGrad: secondOrder,
  sqrt: (b, { out, dy }) => [ops.div(b, dy, ops.mul(b, out, ops.constant(b, 2)))],
  div: (b, { inputs: [x, y], out, dy, needs }) => [
    needs[0] ? unbroadcast(b, ops.div(b, dy, y!), x!) : undefined,
    needs[1] ? unbroadcast(b, negate(b, ops.div(b, ops.mul(b, dy, out), y!)), y!) : undefined,
  ],
  // Broadcasting the scalar cotangent onto x's shape (x·0 + dy) keeps the batch dim symbolic.
  sum: (b, { inputs: [x], dy }) => [ops.add(b, ops.mul(b, x!, ops.constant(b, 0)), dy)],
  maximum: noGradientThrough('no backward rule: maximum is only used by optimizers'),
} satisfies { [O in OpName]: BackwardRule<O> };
