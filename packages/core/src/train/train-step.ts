import { grad, gradName } from '../autodiff/grad.js';
import type { OptimizerConfig } from '../engine.js';
import { GraphBuilder, ops, type Value } from '../ir/builder.js';
import { pruneGraph } from '../ir/prune.js';
import type { Graph, Node } from '../ir/types.js';
import type { ZooModel } from '../zoo/model.js';
import { splitEmbeddings, type HostLookup, type HostTable } from './split-embeddings.js';


/** Names of the inputs and outputs of a compiled step. */
export const trainStepNames = {
  /** Every dense parameter, concatenated (see TrainStep.layout), and Adam's two moments alike. */
  params: 'dense/params',
  firstMoment: 'dense/adam_m',
  secondMoment: 'dense/adam_v',
  nextParams: 'next/dense/params',
  nextFirstMoment: 'next/dense/adam_m',
  nextSecondMoment: 'next/dense/adam_v',
  /** Clipped gradient of a lookup's rows, applied to the host table. */
  rowsGrad: (rowsInput: string) => `step_grad/${rowsInput}`,
  /** Scalars the host computes from the step count t: lr·√(1−β₂ᵗ)/(1−β₁ᵗ) and ε·√(1−β₂ᵗ). */
  stepSize: 'adam/step_size',
  epsHat: 'adam/eps_hat',
} as const;

/** Where a dense parameter lives in the flat parameter vector. */
export interface DenseSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface TrainStep {
  /** One IR graph: forward, backward, clipping and Adam on the dense parameters. */
  graph: Graph;
  /** Dense parameters in the flat vectors, in order. */
  layout: DenseSlot[];
  /** Length of the flat parameter (and moment) vectors. */
  flatSize: number;
  /** Embedding tables the host keeps (every embedding param of the model). */
  tables: HostTable[];
  /** Embedding lookups the host performs before the step and updates after it. */
  lookups: HostLookup[];
  losses: string[];
}

/**
 * The whole training step as one IR graph, so a backend can compile it to a
 * single call (ONNX Runtime) and the interpreter can check it. Embedding
 * tables stay on the host (see splitEmbeddings); everything dense, the
 * optimizer included, is in the graph, on three flat vectors (parameters
 * and Adam's moments): three tensors cross per step instead of three per
 * parameter, and Adam is a handful of ops over one vector. Global-norm
 * clipping follows OptimizerConfig.clipNorm.
 */
export function buildTrainStep(model: ZooModel, optimizer: OptimizerConfig): TrainStep {
  const N = trainStepNames;
  const split = splitEmbeddings(model.graph);
  const rowsInputs = split.lookups.map((l) => l.rowsInput);
  const { b, layout, flatSize, flatGrad, g } = flatGradients(split.graph, rowsInputs);
  const scale = clipScaleOf(b, optimizer, [flatGrad, ...rowsInputs.map(g)].map((v) => ops.sum(b, ops.mul(b, v, v))));
  const scaled = (v: Value) => (scale ? ops.mul(b, v, scale) : v);
  denseAdam(b, optimizer, flatSize, scaled(flatGrad));
  const outputs: string[] = [...model.losses, N.nextParams, N.nextFirstMoment, N.nextSecondMoment];
  for (const r of rowsInputs) {
    b.output(N.rowsGrad(r), scaled(g(r)));
    outputs.push(N.rowsGrad(r));
  }
  const graph = pruneGraph(b.build(), outputs);
  return { graph, layout, flatSize, tables: split.tables, lookups: split.lookups, losses: model.losses };
}

/**
 * The backward pass of a split graph on the flat dense vector: a builder
 * extending the graph with its gradients, where every dense parameter is a
 * slice of the input N.params (defined under the parameter's own name), the
 * parameters' gradients concatenated in the same layout (`flatGrad`), and
 * `g(name)` the gradient of a parameter or rows input.
 */
export function flatGradients(
  split: Graph,
  rowsInputs: string[],
): { b: GraphBuilder; layout: DenseSlot[]; flatSize: number; flatGrad: Value; g: (name: string) => Value } {
  const N = trainStepNames;
  const withGrads = grad(split, { wrt: [...split.params.map((p) => p.name), ...rowsInputs] });
  const layout: DenseSlot[] = [];
  let flatSize = 0;
  for (const p of withGrads.params) {
    const shape = p.type.shape as number[];
    const size = shape.reduce((a, d) => a * d, 1);
    layout.push({ name: p.name, shape, offset: flatSize, size });
    flatSize += size;
  }
  const flat = { name: N.params, type: { dtype: 'f32' as const, shape: [flatSize] }, role: 'state' as const };
  const unpack: Node[] = layout.flatMap((slot, k) => [
    { id: `%unpack${k}`, op: 'slice', inputs: [N.params], attrs: { axis: 0, start: slot.offset, size: slot.size }, type: { dtype: 'f32', shape: [slot.size] } },
    { id: slot.name, op: 'reshape', inputs: [`%unpack${k}`], attrs: { shape: slot.shape }, type: { dtype: 'f32', shape: slot.shape } },
  ]);
  const b = GraphBuilder.extending({ ...withGrads, inputs: [...withGrads.inputs, flat], params: [], nodes: [...unpack, ...withGrads.nodes] });
  const g = (name: string) => b.value(withGrads.outputs[gradName(name)]!);
  const flatGrad = ops.concat(b, layout.map((slot) => ops.reshape(b, g(slot.name), [slot.size])), 0);
  return { b, layout, flatSize, flatGrad, g };
}

/** Global-norm clipping factor min(1, clipNorm / √Σ squares) as a graph value; undefined when clipping is off. */
export function clipScaleOf(b: GraphBuilder, optimizer: OptimizerConfig, squares: Value[]): Value | undefined {
  if (!(optimizer.clipNorm > 0)) return undefined;
  const norm = ops.sqrt(b, squares.length === 1 ? squares[0]! : ops.weightedSum(b, squares, squares.map(() => 1)));
  const limit = ops.constant(b, optimizer.clipNorm);
  return ops.div(b, limit, ops.maximum(b, norm, limit));
}

/**
 * Adam on the flat dense vectors: reads N.params (declared already), declares
 * the moments and the step scalars as inputs, outputs the next parameters
 * and moments from the (clipped) flat gradient `gp`.
 */
export function denseAdam(b: GraphBuilder, optimizer: OptimizerConfig, flatSize: number, gp: Value): void {
  const N = trainStepNames;
  const stepSize = b.input(N.stepSize, 'f32', [], 'state');
  const epsHat = b.input(N.epsHat, 'f32', [], 'state');
  const c = (x: number) => ops.constant(b, x);
  const w = b.value(N.params);
  const m = b.input(N.firstMoment, 'f32', [flatSize], 'state');
  const v = b.input(N.secondMoment, 'f32', [flatSize], 'state');
  const m2 = ops.add(b, ops.mul(b, m, c(optimizer.beta1)), ops.mul(b, gp, c(1 - optimizer.beta1)));
  const v2 = ops.add(b, ops.mul(b, v, c(optimizer.beta2)), ops.mul(b, ops.mul(b, gp, gp), c(1 - optimizer.beta2)));
  const update = ops.div(b, ops.mul(b, m2, stepSize), ops.add(b, ops.sqrt(b, v2), epsHat));
  b.output(N.nextParams, ops.sub(b, w, update));
  b.output(N.nextFirstMoment, m2);
  b.output(N.nextSecondMoment, v2);
}
