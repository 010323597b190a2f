import * as tf from '@tensorflow/tfjs';
import {
  adamRange,
  adamStep,
  checkInitialWeights,
  clipScale,
  denseState,
  type DenseState,
  findEmbeddingLookups,
  restoreEngineState,
  saveEngineState,
  SparseEmbeddingTable,
  type EngineState,
  type HostLookup,
  type OptimizerStateLayout,
  type GraphInput,
  type HostTensor,
  type OptimizerConfig,
  type StepResult,
  type TrainingEngine,
  type Weights,
  type ZooModel,
} from '@esm2/core';
import { CompiledGraph } from './compile.js';
import { batchSizeOf, checkFeed, inputTensors } from './feeds.js';
import type { TfRuntime } from './runtime.js';

/** One lookup's share of a batch: its ids and the looked-up (pooled) rows fed to the graph. */
interface LookupBatch {
  table: SparseEmbeddingTable;
  lookup: HostLookup;
  ids: Int32Array;
  /** Ids per output row: 1 for gather, L for pooled. */
  width: number;
  values: Float32Array;
}

/** A dense parameter's place in the engine's flat host vectors (parameters and Adam's two moments). */
interface DenseSlot {
  shape: number[];
  offset: number;
  size: number;
}

/** What one forward/backward pass leaves for the update, on the host. */
interface Pass {
  losses: Record<string, number>;
  /** Dense gradients before clipping, by parameter. */
  denseGrads: Map<string, Float32Array>;
  /** The clip factor of every gradient (1 without clipping). */
  scale: number;
  /** Host tables holding this pass's (clipped) row gradients, not yet applied. */
  touched: SparseEmbeddingTable[];
}

export interface Gradients {
  losses: Record<string, number>;
  dense: Map<string, Float32Array>;
  rows: Map<string, { ids: Int32Array; grads: Float32Array }>;
}

/**
 * The TensorFlow.js training engine. tfjs runs the forward and backward
 * passes; the dense parameters and Adam's moments are flat host vectors
 * stepped by core's host Adam (adamRange, the shard pool's and the sparse
 * tables' too), fed to each pass as tensors over them (no copy on the cpu
 * backend). Embedding tables stay on the host: their
 * lookups are done there and fed to the graph as the lookup nodes' values,
 * so gradients come back per looked-up row and only touched rows are
 * updated. Which nodes are lookups is core's findEmbeddingLookups, the same
 * plan the onnx engine uses. tfjs's own gather gradient would build a
 * segment sum over the table, costing far more than the rest of the step.
 */
export class TfjsEngine implements TrainingEngine {
  readonly name = 'tfjs';
  readonly description: string;
  private readonly compiled: CompiledGraph;
  private readonly dense = new Map<string, DenseSlot>();
  /** The dense parameters and Adam's moments, flat (see `dense`). */
  private readonly state: DenseState;
  /** Core's host-side tables (shared with the onnx engine), by param name. */
  private readonly tables = new Map<string, SparseEmbeddingTable>();
  private readonly lookups: HostLookup[];
  private readonly stateLayout: OptimizerStateLayout;
  private readonly inputsByName: Map<string, GraphInput>;
  private steps = 0;
  private disposed = false;

  constructor(
    private readonly model: ZooModel,
    weights: Weights,
    private readonly optimizer: OptimizerConfig,
    runtime: TfRuntime,
  ) {
    this.description = runtime.description;
    const graph = model.graph;
    checkInitialWeights(graph, weights);
    this.compiled = new CompiledGraph(graph);
    this.inputsByName = new Map(graph.inputs.map((i) => [i.name, i]));
    const { tables, lookups } = findEmbeddingLookups(graph);
    for (const t of tables) this.tables.set(t.name, new SparseEmbeddingTable(t.rows, t.dim, Float32Array.from(weights.get(t.name)!), optimizer, t.name));
    this.lookups = lookups;
    let flatSize = 0;
    for (const p of graph.params) {
      if (this.tables.has(p.name)) continue;
      const shape = p.type.shape as number[];
      const size = shape.reduce((a, d) => a * d, 1);
      this.dense.set(p.name, { shape, offset: flatSize, size });
      flatSize += size;
    }
    this.state = denseState(flatSize);
    for (const [name, slot] of this.dense) this.state.params.set(weights.get(name)!, slot.offset);
    const dense = [...this.dense].map(([name, slot]) => ({ name, shape: slot.shape }));
    this.stateLayout = { embeddingOptimizer: optimizer.embeddingOptimizer, dense, tables: this.tables };
  }

