import type { OptimizerConfig } from '../engine.js';
import { adagradUpdate, adamRange, adamStep } from './adam.js';

/** The optimizer settings of the embedding rows' step: the dense ones with `embeddingLr` as the rate when it is set. */
export function embeddingStep(cfg: OptimizerConfig): OptimizerConfig {
  return cfg.embeddingLr > 0 ? { ...cfg, lr: cfg.embeddingLr } : cfg;
}

function checkId(rows: number, id: number, at: number, table: string, source: string | undefined): void {
  if (!(id >= 0 && id < rows)) {
    throw new Error(`${source ? `input '${source}': ` : ''}id ${id} at position ${at} is outside table '${table}' of ${rows} rows`);
  }
}

/** out[i] = row ids[i] of a table's weights ([rows, dim] row-major), for ids of shape [n]; errors name the table and the ids' input. */
export function gatherRows(weights: Float32Array, dim: number, ids: Int32Array, out: Float32Array, table = 'table', source?: string): void {
  const rows = weights.length / dim;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    checkId(rows, id, i, table, source);
    out.set(weights.subarray(id * dim, id * dim + dim), i * dim);
  }
}

/** out[i] = sum or mean of a table's rows over ids[i, :] (ids of shape [n, length]), skipping -1 padding. */
export function gatherPooledRows(weights: Float32Array, dim: number, ids: Int32Array, length: number, mode: 'sum' | 'mean', out: Float32Array, table = 'table', source?: string): void {
  const rows = weights.length / dim;
  const d = dim;
  const n = ids.length / length;
  out.fill(0, 0, n * d);
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let j = 0; j < length; j++) {
      const id = ids[i * length + j]!;
      if (id < 0) continue;
      checkId(rows, id, i * length + j, table, source);
      for (let k = 0; k < d; k++) out[i * d + k]! += weights[id * d + k]!;
      count++;
    }
    if (mode === 'mean' && count > 1) for (let k = 0; k < d; k++) out[i * d + k]! /= count;
  }
}

/**
 * An embedding table kept on the host and trained sparsely: a step gathers
 * only the batch's rows and updates only the rows it touched (lazy Adam or
 * Adagrad, as sparse optimizers in TF/PyTorch do), so the per-step cost is
 * proportional to the batch, not the vocabulary.
 */
export class SparseEmbeddingTable {
  readonly weights: Float32Array;
  /** Adam: first and second moments; Adagrad: `second` is the accumulator and `first` is empty. */
  readonly first: Float32Array;
  readonly second: Float32Array;
  private readonly slotOfRow: Int32Array;
  private touched: Int32Array;
  private grads: Float32Array;
  private count = 0;

  constructor(
    readonly rows: number,
    readonly dim: number,
    weights: Float32Array,
    readonly optimizer: OptimizerConfig,
    /** The parameter it holds, for error messages. */
    readonly name = 'table',
  ) {
    if (weights.length !== rows * dim) throw new Error(`table has ${weights.length} values, expected ${rows}×${dim}`);
    this.weights = weights;
    this.first = new Float32Array(optimizer.embeddingOptimizer === 'adam' ? rows * dim : 0);
    this.second = new Float32Array(rows * dim);
    this.slotOfRow = new Int32Array(rows).fill(-1);
    this.touched = new Int32Array(1024);
    this.grads = new Float32Array(1024 * dim);
  }

  /** Refuses what gather (or, `pooled`, gatherPooled: negative ids are padding there) would refuse, without reading rows; `source` names the ids' input. */
  checkIds(ids: Int32Array, pooled: boolean, source?: string): void {
    for (let i = 0; i < ids.length; i++) if (!(pooled && ids[i]! < 0)) checkId(this.rows, ids[i]!, i, this.name, source);
  }

  /** out[i] = table[ids[i]] for ids of shape [n]; `source` names the ids' input in errors. */
  gather(ids: Int32Array, out: Float32Array, source?: string): void {
    gatherRows(this.weights, this.dim, ids, out, this.name, source);
  }

