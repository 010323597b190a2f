import { grad, gradName } from '../autodiff/grad.js';
import { DEFAULT_OPTIMIZER, type OptimizerConfig } from '../engine.js';
import { initWeights, paramTensors } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import type { HostTensor, Weights } from '../ir/tensor.js';
import { OP_NAMES, type Graph, type OpName } from '../ir/types.js';
import { parseFeatureSchema, type FeatureSchema } from '../schema.js';
import { edgeOpsFeeds, edgeOpsGraph, randomFeeds, smallSchema, worstError } from '../testing.js';
import type { GraphCompiler } from '../train/compiler.js';
import { buildPredictGraph, HostEmbeddingEngine, interpretCompiler } from '../train/host-engine.js';
import { buildTrainStep } from '../train/train-step.js';
import { INTERACTIONS, MODEL_NAMES, modelConfigSchema, type Interaction, type ModelConfigInput, type ModelName } from '../zoo/config.js';
import { buildModel } from '../zoo/index.js';

/**
 * Every tolerance of the conformance suite, in one place. The reference is
 * core's interpreter, which computes in f64; a backend computes in f32, so
 * each bound is what f32 rounding needs on these small graphs with a wide
 * margin, and far below what a wrong rule gives (a missing 1/count of
 * 'mean' pooling, a transposed matmul, an unclipped bce: 1e-2 and more).
 * None is looser than the bound the backends' own kits used before the
 * suite for the same check.
 */
export const TOLERANCES = {
  /**
   * Forward outputs (and gradient graphs' outputs, and predictions after
   * training): worstError (|got − want| / max(1, |want|)) below this. The
   * worst seen is 1.4e-7 (a loss at batch 1 on tfjs; onnx and torch are
   * lower), so 1e-6 leaves a 7× margin. Tighter than the kits before the
   * suite (1e-5 in the onnx, tfjs and torch parity kits; tfjs's edge-case
   * kit 1e-6 absolute + 1e-5 relative).
   */
  forward: 1e-6,
  /**
   * Gradient graphs: worstError below `forward`, and every element of a
   * parameter's gradient within `gradientRelative`·max(|want|, 1e-2·scale),
   * scale the largest |want| of that gradient (the onnx gradient kit's bound:
   * tight for the small elements of a gradient whose scale is large).
   */
  gradientRelative: 1e-4,
  /**
   * Training: every weight within this (absolute) of the interpreter-driven
   * engine's after each step. Adam moves a weight by ≈ lr·g/|g| whatever the
   * size of g, so f32 rounding of a near-zero gradient element is amplified
   * up to lr (0.01 here) per step; 1e-4 (1% of a step) has held for every
   * backend, while dropping the 1/count of 'mean' pooling's rows gradient puts
   * the tables ≈1.7e-3 away. The onnx training-engine kit's bound.
   */
  weights: 1e-4,
  /** Training: every loss within this, relative (max(1, |want|)), at each step. The onnx training-engine kit's bound. */
  losses: 1e-4,
} as const;

export type ConformancePart = 'forward' | 'gradients' | 'training';

export interface ConformanceOptions {
  /** Zoo models to generate cases for; default every one (MODEL_NAMES). */
  models?: readonly ModelName[];
  /** Interaction modules; default every one (INTERACTIONS). */
  interactions?: readonly Interaction[];
  /** Training steps per zoo case; default 3. */
  steps?: number;
  /** Which parts to generate; default all three. */
  parts?: readonly ConformancePart[];
}

/** One generated check: runs its graphs through a compiler and says what differs from the interpreter. */
export interface ConformanceCase {
  part: ConformancePart;
  name: string;
  /** Every op of the graphs this case runs through the compiler (for the coverage check). */
  ops: ReadonlySet<OpName>;
  /** The mismatches, as sentences naming the output and the feeds (empty: the compiler conforms on this case). */
  run(compile: GraphCompiler): Promise<string[]>;
}

/** A zoo configuration the suite generates: a model with an interaction module (and activation), on `schema`. */
export interface ZooCase {
  name: string;
  schema: FeatureSchema;
  config: ModelConfigInput;
}

const ACTIVATIONS = modelConfigSchema.shape.activation.unwrap().options;
const EMBEDDING_OPTIMIZERS: readonly OptimizerConfig['embeddingOptimizer'][] = ['adam', 'adagrad'];

