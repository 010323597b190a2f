import { add } from './add.js';
import { bceGrad } from './bce-grad.js';
import { bce } from './bce.js';
import { concat } from './concat.js';
import { constant } from './constant.js';
import { div } from './div.js';
import { gather } from './gather.js';
import { matmul } from './matmul.js';
import { maximum } from './maximum.js';
import { meanGrad } from './mean-grad.js';
import { mean } from './mean.js';
import { mul } from './mul.js';
import { oneMinus } from './one-minus.js';
import { pairwiseDotGrad } from './pairwise-dot-grad.js';
import { pairwiseDot } from './pairwise-dot.js';
import { pooledGather } from './pooled-gather.js';
import { pooledScatterAdd } from './pooled-scatter-add.js';
import { reluGrad } from './relu-grad.js';
import { relu } from './relu.js';
import { reshape } from './reshape.js';
import { scatterAdd } from './scatter-add.js';
import { sigmoid } from './sigmoid.js';
import { slice } from './slice.js';
import { sqrt } from './sqrt.js';
import { sub } from './sub.js';
import { sumTo } from './sum-to.js';
import { sum } from './sum.js';
import { tanh } from './tanh.js';
import { weightedMeanGrad } from './weighted-mean-grad.js';
import { weightedMean } from './weighted-mean.js';
import { weightedSum } from './weighted-sum.js';
import type { OpName, OpRecord } from './support/record.js';

/**
 * The closed op set, one record per op (ops/<op>.ts: name, attrs schema,
 * doc, type rule, interpreter kernel, backward rule, and for a composite its
 * decomposition). Adding an op is a file here and its line below; every
 * lowering table (`satisfies Record<OpName, …>`) then fails to compile
 * until it handles the op, or the op is a composite the backend leaves to
 * decomposeComposites. typeRules, the interpreter's kernels, backwardRules
 * and graph JSON's attrs schemas are views of this table.
 */
export const OPS = {
  gather,
  pooledGather,
  concat,
  matmul,
  add,
  sub,
  mul,
  oneMinus,
  relu,
  sigmoid,
  tanh,
  bce,
  mean,
  weightedMean,
  weightedSum,
  reshape,
  constant,
  pairwiseDot,
  // Ops that reverse-mode autodiff emits.
  reluGrad,
  bceGrad,
  meanGrad,
  weightedMeanGrad,
  sumTo,
  slice,
  scatterAdd,
  pooledScatterAdd,
  pairwiseDotGrad,
  // Ops the compiled training step needs for its optimizer (Adam, clipping).
  sqrt,
  div,
  sum,
  maximum,
} satisfies { [O in OpName]: OpRecord<O> };

/** The op names, in the registry's order. */
export const OP_NAMES = Object.keys(OPS) as [OpName, ...OpName[]];

/** Ops with no decomposition: what a backend must lower. */
export const PRIMITIVE_OPS: readonly OpName[] = OP_NAMES.filter((op) => OPS[op].kind === 'primitive');

/** Ops written in others (their records' `decompose`): a backend lowers them (fused) or leaves them to decomposeComposites. */
export const COMPOSITE_OPS: readonly OpName[] = OP_NAMES.filter((op) => OPS[op].kind === 'composite');

/** The record of an op, typed by its name. */
export const opRecord = <O extends OpName>(op: O): OpRecord<O> => OPS[op] as unknown as OpRecord<O>;

/** One field of every record, by op: typeRules, the kernels, backwardRules and the attrs schemas are such views. */
export function opTable<K extends keyof OpRecord>(field: K): { [O in OpName]: OpRecord<O>[K] } {
  return Object.fromEntries(OP_NAMES.map((op) => [op, opRecord(op)[field]])) as { [O in OpName]: OpRecord<O>[K] };
}

export type { BackwardRule, CompositeOp, Decomposition, Emitter, ExampleOperand, Kernel, OpAttrMap, OpExample, OpName, OpRecord, PrimitiveOp, TypeRule } from './support/record.js';
