/**
 * The model IR: typed values and a flat, topologically ordered list of
 * equations over a closed op set. Graphs are plain JSON-serialisable data so
 * that artifacts, backends and tools all read the same thing.
 */

export type DType = 'f32' | 'i32';

/** A dimension is a fixed size or the symbolic batch dimension. */
export type Dim = number | 'batch';

export interface TensorType {
  dtype: DType;
  shape: Dim[];
}

/** The closed op set. Adding a name here forces every lowering table to handle it. */
export const OP_NAMES = [
  'gather',
  'pooledGather',
  'concat',
  'matmul',
  'add',
  'sub',
  'mul',
  'oneMinus',
  'relu',
  'sigmoid',
  'tanh',
  'bce',
  'mean',
  'weightedMean',
  'weightedSum',
  'reshape',
  'constant',
  'pairwiseDot',
  // Ops that reverse-mode autodiff emits; ordinary ops for every backend.
  'reluGrad',
  'bceGrad',
  'meanGrad',
  'weightedMeanGrad',
  'sumTo',
  'slice',
  'scatterAdd',
  'pooledScatterAdd',
  'pairwiseDotGrad',
  // Ops the compiled training step needs for its optimizer (Adam, clipping).
  'sqrt',
  'div',
  'sum',
  'maximum',
] as const;

export type OpName = (typeof OP_NAMES)[number];

/** Attributes per op; ops without attributes take an empty object. */
export interface OpAttrs {
  gather: Record<string, never>;
  /** Padding ids (< 0) are skipped; `mean` divides by the count of real ids (0 when none). */
  pooledGather: { mode: 'sum' | 'mean' };
  concat: { axis: number };
  matmul: { transA?: boolean; transB?: boolean };
  add: Record<string, never>;
  sub: Record<string, never>;
  mul: Record<string, never>;
  oneMinus: Record<string, never>;
  relu: Record<string, never>;
  sigmoid: Record<string, never>;
  tanh: Record<string, never>;
  /** Probabilities are clipped to [eps, 1 - eps] before the logs: products of towers reach 1e-6. */
  bce: { eps: number };
  mean: Record<string, never>;
  /** sum(w·x) / sum(w); 0 when sum(w) = 0 (a batch with no selected rows contributes nothing). */
  weightedMean: Record<string, never>;
  weightedSum: { weights: number[] };
  reshape: { shape: Dim[] };
  constant: { value: number };
  /**
   * x f32[n, F, D] → f32[n, F(F−1)/2]: the dot product of every pair of
   * x's F rows, i < j, in row-major upper-triangle order (0·1, 0·2, …, 0·(F−1), 1·2, …).
   * DLRM's feature interaction.
   */
  pairwiseDot: Record<string, never>;
  /** dy · [x > 0]. */
  reluGrad: Record<string, never>;
  /** d bce / dp · dy, zero where p was clipped (the clip has no slope). */
  bceGrad: { eps: number };
  /** Spreads a scalar gradient evenly over x's shape: dy / size(x). */
  meanGrad: Record<string, never>;
  /** Gradient of weightedMean with respect to its values: dy · w / sum(w). */
  weightedMeanGrad: Record<string, never>;
  /** Sums over broadcast dimensions so a gradient has its operand's shape. */
  sumTo: { shape: Dim[] };
  slice: { axis: number; start: number; size: number };
  /** Dense [rows, D] table gradient from per-row gradients; ids < 0 are skipped. */
  scatterAdd: { rows: number };
  /** Table gradient of pooledGather: each id of a row gets the row's gradient (÷ count for mean). */
  pooledScatterAdd: { rows: number; mode: 'sum' | 'mean' };
  /** Gradient of pairwiseDot (dy f32[n, P], x f32[n, F, D]) → f32[n, F, D]: dx_i = Σ_{j≠i} dy(i,j)·x_j. */
  pairwiseDotGrad: Record<string, never>;
  sqrt: Record<string, never>;
  div: Record<string, never>;
  /** Sum of all elements: a scalar. */
  sum: Record<string, never>;
  maximum: Record<string, never>;
}

export type Attrs<O extends OpName = OpName> = OpAttrs[O];

export interface Node<O extends OpName = OpName> {
  /** Value name this node defines, e.g. `%7`. */
  id: string;
  op: O;
  inputs: string[];
  attrs: OpAttrs[O];
  type: TensorType;
}

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