/**
 * The zoo as the suite sees it, generated from the registry (MODEL_NAMES ×
 * INTERACTIONS × activations), never listed by hand: a new model, module or
 * activation is covered without editing a test. Small towers on the small
 * schema keep the f64 interpreter quick; embeddingDim 3 (the small schema's
 * 'item' is 3 wide) lets 'dot' pair every field, numericDim 2 adds the
 * numerics' projection to it; 2 cross layers.
 */
export function zooCases(options: Pick<ConformanceOptions, 'models' | 'interactions'> = {}, activations: readonly string[] = ['relu']): ZooCase[] {
  const schema = smallSchema();
  return (options.models ?? MODEL_NAMES).flatMap((model) =>
    (options.interactions ?? INTERACTIONS).flatMap((interaction) =>
      activations.map((activation) => ({
        name: `${model}, interaction ${interaction}${activation === 'relu' ? '' : `, ${activation}`}`,
        schema,
        config: { model, interaction, activation: activation as 'relu' | 'tanh', towers: [8, 4], embeddingDim: 3, numericDim: 2, crossLayers: 2, oversampleRate: 4 },
      })),
    ),
  );
}

/** The paper-sized default of every model (9 categorical fields, dim 16, towers 256-128-64): the config a user gets. */
export function defaultConfigCases(models: readonly ModelName[] = MODEL_NAMES): ZooCase[] {
  const schema = parseFeatureSchema({
    fields: Array.from({ length: 9 }, (_, i) => ({ kind: 'categorical', name: `f${i}`, encoding: { kind: 'vocabulary', size: 50 + i } })),
  });
  return models.map((model) => ({ name: `${model}, default config`, schema, config: { model } }));
}

/** Multi-valued inputs with a row of padding only and a row holding one id twice (batch ≥ 2). */
export function paddedFeeds(graph: Graph, schema: FeatureSchema, batch: number, seed: number): Record<string, HostTensor> {
  const feeds = randomFeeds(graph, schema, batch, seed);
  for (const input of graph.inputs) {
    const t = feeds[input.name]!;
    const width = t.shape[1];
    if (input.type.dtype !== 'i32' || width === undefined) continue;
    const data = Int32Array.from(t.data);
    for (let d = 0; d < width; d++) {
      data[d] = -1;
      data[width + d] = d === width - 1 ? -1 : data[width]!;
    }
    feeds[input.name] = { shape: t.shape, data };
  }
  return feeds;
}

/** The graph with its parameters turned into inputs (what a GraphCompiler takes), and the feeds for them. */
function asCompilerGraph(graph: Graph, weights: Weights): { graph: Graph; params: Record<string, HostTensor> } {
  return {
    graph: { ...graph, inputs: [...graph.inputs, ...graph.params.map((p) => ({ name: p.name, type: p.type, role: 'state' as const }))], params: [] },
    params: paramTensors(graph, weights),
  };
}

const opsOf = (...graphs: Graph[]) => new Set(graphs.flatMap((g) => g.nodes.map((n) => n.op)));

/** Largest |got − want| − bound over a gradient's elements, bound = rel·max(|want|, 1e-2·scale); ≤ 0 passes. */
function gradientExcess(got: ArrayLike<number>, want: HostTensor): { excess: number; at: number } {
  let scale = 0;
  for (const w of want.data) scale = Math.max(scale, Math.abs(w));
  let worst = { excess: -Infinity, at: -1 };
  for (let i = 0; i < want.data.length; i++) {
    const w = want.data[i]!;
    const excess = Math.abs(got[i]! - w) - TOLERANCES.gradientRelative * Math.max(Math.abs(w), 1e-2 * scale);
    if (!(excess <= worst.excess)) worst = { excess: Number.isNaN(excess) ? Infinity : excess, at: i };
  }
  return worst;
}

/**
 * A case running `graph` (with `weights`) through the compiler on each feed
 * set and comparing `outputs` with the interpreter; `gradients` lists the
 * outputs that are parameter gradients (held to the gradient bound as well).
 */
