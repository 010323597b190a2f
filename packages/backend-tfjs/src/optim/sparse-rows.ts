import { adagradUpdate, adamUpdate, type OptimizerConfig } from '@esm2/core';

/**
 * Optimizers for embedding tables kept on the host (the per-row maths is core's adamUpdate / adagradUpdate): only the rows a batch
 * touched are read and written, so a step costs O(batch · dim) whatever the
 * vocabulary. Slot arrays are named so checkpoints can save them.
 */
export interface SparseRowOptimizer {
  /** Applies row gradients `grads` ([ids.length, dim], row-major) to `table` at step t (1-based). */
  update(table: Float32Array, ids: Int32Array, grads: Float32Array, t: number): void;
  /** Slot arrays by slot name (e.g. `m`, `v`), each the table's size. */
  readonly slots: Map<string, Float32Array>;
}

/**
 * Lazy Adam: m and v of untouched rows are not decayed, and bias correction
 * uses the global step (as TensorFlow's LazyAdam and PyTorch's SparseAdam).
 */
export class SparseAdam implements SparseRowOptimizer {
  readonly slots: Map<string, Float32Array>;

  constructor(size: number, private readonly dim: number, private readonly config: OptimizerConfig) {
    this.slots = new Map([['m', new Float32Array(size)], ['v', new Float32Array(size)]]);
  }

  update(table: Float32Array, ids: Int32Array, grads: Float32Array, t: number): void {
    const m = this.slots.get('m')!;
    const v = this.slots.get('v')!;
    for (let k = 0; k < ids.length; k++) adamUpdate(table, grads, m, v, t, this.config, ids[k]! * this.dim, this.dim, k * this.dim);
  }
}

/** Adagrad: acc ← acc + g², p ← p − lr·g/(√acc + ε); the classic choice for sparse features. */
export class SparseAdagrad implements SparseRowOptimizer {
  readonly slots: Map<string, Float32Array>;

  constructor(size: number, private readonly dim: number, private readonly config: OptimizerConfig) {
    this.slots = new Map([['acc', new Float32Array(size)]]);
  }

  update(table: Float32Array, ids: Int32Array, grads: Float32Array): void {
    const acc = this.slots.get('acc')!;
    for (let k = 0; k < ids.length; k++) adagradUpdate(table, grads, acc, this.config, ids[k]! * this.dim, this.dim, k * this.dim);
  }
}

export function sparseOptimizer(size: number, dim: number, config: OptimizerConfig): SparseRowOptimizer {
  return config.embeddingOptimizer === 'adagrad' ? new SparseAdagrad(size, dim, config) : new SparseAdam(size, dim, config);
}
