import type { OptimizerConfig } from '../engine.js';
import { ops } from '../ir/builder.js';
import { pruneGraph } from '../ir/prune.js';
import { inferType, typecheck } from '../ir/typecheck.js';
import type { Graph, GraphInput, Node, TensorType } from '../ir/types.js';
import type { ZooModel } from '../zoo/model.js';
import { splitEmbeddings } from './split-embeddings.js';
import { flatGradients, trainStepNames as N, type TrainStep } from './train-step.js';

/** Names of the sharded step's extra inputs and outputs (the rest are trainStepNames'). */
export const shardedStepNames = {
  /** A shard's gradient of the whole batch's loss, flat (TrainStep.layout). */
  denseGrad: 'shard/grad/dense',
  /** Σ of the squares of a shard's rows gradients (global-norm clipping only). */
  rowsSquares: 'shard/grad/rows_squares',
  /** The whole batch's denominator of a batch reduction (a mean's count, a weighted mean's Σ weights). */
  denominator: (node: string) => `shard/denominator/${node}`,
} as const;

/** How the host computes a batch reduction's denominator on the whole batch before the shards run. */
export type ShardDenominator =
  | { input: string; kind: 'count'; /** values per row of the reduced tensor */ perRow: number }
  | { input: string; kind: 'weights'; /** the weights alone, from feature and label inputs (output `weights`), for the interpreter */ graph: Graph };

/**
 * One training step split across shards of the batch (data parallelism):
 * each shard runs `gradient` on its rows — the whole batch's loss restricted
 * to them, so the shards' losses and gradients add up to the whole batch's
 * exactly — then the dense gradients are summed, clipped as the
 * single-graph step clips, and Adam runs once (shard-pool.ts:
 * sumShardGradients, applyDenseRange, on the host or spread over the
 * workers by ranges of the flat vector). The rows gradients come back
 * unclipped; the host scales them by the same clip factor.
 */
export interface ShardedStep extends Omit<TrainStep, 'graph'> {
  gradient: Graph;
  denominators: ShardDenominator[];
  /** Whether the step clips (then gradient outputs rowsSquares when there are lookups). */
  clips: boolean;
}

const hasBatch = (t: TensorType) => t.shape.includes('batch');

/**
 * The split graph with every reduction over the batch (mean, weightedMean —
 * the losses) rewritten as Σ over the rows present divided by the whole
 * batch's denominator, a new scalar input. Any other op that mixes rows
 * would make a shard's result depend on the other shards: refused, naming
 * the node.
 */
function globalReductions(graph: Graph, rowsInputs: ReadonlySet<string>): { graph: Graph; denominators: ShardDenominator[] } {
  const types = typecheck(graph);
  const nodes: Node[] = [];
  const inputs: GraphInput[] = [...graph.inputs];
  const denominators: ShardDenominator[] = [];
  const add = (id: string, op: Node['op'], ins: string[]): Node => {
    const type = inferType(op, ins.map((i) => types.get(i)!), {});
    if (typeof type === 'string') throw new Error(`sharding graph '${graph.name}': ${id}: ${type}`);
    types.set(id, type);
    return { id, op, inputs: ins, attrs: {}, type };
  };
  for (const node of graph.nodes) {
    const reducesBatch = node.inputs.some((i) => hasBatch(types.get(i)!)) && !hasBatch(node.type);
    if (!reducesBatch) {
      nodes.push(node);
      continue;
    }
    if (node.op !== 'mean' && node.op !== 'weightedMean') {
      throw new Error(`graph '${graph.name}' cannot be split across workers: node '${node.id}' (${node.op}) reduces over the batch; only mean and weightedMean can`);
    }
    const denominator = shardedStepNames.denominator(node.id);
    inputs.push({ name: denominator, type: { dtype: 'f32', shape: [] }, role: 'state' });
    types.set(denominator, { dtype: 'f32', shape: [] });
    const [x, w] = node.inputs as [string, string | undefined];
    const xType = types.get(x)!;
    if (node.op === 'mean') {
      denominators.push({ input: denominator, kind: 'count', perRow: xType.shape.reduce<number>((a, d) => (d === 'batch' ? a : a * d), 1) });
      nodes.push(add(`${node.id}%sum`, 'sum', [x]));
    } else {
      const weights = pruneGraph({ ...graph, outputs: { weights: w! } }, ['weights']);
      const from = weights.params.map((p) => p.name).concat(weights.inputs.filter((i) => rowsInputs.has(i.name)).map((i) => i.name));
      if (from.length > 0) {
        throw new Error(`graph '${graph.name}' cannot be split across workers: the weights of node '${node.id}' (weightedMean) depend on '${from[0]}', not only on the batch's inputs`);
      }
      denominators.push({ input: denominator, kind: 'weights', graph: weights });
      nodes.push(add(`${node.id}%weighted`, 'mul', [x, w!]));
      nodes.push(add(`${node.id}%sum`, 'sum', [`${node.id}%weighted`]));
    }
    nodes.push(add(node.id, 'div', [`${node.id}%sum`, denominator]));
  }
  const out: Graph = { ...graph, inputs, nodes };
  typecheck(out);
  return { graph: out, denominators };
}

/** The training step of `model` as a gradient graph run per shard (see ShardedStep). */
export function buildShardedStep(model: ZooModel, optimizer: OptimizerConfig): ShardedStep {
  const S = shardedStepNames;
  const split = splitEmbeddings(model.graph);
  const rowsInputs = split.lookups.map((l) => l.rowsInput);
  const { graph: global, denominators } = globalReductions(split.graph, new Set(rowsInputs));
  const clips = optimizer.clipNorm > 0;

  const { b, layout, flatSize, flatGrad, g } = flatGradients(global, rowsInputs);
  b.output(S.denseGrad, flatGrad);
  const outputs: string[] = [...model.losses, S.denseGrad];
  for (const r of rowsInputs) {
    b.output(N.rowsGrad(r), g(r));
    outputs.push(N.rowsGrad(r));
  }
  if (clips && rowsInputs.length > 0) {
    const squares = rowsInputs.map((r) => ops.sum(b, ops.mul(b, g(r), g(r))));
    b.output(S.rowsSquares, squares.length === 1 ? squares[0]! : ops.weightedSum(b, squares, squares.map(() => 1)));
    outputs.push(S.rowsSquares);
  }
  const gradient = pruneGraph(b.build(), outputs);
  return { gradient, denominators, clips, layout, flatSize, tables: split.tables, lookups: split.lookups, losses: model.losses };
}