function graphCase(
  part: ConformancePart,
  name: string,
  graph: Graph,
  weights: Weights,
  feedSets: [string, Record<string, HostTensor>][],
  gradients: ReadonlySet<string> = new Set(),
): ConformanceCase {
  const outputs = Object.keys(graph.outputs);
  return {
    part,
    name,
    ops: opsOf(graph),
    async run(compile) {
      const compiled = asCompilerGraph(graph, weights);
      const runner = await compile(compiled.graph);
      const problems: string[] = [];
      // A gradient that is 0 everywhere on every feed set would check nothing: the case is then wrong, not the backend.
      const silent = new Set(gradients);
      try {
        // Every feed set at once: a backend with a high cost per call may batch them.
        const runs = await Promise.all(feedSets.map(([, feeds]) => runner.run({ ...feeds, ...compiled.params }, outputs)));
        for (const [k, [label, feeds]] of feedSets.entries()) {
          const want = interpret(graph, weights, feeds, { outputs });
          for (const o of silent) if (want[o]!.data.some((v) => v !== 0)) silent.delete(o);
          const got = runs[k]!;
          for (const o of outputs) {
            const [g, w] = [got[o], want[o]!];
            if (!g) {
              problems.push(`${label}: output '${o}' missing`);
              continue;
            }
            const err = worstError(g, w);
            if (!(err < TOLERANCES.forward)) problems.push(`${label}: output '${o}' is ${err} away from the interpreter (worstError; bound ${TOLERANCES.forward})`);
            if (gradients.has(o)) {
              const { excess, at } = gradientExcess(g, w);
              if (!(excess <= 0)) problems.push(`${label}: gradient '${o}'[${at}] is ${g[at]}, the interpreter's ${w.data[at]} (bound ${TOLERANCES.gradientRelative} relative to max(|want|, 1e-2·scale))`);
            }
          }
        }
      } finally {
        runner.release?.();
      }
      for (const o of silent) problems.push(`the interpreter's '${o}' is 0 on every feed set: the case checks nothing there`);
      return problems;
    },
  };
}

/** (a) Forward: the hand-built edge-ops graph on its edge feeds, and every zoo graph (every activation, and each model's default config). */
function forwardCases(options: ConformanceOptions): ConformanceCase[] {
  const edge = edgeOpsGraph();
  const allPadding = edgeOpsFeeds(4, 3);
  allPadding.ids = { shape: [4], data: Int32Array.of(-1, -1, -1, -1) };
  allPadding.multi = { shape: [4, 3], data: new Int32Array(12).fill(-1) };
  const cases = [
    graphCase('forward', 'edge ops', edge, initWeights(edge, 11), [
      ['29 rows', edgeOpsFeeds(29, 34)],
      ['one row', edgeOpsFeeds(1, 6)],
      ['all weights zero', edgeOpsFeeds(9, 14, 'zero')],
      ['weights summing below zero', edgeOpsFeeds(9, 15, 'negative')],
      ['ids all padding', allPadding],
      ['no rows', edgeOpsFeeds(0, 1)],
    ]),
  ];
  for (const zoo of [...zooCases(options, ACTIVATIONS), ...defaultConfigCases(options.models)]) {
    const { graph } = buildModel(zoo.schema, zoo.config);
    const feeds: [string, Record<string, HostTensor>][] = [
      ['batch 1', randomFeeds(graph, zoo.schema, 1, 3)],
      ['batch 37', randomFeeds(graph, zoo.schema, 37, 37)],
      ['padded batch of 6', paddedFeeds(graph, zoo.schema, 6, 99)],
    ];
    cases.push(graphCase('forward', zoo.name, graph, initWeights(graph, 7), feeds));
  }
  return cases;
}

/** (b) Gradients: core's autodiff graph (loss and every parameter's gradient) of every zoo model × interaction. */
function gradientCases(options: ConformanceOptions): ConformanceCase[] {
  return zooCases(options).map((zoo) => {
    const model = buildModel(zoo.schema, zoo.config);
    const graph = grad(model.graph);
    const feeds: [string, Record<string, HostTensor>][] = [
      ['batch 32', randomFeeds(model.graph, zoo.schema, 32, 24)],
      ['padded batch of 6', paddedFeeds(model.graph, zoo.schema, 6, 99)],
    ];
    return graphCase('gradients', zoo.name, graph, initWeights(model.graph, 23), feeds, new Set(model.graph.params.map((p) => gradName(p.name))));
  });
}

/**
 * The optimizer of the k-th training case: lr 0.01 (weights move far more
 * than the tolerance), the embedding optimizers and clipping (0 or binding)
 * taken in turn so every combination is run.
 */
export function trainingOptimizer(k: number): OptimizerConfig {
  return { ...DEFAULT_OPTIMIZER, lr: 0.01, embeddingOptimizer: EMBEDDING_OPTIMIZERS[k % 2]!, clipNorm: Math.floor(k / 2) % 2 === 1 ? 0.5 : 0 };
}

