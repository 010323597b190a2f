import { z } from 'zod';
import type { DType, Dim, TensorType } from '../../ir/tensor-type.js';
import type { Val } from './kernel.js';

/**
 * The attributes of every op, by name. Each op's file adds its own entry,
 * the output type of its zod schema:
 * `declare module './support/record.js' { interface OpAttrMap { concat: z.output<typeof schema> } }`.
 * So the schema is the type, and an op file can emit other ops with typed
 * attributes without importing the registry (which imports it).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging, one entry per op file
export interface OpAttrMap {}

/** The op set: the names of the records in ops/index.ts. */
export type OpName = keyof OpAttrMap;

/** An equation of a graph. */
export interface Node<O extends OpName = OpName> {
  /** Value name this node defines, e.g. `%7`. */
  id: string;
  op: O;
  inputs: string[];
  attrs: OpAttrMap[O];
  type: TensorType;
}

/** A handle on a value of a graph being built: its name and type. */
export interface Value {
  readonly name: string;
  readonly type: TensorType;
}

/** What backward rules and decompositions build with: GraphBuilder, or the decomposition pass. */
export interface Emitter {
  op<O extends OpName>(op: O, inputs: Value[], attrs: OpAttrMap[O]): Value;
}

/** Infers an op's result type, or returns a message saying what is wrong. */
export type TypeRule<O extends OpName> = (inputs: TensorType[], attrs: OpAttrMap[O]) => TensorType | string;

/** The interpreter's implementation of an op, in f64 (see ir/interpret.ts). */
export type Kernel<O extends OpName> = (inputs: Val[], attrs: OpAttrMap[O], node: Node) => Val;

/**
 * A backward rule maps the cotangent of a node's result to cotangents of its
 * operands, emitted as ordinary IR ops. `needs[i]` says whether operand i
 * needs one; rules return undefined for the rest.
 */
export type BackwardRule<O extends OpName> = (
  b: Emitter,
  ctx: { node: Node<O>; attrs: OpAttrMap[O]; inputs: Value[]; out: Value; dy: Value; needs: boolean[] },
) => (Value | undefined)[];

/** A composite op written in other ops of the set (composites included: decomposeComposites recurses). */
export type Decomposition<O extends OpName> = (b: Emitter, inputs: Value[], attrs: OpAttrMap[O]) => Value;

/**
 * An operand of an example: its type ('batch' is bound by the test) and the
 * values to draw, uniformly from `range` ([lo, hi); integers for i32,
 * default [-2, 2)), after the leading `values`.
 */
export interface ExampleOperand {
  dtype: DType;
  shape: Dim[];
  range?: [number, number];
  values?: number[];
}

/** A case on which a composite's decomposition must agree with its kernel. */
export interface OpExample<O extends OpName> {
  inputs: ExampleOperand[];
  attrs: OpAttrMap[O];
}

interface OpBase<O extends OpName> {
  name: O;
  /** Structural schema of the attributes (graph JSON is checked with it); its output type is OpAttrs[O]. */
  attrs: z.ZodType<OpAttrMap[O]>;
  /** The op's semantics in a sentence or two. */
  doc: string;
  type: TypeRule<O>;
  kernel: Kernel<O>;
  backward: BackwardRule<O>;
}

/** An op every backend lowers. */
export interface PrimitiveOp<O extends OpName> extends OpBase<O> {
  kind: 'primitive';
}

/** An op with a decomposition into others: a backend may lower it (fused) or have decomposeComposites rewrite it. */
export interface CompositeOp<O extends OpName> extends OpBase<O> {
  kind: 'composite';
  decompose: Decomposition<O>;
  /** Cases the decomposition is tested on against the kernel (ops/ops.test.ts). */
  examples: OpExample<O>[];
}

/** Everything about one op, in one place (ops/<op>.ts). */
export type OpRecord<O extends OpName = OpName> = PrimitiveOp<O> | CompositeOp<O>;

/** The attrs schema of ops without attributes. */
export const noAttrs = z.object({});

/** A dimension in graph JSON: a size or 'batch'. */
export const dimSchema = z.union([z.number().int(), z.literal('batch')]);

/** The f32 type of that shape. */
export const f32 = (shape: Dim[]): TensorType => ({ dtype: 'f32', shape });
