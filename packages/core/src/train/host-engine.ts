import type { EngineOptions, EngineState, OptimizerConfig, StepResult, TrainingEngine } from '../engine.js';
import { interpret } from '../ir/interpret.js';
import { pruneGraph } from '../ir/prune.js';
import type { HostTensor, Weights } from '../ir/tensor.js';
import type { Graph } from '../ir/types.js';
import type { ZooModel } from '../zoo/model.js';
import { SparseEmbeddingTable } from './sparse-table.js';
import { splitEmbeddings, type HostLookup } from './split-embeddings.js';
import { adamScalars } from './adam.js';
import { buildTrainStep, trainStepNames as N, type TrainStep } from './train-step.js';

/**
 * Runs one compiled graph; f32 feeds in, f32/f64 arrays out. Outputs named
 * in `into` are written into those caller-owned buffers (and returned as
 * them), so a training loop can double-buffer its state instead of
 * allocating megabytes per step.
 */
export interface GraphRunner {
  run(feeds: Record<string, HostTensor>, outputs: string[], into?: Record<string, Float32Array>): Promise<Record<string, Float32Array | Float64Array>>;
  release?(): void;
}

/** How a backend turns an IR graph (no params: everything is an input) into a runner. */
export type GraphCompiler = (graph: Graph) => Promise<GraphRunner>;

/** The interpreter as a compiler: the oracle engine every compiled engine is compared with. */
export const interpretCompiler: GraphCompiler = async (graph) => ({
  run: async (feeds, outputs, into) => {
    const out = interpret(graph, new Map(), feeds, { outputs });
    return Object.fromEntries(
      outputs.map((o) => {
        const target = into?.[o];
        if (!target) return [o, out[o]!.data as Float64Array];
        target.set(out[o]!.data);
        return [o, target];
      }),
    );
  },
});

/**
 * The scoring side of a host-embedding model: predictions from looked-up
 * rows, with the dense parameters as inputs so current weights score
 * without recompiling.
 */
export function buildPredictGraph(model: ZooModel, outputs: string[]): Graph {
  const pruned = pruneGraph(splitEmbeddings(model.graph).graph, outputs);
  return { ...pruned, inputs: [...pruned.inputs, ...pruned.params.map((p) => ({ name: p.name, type: p.type, role: 'state' as const }))], params: [] };
}

/** Optimizer state names every engine uses (checkpoints move between backends). */
export const STATE_KEYS = {
  step: 'step',
  dense: (slot: 'm' | 'v', param: string) => `adam/${slot}/${param}`,
  table: (optimizer: OptimizerConfig['embeddingOptimizer'], slot: string, param: string) => `${optimizer}/${slot}/${param}`,
} as const;

function tableSlots(table: SparseEmbeddingTable): [string, Float32Array][] {
  return table.first.length > 0 ? [['m', table.first], ['v', table.second]] : [['acc', table.second]];
}

const asF32 = (a: Float32Array | Float64Array) => (a instanceof Float32Array ? a : Float32Array.from(a));

/**
 * A training engine whose step is one compiled graph (buildTrainStep):
 * dense parameters and Adam moments are passed in and adopted back from the
 * outputs; embedding tables stay here and only the batch's rows cross over.
 * Backends supply the compiler; the host logic is shared.
 */
export class HostEmbeddingEngine implements TrainingEngine {
  private t = 0;
  /** Buffers the next step writes its dense outputs into; swapped with the live ones after each step. */
  private spare: { dense: Map<string, Float32Array>; first: Map<string, Float32Array>; second: Map<string, Float32Array> } | undefined;
  /** Reused per-lookup buffers for gathered rows and their gradients, by batch size. */
  private readonly scratch = new Map<string, Float32Array>();
  private readonly predictRunners = new Map<string, Promise<GraphRunner>>();
  private readonly shapes: Map<string, number[]>;

  private constructor(
    readonly name: string,
    readonly description: string,
    private readonly model: ZooModel,
    private readonly optimizer: OptimizerConfig,
    private readonly compiler: GraphCompiler,
    private readonly trainStep: TrainStep,
    private readonly runner: GraphRunner,
    private readonly dense: Map<string, Float32Array>,
    private readonly firstMoments: Map<string, Float32Array>,
    private readonly secondMoments: Map<string, Float32Array>,
    private readonly tables: Map<string, SparseEmbeddingTable>,
  ) {
    this.shapes = new Map(model.graph.params.map((p) => [p.name, p.type.shape as number[]]));
  }