  async step(feeds: Record<string, HostTensor>): Promise<StepResult> {
    const pass = await this.forwardBackward(feeds);
    const t = this.steps + 1;
    try {
      const step = adamStep(this.optimizer, t);
      const { params, first, second } = this.state;
      for (const [name, g] of pass.denseGrads) {
        const slot = this.dense.get(name)!;
        adamRange(params, first, second, [g], slot.offset, slot.size, 0, pass.scale, step);
      }
      for (const table of pass.touched) table.update(t);
      this.steps = t;
      return { losses: pass.losses };
    } finally {
      // A failed step must not leave its row gradients for the next one.
      for (const table of pass.touched) table.discard();
    }
  }

  /**
   * The losses and the gradient of the training objective — after L2 and
   * clipping, exactly what `step` would apply — without updating anything.
   * Embedding tables give the rows the batch touched. For tests and diagnostics.
   */
  async gradients(feeds: Record<string, HostTensor>): Promise<Gradients> {
    const pass = await this.forwardBackward(feeds);
    try {
      const dense = new Map([...pass.denseGrads].map(([name, g]) => [name, Float32Array.from(g, (x) => x * pass.scale)]));
      const rows = new Map([...this.tables].filter(([, t]) => pass.touched.includes(t)).map(([name, t]) => [name, t.pending()]));
      return { losses: pass.losses, dense, rows };
    } finally {
      for (const table of pass.touched) table.discard();
    }
  }

  async predict(feeds: Record<string, HostTensor>, outputs: string[]): Promise<Record<string, Float32Array>> {
    this.assertLive();
    const { inputs, batches, supplied } = this.prepare(feeds, outputs);
    const results = tf.tidy(() => {
      const values = new Map(inputs);
      for (const name of this.dense.keys()) values.set(name, this.tensor(name));
      for (const lb of batches) values.set(lb.lookup.node, tf.tensor2d(lb.values, [lb.values.length / lb.lookup.dim, lb.lookup.dim]));
      return this.compiled.run(values, outputs, supplied);
    });
    tf.dispose([...inputs.values()]);
    try {
      const out: Record<string, Float32Array> = {};
      for (const name of outputs) out[name] = Float32Array.from(await results[name]!.data());
      return out;
    } finally {
      tf.dispose(results);
    }
  }

  getWeights(): Weights {
    this.assertLive();
    const byName = new Map<string, Float32Array>();
    for (const name of this.dense.keys()) byName.set(name, Float32Array.from(this.view(this.state.params, name)));
    for (const [name, table] of this.tables) byName.set(name, Float32Array.from(table.weights));
    return new Map(this.model.graph.params.map((p) => [p.name, byName.get(p.name)!]));
  }

  getState(): EngineState {
    this.assertLive();
    return saveEngineState(this.stateLayout, this.steps, (slot, name) => this.view(slot === 'm' ? this.state.first : this.state.second, name));
  }

  /** Restores optimizer state saved by getState (by either engine); a mismatched state is refused before anything changes. */
  setState(state: EngineState): void {
    this.assertLive();
    this.steps = restoreEngineState(this.stateLayout, state, (slot, name, data) => this.view(slot === 'm' ? this.state.first : this.state.second, name).set(data));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
  }

  /** A dense parameter's (or moment's) values: a view into its flat host vector. */
  private view(flat: Float32Array, name: string): Float32Array {
    const slot = this.dense.get(name)!;
    return flat.subarray(slot.offset, slot.offset + slot.size);
  }

  /** A dense parameter as a tensor over its host values, for one pass (call inside tf.tidy). */
  private tensor(name: string): tf.Tensor {
    return tf.tensor(this.view(this.state.params, name), this.dense.get(name)!.shape, 'float32');
  }

