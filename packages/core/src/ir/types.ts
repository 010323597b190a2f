/**
 * The model IR: typed values and a flat, topologically ordered list of
 * equations over a closed op set. Graphs are plain JSON-serialisable data so
 * that artifacts, backends and tools all read the same thing.
 */

import type { Node, OpAttrMap, OpName } from '../ops/support/record.js';
import type { TensorType } from './tensor-type.js';

export type { DType, Dim, TensorType } from './tensor-type.js';
export type { Node, OpName } from '../ops/support/record.js';

/**
 * The closed op set, in the registry's order: one record per op in
 * packages/core/src/ops/. Adding an op there forces every lowering table to
 * handle it.
 */
export { OP_NAMES } from '../ops/index.js';

/** Attributes per op, each the output type of its record's zod schema; ops without attributes take an empty object. */
export type OpAttrs = OpAttrMap;

export type Attrs<O extends OpName = OpName> = OpAttrs[O];

export type Initializer =
  | { kind: 'zeros' }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; limit: number }
  /** Glorot/Xavier uniform from the (fanIn, fanOut) of a 2-D weight. */
  | { kind: 'glorotUniform' };

export interface GraphInput {
  name: string;
  type: TensorType;
  /** Labels are needed for the loss only; scoring graphs drop them. `state`: parameters and optimizer moments fed to a compiled training step. */
  role: 'feature' | 'label' | 'state';
}

export interface Param {
  name: string;
  type: TensorType;
  init: Initializer;
  /** Embedding tables are updated sparsely by training engines. */
  kind: 'embedding' | 'dense';
}

export interface Graph {
  name: string;
  inputs: GraphInput[];
  params: Param[];
  nodes: Node[];
  /** Named results: predictions and losses point at node ids (or inputs). */
  outputs: Record<string, string>;
}