  static async create(options: EngineOptions, compiler: GraphCompiler, name: string, description: string): Promise<HostEmbeddingEngine> {
    const step = buildTrainStep(options.model, options.optimizer);
    const runner = await compiler(step.graph);
    const copy = (p: string) => {
      const w = options.weights.get(p);
      if (!w) throw new Error(`missing initial weights for '${p}'`);
      return Float32Array.from(w);
    };
    const dense = new Map(step.dense.map((p) => [p, copy(p)]));
    const zeros = () => new Map(step.dense.map((p) => [p, new Float32Array(dense.get(p)!.length)]));
    const tables = new Map<string, SparseEmbeddingTable>();
    for (const l of step.lookups) {
      if (!tables.has(l.table)) tables.set(l.table, new SparseEmbeddingTable(l.rows, l.dim, copy(l.table), options.optimizer));
    }
    return new HostEmbeddingEngine(name, description, options.model, options.optimizer, compiler, step, runner, dense, zeros(), zeros(), tables);
  }

  private batchOf(feeds: Record<string, HostTensor>): number {
    const first = this.trainStep.lookups[0] ? feeds[this.trainStep.lookups[0].ids] : Object.values(feeds)[0];
    if (!first) throw new Error('no inputs in this batch');
    return first.shape[0]!;
  }