  /** out[i] = sum or mean of table rows over ids[i, :], skipping -1 padding. */
  gatherPooled(ids: Int32Array, length: number, mode: 'sum' | 'mean', out: Float32Array, source?: string): void {
    gatherPooledRows(this.weights, this.dim, ids, length, mode, out, this.name, source);
  }

  private slot(id: number): number {
    let s = this.slotOfRow[id]!;
    if (s >= 0) return s;
    s = this.count++;
    if (s >= this.touched.length) {
      const touched = new Int32Array(this.touched.length * 2);
      touched.set(this.touched);
      this.touched = touched;
      const grads = new Float32Array(this.grads.length * 2);
      grads.set(this.grads);
      this.grads = grads;
    }
    this.slotOfRow[id] = s;
    this.touched[s] = id;
    this.grads.fill(0, s * this.dim, (s + 1) * this.dim);
    return s;
  }

  /** Adds per-row gradients of a lookup (shape [n, D]) into the touched rows' gradients. */
  accumulate(ids: Int32Array, grad: Float32Array, length = 1, mode: 'sum' | 'mean' = 'sum'): void {
    const d = this.dim;
    const n = ids.length / length;
    for (let i = 0; i < n; i++) {
      let count = 0;
      if (mode === 'mean') for (let j = 0; j < length; j++) if (ids[i * length + j]! >= 0) count++;
      const scale = mode === 'mean' && count > 1 ? 1 / count : 1;
      for (let j = 0; j < length; j++) {
        const id = ids[i * length + j]!;
        if (id < 0) continue;
        const base = this.slot(id) * d;
        for (let k = 0; k < d; k++) this.grads[base + k]! += grad[i * d + k]! * scale;
      }
    }
  }

  /** Rows touched since the last update. */
  get touchedRows(): Int32Array {
    return this.touched.subarray(0, this.count);
  }

  /** Accumulated gradients of the touched rows, slot by slot ([touchedRows.length, D]), before L2. */
  get touchedGradients(): Float32Array {
    return this.grads.subarray(0, this.count * this.dim);
  }

  /** The touched rows and their gradients as the next update will apply them (L2 included), copied. */
  pending(): { ids: Int32Array; grads: Float32Array } {
    this.addL2();
    return { ids: Int32Array.from(this.touchedRows), grads: Float32Array.from(this.touchedGradients) };
  }

  /** Forgets the accumulated gradients without updating anything. */
  discard(): void {
    for (let s = 0; s < this.count; s++) this.slotOfRow[this.touched[s]!] = -1;
    this.count = 0;
    this.l2Added = false;
  }

  /** Optimizer state arrays by slot name (`m`, `v` for Adam; `acc` for Adagrad), for checkpoints. */
  slots(): [string, Float32Array][] {
    return this.first.length > 0 ? [['m', this.first], ['v', this.second]] : [['acc', this.second]];
  }

  private l2Added = false;
  /** d/drow of embeddingL2·‖row‖² = 2·embeddingL2·row, on the touched rows only (Keras' l2 convention). */
  private addL2(): void {
    const l2 = this.optimizer.embeddingL2;
    if (this.l2Added || !(l2 > 0)) return;
    const d = this.dim;
    for (let s = 0; s < this.count; s++) {
      const base = this.touched[s]! * d;
      for (let k = 0; k < d; k++) this.grads[s * d + k]! += 2 * l2 * this.weights[base + k]!;
    }
    this.l2Added = true;
  }

  /** Applies the optimizer to the touched rows (1-based global step `t`) and clears them. */
  update(t: number, scale = 1): void {
    this.addL2();
    const d = this.dim;
    const cfg = embeddingStep(this.optimizer);
    const { weights: w, first: m, second: v, grads: g, touched } = this;
    if (cfg.embeddingOptimizer === 'adam') {
      adamRange(w, m, v, [g], 0, d, 0, scale, adamStep(cfg, t), touched.subarray(0, this.count));
    } else {
      for (let s = 0; s < this.count; s++) adagradUpdate(w, g, v, cfg, touched[s]! * d, d, s * d, scale);
    }
    this.discard();
  }

}
