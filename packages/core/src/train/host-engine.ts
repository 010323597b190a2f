import type { EngineOptions, EngineState, OptimizerConfig, StepResult, TrainingEngine } from '../engine.js';
import { interpret } from '../ir/interpret.js';
import { pruneGraph } from '../ir/prune.js';
import type { HostTensor, Weights } from '../ir/tensor.js';
import type { Graph } from '../ir/types.js';
import type { ZooModel } from '../zoo/model.js';
import { checkInitialWeights } from './initial-weights.js';
import { restoreEngineState, saveEngineState, type OptimizerStateLayout } from './engine-state.js';
import { SparseEmbeddingTable } from './sparse-table.js';
import { splitEmbeddings, type HostLookup } from './split-embeddings.js';
import { adamScalars } from './adam.js';
import { buildTrainStep, trainStepNames as N, type DenseSlot, type TrainStep } from './train-step.js';
import { buildShardedStep, type ShardedStep } from './sharded-step.js';
import { denseState, memory, runnerPool, type DenseState, type ShardPool, type ShardPoolFactory } from './shard-pool.js';
import type { GraphCompiler, GraphRunner } from './compiler.js';

/** The interpreter as a compiler: the oracle engine every compiled engine is compared with. */
export const interpretCompiler: GraphCompiler = (graph) =>
  Promise.resolve({
    run: (feeds, outputs, into) => {
      const out = interpret(graph, new Map(), feeds, { outputs });
      const results = outputs.map((o): [string, Float32Array | Float64Array] => {
        const target = into?.[o];
        if (!target) return [o, out[o]!.data as Float64Array];
        target.set(out[o]!.data);
        return [o, target];
      });
      return Promise.resolve(Object.fromEntries(results));
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

const asF32 = (a: Float32Array | Float64Array) => (a instanceof Float32Array ? a : Float32Array.from(a));

/** Data-parallel steps (workers > 1): the sharded step and the pool running it. */
interface Workers {
  step: ShardedStep;
  pool: ShardPool;
  count: number;
}

/** [start, end) rows of each of `n` near-equal contiguous shards of `batch` rows (fewer shards when the batch has fewer rows). */
export function shardRows(batch: number, n: number): [number, number][] {
  const k = Math.max(1, Math.min(n, batch));
  return Array.from({ length: k }, (_, i) => [Math.floor((i * batch) / k), Math.floor(((i + 1) * batch) / k)]);
}

/**
 * A training engine whose step is one compiled graph (buildTrainStep): the
 * flat dense parameters and Adam moments go in and come back (into spare
 * buffers, swapped after each step); embedding tables stay here and only
 * the batch's rows cross over. Backends supply the compiler; the host logic
 * is shared.
 */
export class HostEmbeddingEngine implements TrainingEngine {
  private t = 0;
  /** Buffers the next single-graph step writes its dense outputs into (with workers the pool steps `live` in place). */
  private spare: DenseState;
  /** Reused per-lookup buffers for gathered rows, their gradients and ids, by batch size. */
  private readonly scratch = new Map<string, Float32Array | Int32Array>();
  private readonly predictors = new Map<string, { graph: Graph; lookups: HostLookup[]; runner: Promise<GraphRunner> }>();
  private readonly slots: Map<string, DenseSlot>;
  private readonly stateLayout: OptimizerStateLayout;

  private constructor(
    readonly name: string,
    readonly description: string,
    private readonly model: ZooModel,
    private readonly optimizer: OptimizerConfig,
    private readonly compiler: GraphCompiler,
    private readonly trainStep: TrainStep,
    /** The single-graph step; absent with workers, whose steps never use it. */
    private readonly runner: GraphRunner | undefined,
    private live: DenseState,
    private readonly tables: Map<string, SparseEmbeddingTable>,
    private readonly workers?: Workers,
  ) {
    this.slots = new Map(trainStep.layout.map((s) => [s.name, s]));
    this.spare = workers ? denseState(0) : denseState(trainStep.flatSize);
    this.stateLayout = { embeddingOptimizer: optimizer.embeddingOptimizer, dense: trainStep.layout, tables };
  }

  /**
   * `workers` > 1 splits every step's batch across that many shards run
   * concurrently by a pool (`pool`, default: runners of `compiler` on this
   * thread, runnerPool): each computes its share's gradients, their sum is
   * clipped and Adam runs once — the same step as one runner's, in other
   * rounding. The single-graph step is then not compiled, and the dense
   * state sits on shared memory for the pool's threads.
   */
  static async create(
    options: EngineOptions,
    compiler: GraphCompiler,
    name: string,
    description: string,
    parallel: { workers: number; pool?: ShardPoolFactory } = { workers: 1 },
  ): Promise<HostEmbeddingEngine> {
    checkInitialWeights(options.model.graph, options.weights);
    if (!(Number.isInteger(parallel.workers) && parallel.workers >= 1)) throw new Error(`workers must be a positive integer, got ${parallel.workers}`);
    const step = buildTrainStep(options.model, options.optimizer);
    const live = denseState(step.flatSize, parallel.workers > 1);
    const initial = (p: string) => options.weights.get(p)!;
    for (const slot of step.layout) live.params.set(initial(slot.name), slot.offset);
    const runner = parallel.workers > 1 ? undefined : await compiler(step.graph);
    const tables = new Map<string, SparseEmbeddingTable>();
    for (const t of step.tables) {
      // With workers the weights sit on shared memory too, for a pool that gathers the rows on its threads.
      const weights = new Float32Array(memory(t.rows * t.dim * 4, parallel.workers > 1));
      weights.set(initial(t.name));
      tables.set(t.name, new SparseEmbeddingTable(t.rows, t.dim, weights, options.optimizer, t.name));
    }
    let workers: Workers | undefined;
    if (parallel.workers > 1) {
      const sharded = buildShardedStep(options.model, options.optimizer);
      const weights = new Map([...tables].map(([name, table]) => [name, table.weights]));
      const pool = await (parallel.pool ?? runnerPool(compiler))(sharded, live, options.optimizer, parallel.workers, weights);
      workers = { step: sharded, pool, count: parallel.workers };
    }
    return new HostEmbeddingEngine(name, description, options.model, options.optimizer, compiler, step, runner, live, tables, workers);
  }

  /** One dense parameter (or moment) as a view into its flat vector. */
  private view(flat: Float32Array, name: string): Float32Array | undefined {
    const slot = this.slots.get(name);
    return slot ? flat.subarray(slot.offset, slot.offset + slot.size) : undefined;
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
      if (l.kind === 'gather') table.gather(ids.data, rows, l.ids);
      else table.gatherPooled(ids.data, ids.data.length / batch, l.mode, rows, l.ids);
      out[l.rowsInput] = { shape: [batch, l.dim], data: rows };
    }
    for (const input of graph.inputs) {
      if (out[input.name]) continue;
      const w = this.view(this.live.params, input.name);
      if (w) out[input.name] = { shape: this.slots.get(input.name)!.shape, data: w };
      else if (feeds[input.name]) out[input.name] = feeds[input.name]!;
    }
    return out;
  }

  /**
   * A reused buffer (f32 by default; i32 for ids), by key and length; with
   * workers on shared memory, so the pool's threads read their share and
   * write their rows gradients in place.
   */
  private buffer(key: string, length: number): Float32Array;
  private buffer(key: string, length: number, type: Int32ArrayConstructor): Int32Array;
  private buffer(key: string, length: number, type: Float32ArrayConstructor | Int32ArrayConstructor = Float32Array): Float32Array | Int32Array {
    let b = this.scratch.get(key);
    if (!b || b.length !== length || !(b instanceof type)) {
      const m = memory(length * 4, this.workers !== undefined);
      b = type === Int32Array ? new Int32Array(m) : new Float32Array(m);
      this.scratch.set(key, b);
    }
    return b;
  }

  async step(feeds: Record<string, HostTensor>): Promise<StepResult> {
    const batch = this.batchOf(feeds);
    if (this.workers) return this.stepSharded(feeds, batch, this.workers);
    const t = ++this.t;
    const { stepSize, epsHat } = adamScalars(this.optimizer, t);
    const stepFeeds = this.feedsFor(this.trainStep.graph, feeds, this.trainStep.lookups, batch);
    const flat = [this.trainStep.flatSize];
    stepFeeds[N.params] = { shape: flat, data: this.live.params };
    stepFeeds[N.firstMoment] = { shape: flat, data: this.live.first };
    stepFeeds[N.secondMoment] = { shape: flat, data: this.live.second };
    stepFeeds[N.stepSize] = { shape: [], data: Float32Array.of(stepSize) };
    stepFeeds[N.epsHat] = { shape: [], data: Float32Array.of(epsHat) };
    const outputs = Object.keys(this.trainStep.graph.outputs);
    const into: Record<string, Float32Array> = {
      [N.nextParams]: this.spare.params,
      [N.nextFirstMoment]: this.spare.first,
      [N.nextSecondMoment]: this.spare.second,
    };
    for (const l of this.trainStep.lookups) into[N.rowsGrad(l.rowsInput)] = this.buffer(`grad:${l.rowsInput}`, batch * l.dim);
    const result = await this.runner!.run(stepFeeds, outputs, into);
    // The step wrote the new state into the spare buffers: swap.
    [this.live, this.spare] = [this.spare, this.live];
    for (const l of this.trainStep.lookups) {
      const ids = feeds[l.ids]!.data as Int32Array;
      this.tables.get(l.table)!.accumulate(ids, into[N.rowsGrad(l.rowsInput)]!, ids.length / batch, l.mode);
    }
    for (const table of this.tables.values()) table.update(t);
    return { losses: Object.fromEntries(this.trainStep.losses.map((l) => [l, result[l]![0]!])) };
  }

  /**
   * One step with the batch split across the workers: the host gathers the
   * whole batch's rows, each shard takes its contiguous share of every
   * batched input (views, no copies) and writes its rows gradients into its
   * share of the whole batch's buffers; while the pool sums the dense
   * gradients and steps the dense state, the host folds the rows gradients
   * into the tables (after the clip factor is known, when clipping).
   */
  private async stepSharded(feeds: Record<string, HostTensor>, batch: number, workers: Workers): Promise<StepResult> {
    const { step: sharded } = workers;
    const t = ++this.t;
    const { gathers } = workers.pool;
    const whole = this.feedsFor(sharded.gradient, feeds, gathers ? [] : sharded.lookups, batch);
    if (gathers) {
      // The pool's threads look the rows up: each lookup's ids go instead, checked here so a bad batch fails before anything changes.
      for (const l of sharded.lookups) {
        const ids = feeds[l.ids];
        if (!ids) throw new Error(`missing input '${l.ids}'`);
        if (!(ids.data instanceof Int32Array)) throw new Error(`input '${l.ids}' must hold Int32Array ids`);
        this.tables.get(l.table)!.checkIds(ids.data, l.kind === 'pooled', l.ids);
        const shared = this.buffer(`ids:${l.ids}`, ids.data.length, Int32Array);
        shared.set(ids.data);
        whole[l.ids] = { shape: ids.shape, data: shared };
      }
    }
    for (const d of sharded.denominators) {
      let value = d.kind === 'count' ? batch * d.perRow : 0;
      if (d.kind === 'weights') {
        const w = interpret(d.graph, new Map(), feeds, { outputs: ['weights'] }).weights!.data;
        for (let i = 0; i < w.length; i++) value += w[i]!;
      }
      // A weighted mean whose weights are all 0 is 0 (as the op defines it): every shard's numerator is 0 then.
      whole[d.input] = { shape: [], data: Float32Array.of(value > 0 ? value : 1) };
    }
    const rowsGrads = new Map(sharded.lookups.map((l) => [l.rowsInput, this.buffer(`grad:${l.rowsInput}`, batch * l.dim)]));
    const batched = new Set(sharded.gradient.inputs.filter((i) => i.type.shape[0] === 'batch').map((i) => i.name));
    if (gathers) for (const l of sharded.lookups) batched.add(l.ids);
    // A batch with fewer rows than workers leaves some without a share.
    const shards = shardRows(batch, workers.count);
    const shares = shards.map(([lo, hi]) => {
      const part: Record<string, HostTensor> = {};
      for (const [name, tensor] of Object.entries(whole)) {
        if (!batched.has(name)) {
          part[name] = tensor;
          continue;
        }
        const width = tensor.data.length / batch;
        part[name] = { shape: [hi - lo, ...tensor.shape.slice(1)], data: tensor.data.subarray(lo * width, hi * width) };
      }
      return part;
    });
    const into = shards.map(([lo, hi]) => Object.fromEntries(sharded.lookups.map((l) => [N.rowsGrad(l.rowsInput), rowsGrads.get(l.rowsInput)!.subarray(lo * l.dim, hi * l.dim)])));
    const { gradients, applied } = workers.pool.step(shares, into, t);
    const results = await gradients;
    const fold = (scale: number) => {
      for (const l of sharded.lookups) {
        const ids = feeds[l.ids]!.data as Int32Array;
        const grad = rowsGrads.get(l.rowsInput)!;
        if (scale !== 1) for (let i = 0; i < grad.length; i++) grad[i]! *= scale;
        this.tables.get(l.table)!.accumulate(ids, grad, ids.length / batch, l.mode);
      }
      for (const table of this.tables.values()) table.update(t);
    };
    // Without clipping the tables are stepped while the pool steps the dense state.
    if (!sharded.clips) fold(1);
    const scale = await applied;
    if (sharded.clips) fold(scale);
    const losses: Record<string, number> = {};
    for (const l of sharded.losses) losses[l] = results.reduce((sum, r) => sum + r.losses[l]!, 0);
    return { losses };
  }

  async predict(feeds: Record<string, HostTensor>, outputs: string[]): Promise<Record<string, Float32Array>> {
    // Evaluation predicts batch after batch: the graph and its compiled runner are made once per output set.
    const key = outputs.join(',');
    let predictor = this.predictors.get(key);
    if (!predictor) {
      const graph = buildPredictGraph(this.model, outputs);
      const lookups = this.trainStep.lookups.filter((l) => graph.inputs.some((i) => i.name === l.rowsInput));
      predictor = { graph, lookups, runner: this.compiler(graph) };
      this.predictors.set(key, predictor);
    }
    const runner = await predictor.runner;
    const result = await runner.run(this.feedsFor(predictor.graph, feeds, predictor.lookups, this.batchOf(feeds)), outputs);
    return Object.fromEntries(outputs.map((o) => [o, asF32(result[o]!)]));
  }

  getWeights(): Weights {
    return new Map(this.model.graph.params.map((p) => [p.name, Float32Array.from(this.view(this.live.params, p.name) ?? this.tables.get(p.name)!.weights)]));
  }

  getState(): EngineState {
    return saveEngineState(this.stateLayout, this.t, (slot, name) => this.view(slot === 'm' ? this.live.first : this.live.second, name)!);
  }

  setState(state: EngineState): void {
    this.t = restoreEngineState(this.stateLayout, state, (slot, name, data) => this.view(slot === 'm' ? this.live.first : this.live.second, name)!.set(data));
  }

  dispose(): void {
    this.runner?.release?.();
    this.workers?.pool.release();
    for (const p of this.predictors.values()) void p.runner.then((x) => x.release?.());
  }
}