  /**
   * Forward and backward on one batch. The objective is the model's `loss`
   * plus embeddingL2·‖row‖² over the touched rows; the loss gradient is
   * clipped by its global norm (dense and lookup-row gradients), then the L2
   * gradient is added to the touched rows.
   */
  private async forwardBackward(feeds: Record<string, HostTensor>): Promise<Pass> {
    this.assertLive();
    const lossNames = this.model.losses;
    const lossIndex = lossNames.indexOf('loss');
    if (lossIndex < 0) throw new Error(`model '${this.model.graph.name}' has no 'loss' output`);
    const { inputs, batches, supplied } = this.prepare(feeds, lossNames);
    const externals = this.compiled.externalsFor(lossNames, supplied);
    const denseNames = [...this.dense.keys()].filter((n) => externals.has(n));
    const lookups = batches.map((lb) => ({ lb, dim: lb.lookup.dim }));
    let kept;
    try {
      kept = tf.tidy(() => {
        const values = new Map(inputs);
        const xs = [...denseNames.map((n) => this.tensor(n)), ...lookups.map(({ lb, dim }) => tf.tensor2d(lb.values, [lb.values.length / dim, dim]))];
        // A vector of every loss output; dy picks `loss`, so only it is differentiated.
        const f = (...args: tf.Tensor[]): tf.Tensor => {
          denseNames.forEach((n, i) => values.set(n, args[i]!));
          lookups.forEach(({ lb }, i) => values.set(lb.lookup.node, args[denseNames.length + i]!));
          const outs = this.compiled.run(values, lossNames, supplied);
          return tf.stack(lossNames.map((n) => tf.reshape(outs[n]!, [])));
        };
        const dy = tf.tensor1d(lossNames.map((_, i) => (i === lossIndex ? 1 : 0)));
        const { value, grads } = tf.valueAndGrads(f)(xs, dy);
        const denseSq = tf.addN([tf.scalar(0), ...grads.slice(0, denseNames.length).map((g) => tf.sum(tf.square(g)))]);
        return { value, denseGrads: grads.slice(0, denseNames.length), lookupGrads: grads.slice(denseNames.length), denseSq };
      });
    } finally {
      tf.dispose([...inputs.values()]);
    }
    try {
      const value = await kept.value.data();
      const lookupGrads = await Promise.all(kept.lookupGrads.map((g) => g.data() as Promise<Float32Array>));
      const denseGrads = await Promise.all(kept.denseGrads.map((g) => g.data() as Promise<Float32Array>));
      let scale = 1;
      if (this.optimizer.clipNorm > 0) {
        // The global norm of the model loss's gradient: dense params and lookup rows (per lookup row, as
        // TensorFlow treats IndexedSlices), the same definition the compiled ONNX step uses.
        let sq = (await kept.denseSq.data())[0]!;
        for (const g of lookupGrads) for (const x of g) sq += x * x;
        scale = clipScale(sq, this.optimizer.clipNorm);
        // The dense gradients are scaled as Adam reads them (adamRange's scale).
        if (scale < 1) for (const g of lookupGrads) for (let i = 0; i < g.length; i++) g[i]! *= scale;
      }
      // Summed onto the touched rows on the host; update() adds the L2 gradient.
      batches.forEach((lb, i) => lb.table.accumulate(lb.ids, lookupGrads[i]!, lb.width, lb.lookup.mode));
      const touched = [...new Set(batches.map((lb) => lb.table))];
      return {
        losses: Object.fromEntries(lossNames.map((n, i) => [n, value[i]!])),
        denseGrads: new Map(denseNames.map((n, i) => [n, denseGrads[i]!])),
        scale,
        touched,
      };
    } finally {
      // The host arrays read from them stay valid (the cpu backend hands out its own, tfjs-node copies).
      tf.dispose(kept);
    }
  }

  /** Input tensors and host lookups for computing `outputs`; lookup nodes become supplied values. */
  private prepare(feeds: Record<string, HostTensor>, outputs: readonly string[]) {
    const batch = batchSizeOf(this.model.graph.inputs, feeds);
    const reachable = this.compiled.externalsFor(outputs, this.lookups.map((l) => l.node));
    const batches: LookupBatch[] = [];
    // Only lookups the outputs reach: an unreachable one would have no gradient.
    for (const lookup of this.lookups.filter((l) => reachable.has(l.node))) {
      // Host lookups read the id feeds directly: hold them to the graph's declared shapes first.
      const feed = checkFeed(this.inputsByName.get(lookup.ids)!, feeds[lookup.ids], batch);
      const ids = feed.data instanceof Int32Array ? feed.data : Int32Array.from(feed.data);
      const width = lookup.kind === 'pooled' ? feed.shape[1]! : 1;
      const values = new Float32Array(batch * lookup.dim);
      const table = this.tables.get(lookup.table)!;
      if (lookup.kind === 'gather') table.gather(ids, values, lookup.ids);
      else table.gatherPooled(ids, width, lookup.mode, values, lookup.ids);
      batches.push({ table, lookup, ids, width, values });
    }
    const supplied = batches.map((lb) => lb.lookup.node);
    const inputs = inputTensors(this.model.graph, feeds, batch, this.compiled.externalsFor(outputs, supplied));
    return { inputs, batches, supplied };
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this tfjs engine has been disposed');
  }
}