  /** Feeds for a graph: looked-up rows, dense parameters, and the caller's f32 inputs. */
  private feedsFor(graph: Graph, feeds: Record<string, HostTensor>, lookups: HostLookup[], batch: number): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const l of lookups) {
      const ids = feeds[l.ids];
      if (!ids) throw new Error(`missing input '${l.ids}'`);
      if (!(ids.data instanceof Int32Array)) throw new Error(`input '${l.ids}' must hold Int32Array ids`);
      const table = this.tables.get(l.table)!;
      const rows = this.buffer(`rows:${l.rowsInput}`, batch * l.dim);
      if (l.kind === 'gather') table.gather(ids.data, rows);
      else table.gatherPooled(ids.data, ids.data.length / batch, l.mode, rows);
      out[l.rowsInput] = { shape: [batch, l.dim], data: rows };
    }
    for (const input of graph.inputs) {
      if (out[input.name]) continue;
      const w = this.dense.get(input.name);
      if (w) out[input.name] = { shape: this.shapes.get(input.name)!, data: w };
      else if (feeds[input.name]) out[input.name] = feeds[input.name]!;
    }
    return out;
  }

  private buffer(key: string, length: number): Float32Array {
    let b = this.scratch.get(key);
    if (!b || b.length !== length) {
      b = new Float32Array(length);
      this.scratch.set(key, b);
    }
    return b;
  }

  private spareBuffers() {
    if (!this.spare) {
      const like = (m: Map<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, new Float32Array(v.length)]));
      this.spare = { dense: like(this.dense), first: like(this.firstMoments), second: like(this.secondMoments) };
    }
    return this.spare;
  }

  async step(feeds: Record<string, HostTensor>): Promise<StepResult> {
    const batch = this.batchOf(feeds);
    const t = ++this.t;
    const { stepSize, epsHat } = adamScalars(this.optimizer, t);
    const stepFeeds = this.feedsFor(this.trainStep.graph, feeds, this.trainStep.lookups, batch);
    stepFeeds[N.stepSize] = { shape: [], data: Float32Array.of(stepSize) };
    stepFeeds[N.epsHat] = { shape: [], data: Float32Array.of(epsHat) };
    for (const p of this.trainStep.dense) {
      const shape = this.shapes.get(p)!;
      stepFeeds[N.firstMoment(p)] = { shape, data: this.firstMoments.get(p)! };
      stepFeeds[N.secondMoment(p)] = { shape, data: this.secondMoments.get(p)! };
    }
    const outputs = Object.keys(this.trainStep.graph.outputs);
    const spare = this.spareBuffers();
    const into: Record<string, Float32Array> = {};
    for (const p of this.trainStep.dense) {
      into[N.nextParam(p)] = spare.dense.get(p)!;
      into[N.nextFirstMoment(p)] = spare.first.get(p)!;
      into[N.nextSecondMoment(p)] = spare.second.get(p)!;
    }
    for (const l of this.trainStep.lookups) into[N.rowsGrad(l.rowsInput)] = this.buffer(`grad:${l.rowsInput}`, batch * l.dim);
    const result = await this.runner.run(stepFeeds, outputs, into);
    // Swap live and spare state: the step wrote the new values into the spare buffers.
    this.spare = { dense: new Map(this.dense), first: new Map(this.firstMoments), second: new Map(this.secondMoments) };
    for (const p of this.trainStep.dense) {
      this.dense.set(p, into[N.nextParam(p)]!);
      this.firstMoments.set(p, into[N.nextFirstMoment(p)]!);
      this.secondMoments.set(p, into[N.nextSecondMoment(p)]!);
    }
    for (const l of this.trainStep.lookups) {
      const ids = feeds[l.ids]!.data as Int32Array;
      this.tables.get(l.table)!.accumulate(ids, into[N.rowsGrad(l.rowsInput)]!, ids.length / batch, l.mode);
    }
    for (const table of this.tables.values()) table.update(t);
    return { losses: Object.fromEntries(this.trainStep.losses.map((l) => [l, result[l]![0]!])) };
  }

  async predict(feeds: Record<string, HostTensor>, outputs: string[]): Promise<Record<string, Float32Array>> {
    const key = outputs.join(',');
    const graph = buildPredictGraph(this.model, outputs);
    let runner = this.predictRunners.get(key);
    if (!runner) {
      runner = this.compiler(graph);
      this.predictRunners.set(key, runner);
    }
    const result = await (await runner).run(this.feedsFor(graph, feeds, splitEmbeddings(this.model.graph).lookups, this.batchOf(feeds)), outputs);
    return Object.fromEntries(outputs.map((o) => [o, asF32(result[o]!)]));
  }

  getWeights(): Weights {
    return new Map(this.model.graph.params.map((p) => [p.name, Float32Array.from(this.dense.get(p.name) ?? this.tables.get(p.name)!.weights)]));
  }

  getState(): EngineState {
    // Names shared with the tfjs engine, so a checkpoint resumes on either backend.
    const state: EngineState = new Map([[STATE_KEYS.step, { shape: [], data: Int32Array.of(this.t) }]]);
    for (const p of this.trainStep.dense) {
      const shape = this.shapes.get(p)!;
      state.set(STATE_KEYS.dense('m', p), { shape, data: Float32Array.from(this.firstMoments.get(p)!) });
      state.set(STATE_KEYS.dense('v', p), { shape, data: Float32Array.from(this.secondMoments.get(p)!) });
    }
    for (const [name, table] of this.tables) {
      const shape = [table.rows, table.dim];
      for (const [slot, data] of tableSlots(table)) state.set(STATE_KEYS.table(this.optimizer.embeddingOptimizer, slot, name), { shape, data: Float32Array.from(data) });
    }
    return state;
  }

  setState(state: EngineState): void {
    const get = (key: string, length: number) => {
      const s = state.get(key);
      if (!s) throw new Error(`optimizer state has no '${key}' (saved with another model or embedding optimizer?)`);
      if (s.data.length !== length) throw new Error(`optimizer state '${key}' has ${s.data.length} values, expected ${length}`);
      return s.data;
    };
    this.t = get(STATE_KEYS.step, 1)[0]!;
    for (const p of this.trainStep.dense) {
      const n = this.dense.get(p)!.length;
      this.firstMoments.set(p, Float32Array.from(get(STATE_KEYS.dense('m', p), n)));
      this.secondMoments.set(p, Float32Array.from(get(STATE_KEYS.dense('v', p), n)));
    }
    for (const [name, table] of this.tables) {
      for (const [slot, data] of tableSlots(table)) data.set(get(STATE_KEYS.table(this.optimizer.embeddingOptimizer, slot, name), data.length));
    }
  }

  dispose(): void {
    this.runner.release?.();
    for (const r of this.predictRunners.values()) void r.then((x) => x.release?.());
  }
}
