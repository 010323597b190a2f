import { grad, gradName } from '../autodiff/grad.js';
import type { OptimizerConfig } from '../engine.js';
import { GraphBuilder, ops, type Value } from '../ir/builder.js';
import { pruneGraph } from '../ir/prune.js';
import type { Graph } from '../ir/types.js';
import type { ZooModel } from '../zoo/model.js';
import { splitEmbeddings, type HostLookup } from './split-embeddings.js';


/** Names of the state a compiled step reads and returns, per dense parameter. */
export const trainStepNames = {
  firstMoment: (p: string) => `adam_m/${p}`,
  secondMoment: (p: string) => `adam_v/${p}`,
  nextParam: (p: string) => `next/${p}`,
  nextFirstMoment: (p: string) => `next/adam_m/${p}`,
  nextSecondMoment: (p: string) => `next/adam_v/${p}`,
  /** Clipped gradient of a lookup's rows, applied to the host table. */
  rowsGrad: (rowsInput: string) => `step_grad/${rowsInput}`,
  /** Scalars the host computes from the step count t: lr·√(1−β₂ᵗ)/(1−β₁ᵗ) and ε·√(1−β₂ᵗ). */
  stepSize: 'adam/step_size',
  epsHat: 'adam/eps_hat',
} as const;

export interface TrainStep {
  /** One IR graph: forward, backward, clipping and Adam on the dense parameters. */
  graph: Graph;
  /** Dense parameters, fed as `state` inputs under their own names. */
  dense: string[];
  /** Embedding lookups the host performs before the step and updates after it. */
  lookups: HostLookup[];
  losses: string[];
}

/**
 * The whole training step as one IR graph, so a backend can compile it to a
 * single call (ONNX Runtime) and the interpreter can check it. Embedding
 * tables stay on the host (see splitEmbeddings); everything dense, the
 * optimizer included, is in the graph. Global-norm clipping, when on, is
 * over the dense gradients and the embedding-row gradients as the graph
 * sees them (per lookup row, before the host sums duplicate ids).
 */
export function buildTrainStep(model: ZooModel, optimizer: OptimizerConfig): TrainStep {
  const split = splitEmbeddings(model.graph);
  const dense = split.graph.params.map((p) => p.name);
  const rowsInputs = split.lookups.map((l) => l.rowsInput);
  const withGrads = grad(split.graph, { wrt: [...dense, ...rowsInputs] });
  // Parameters become state inputs: the engine owns them and passes them in each step.
  const asInputs: Graph = {
    ...withGrads,
    inputs: [...withGrads.inputs, ...withGrads.params.map((p) => ({ name: p.name, type: p.type, role: 'state' as const }))],
    params: [],
  };
  const b = GraphBuilder.extending(asInputs);
  const g = (name: string) => b.value(withGrads.outputs[gradName(name)]!);

  let scale: Value | undefined;
  if (optimizer.clipNorm > 0) {
    const squares = [...dense, ...rowsInputs].map((n) => ops.sum(b, ops.mul(b, g(n), g(n))));
    const norm = ops.sqrt(b, squares.length === 1 ? squares[0]! : ops.weightedSum(b, squares, squares.map(() => 1)));
    const limit = ops.constant(b, optimizer.clipNorm);
    scale = ops.div(b, limit, ops.maximum(b, norm, limit));
  }
  const scaled = (v: Value) => (scale ? ops.mul(b, v, scale) : v);

  const stepSize = b.input(trainStepNames.stepSize, 'f32', [], 'state');
  const epsHat = b.input(trainStepNames.epsHat, 'f32', [], 'state');
  const c = (x: number) => ops.constant(b, x);
  const outputs: string[] = [...model.losses];
  for (const p of dense) {
    const w = b.value(p);
    const m = b.input(trainStepNames.firstMoment(p), 'f32', w.type.shape, 'state');
    const v = b.input(trainStepNames.secondMoment(p), 'f32', w.type.shape, 'state');
    const gp = scaled(g(p));
    const m2 = ops.add(b, ops.mul(b, m, c(optimizer.beta1)), ops.mul(b, gp, c(1 - optimizer.beta1)));
    const v2 = ops.add(b, ops.mul(b, v, c(optimizer.beta2)), ops.mul(b, ops.mul(b, gp, gp), c(1 - optimizer.beta2)));
    const update = ops.div(b, ops.mul(b, m2, stepSize), ops.add(b, ops.sqrt(b, v2), epsHat));
    b.output(trainStepNames.nextParam(p), ops.sub(b, w, update));
    b.output(trainStepNames.nextFirstMoment(p), m2);
    b.output(trainStepNames.nextSecondMoment(p), v2);
    outputs.push(trainStepNames.nextParam(p), trainStepNames.nextFirstMoment(p), trainStepNames.nextSecondMoment(p));
  }
  for (const r of rowsInputs) {
    b.output(trainStepNames.rowsGrad(r), scaled(g(r)));
    outputs.push(trainStepNames.rowsGrad(r));
  }
  const graph = pruneGraph(b.build(), outputs);
  return { graph, dense, lookups: split.lookups, losses: model.losses };
}