/**
 * (c) Training: `steps` steps of every zoo model × interaction by core's
 * HostEmbeddingEngine on the compiler against the same engine on the
 * interpreter: losses and every weight after each step, predictions after the last.
 */
function trainingCases(options: ConformanceOptions): ConformanceCase[] {
  const steps = options.steps ?? 3;
  return zooCases(options).map((zoo, k) => {
    const model = buildModel(zoo.schema, zoo.config);
    const optimizer = trainingOptimizer(k);
    const label = `${zoo.name}; ${optimizer.embeddingOptimizer} tables${optimizer.clipNorm ? `, clipped at ${optimizer.clipNorm}` : ''}`;
    // What the compiler is handed: the train-step graph, and the predict graph.
    const stepGraphs = [buildTrainStep(model, optimizer).graph, buildPredictGraph(model, model.predictions)];
    return {
      part: 'training' as const,
      name: label,
      ops: opsOf(...stepGraphs),
      async run(compile) {
        const weights = initWeights(model.graph, 11);
        const [target, oracle] = await Promise.all([
          HostEmbeddingEngine.create({ model, weights, optimizer }, compile, 'conformance', ''),
          HostEmbeddingEngine.create({ model, weights, optimizer }, interpretCompiler, 'interpreter', ''),
        ]);
        const problems: string[] = [];
        try {
          let moved = 0;
          for (let s = 0; s < steps; s++) {
            const feeds = randomFeeds(model.graph, zoo.schema, 24, 100 + s);
            const [a, b] = [await target.step(feeds), await oracle.step(feeds)];
            for (const l of model.losses) {
              const err = Math.abs(a.losses[l]! - b.losses[l]!) / Math.max(1, Math.abs(b.losses[l]!));
              if (!(err <= TOLERANCES.losses)) problems.push(`step ${s + 1}: loss '${l}' is ${a.losses[l]}, the interpreter's ${b.losses[l]}`);
            }
            const [wa, wb] = [target.getWeights(), oracle.getWeights()];
            for (const p of model.graph.params) {
              const [x, y, w0] = [wa.get(p.name)!, wb.get(p.name)!, weights.get(p.name)!];
              for (let i = 0; i < y.length; i++) {
                const d = Math.abs(x[i]! - y[i]!);
                if (!(d <= TOLERANCES.weights)) {
                  problems.push(`after step ${s + 1}: '${p.name}'[${i}] is ${x[i]}, the interpreter's ${y[i]} (bound ${TOLERANCES.weights})`);
                  break;
                }
                moved = Math.max(moved, Math.abs(y[i]! - w0[i]!));
              }
            }
          }
          // Training happened: some weight moved 10× the tolerance (one Adam step moves a weight by up to lr = 0.01).
          if (!(moved > 10 * TOLERANCES.weights)) problems.push(`the interpreter's weights moved at most ${moved} in ${steps} steps: the case checks nothing`);
          const feeds = randomFeeds(model.graph, zoo.schema, 7, 999);
          const [pa, pb] = [await target.predict(feeds, model.predictions), await oracle.predict(feeds, model.predictions)];
          for (const o of model.predictions) {
            const err = worstError(pa[o]!, { shape: [7], data: Float64Array.from(pb[o]!) });
            if (!(err < TOLERANCES.forward)) problems.push(`prediction '${o}' after ${steps} steps is ${err} away from the interpreter's`);
          }
        } finally {
          target.dispose();
          oracle.dispose();
        }
        return problems;
      },
    };
  });
}

/** Every case the options select, generated from OP_NAMES' edge graph and the zoo registry. */
export function conformanceCases(options: ConformanceOptions = {}): ConformanceCase[] {
  const parts = new Set(options.parts ?? ['forward', 'gradients', 'training']);
  return [
    ...(parts.has('forward') ? forwardCases(options) : []),
    ...(parts.has('gradients') ? gradientCases(options) : []),
    ...(parts.has('training') ? trainingCases(options) : []),
  ];
}

/** The ops of OP_NAMES no case runs through the compiler (the suite fails unless empty). */
export function opsNotExercised(cases: readonly ConformanceCase[]): OpName[] {
  const used = new Set(cases.flatMap((c) => [...c.ops]));
  return OP_NAMES.filter((op) => !used.has(op));
}
