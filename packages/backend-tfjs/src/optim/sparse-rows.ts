import type { OptimizerConfig } from '@esm2/core';

/**
 * Optimizers for embedding tables kept on the host: only the rows a batch
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
    const { lr, beta1, beta2, eps } = this.config;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    const m = this.slots.get('m')!;
    const v = this.slots.get('v')!;
    for (let k = 0; k < ids.length; k++) {
      const base = ids[k]! * this.dim;
      for (let d = 0; d < this.dim; d++) {
        const i = base + d;
        const g = grads[k * this.dim + d]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * g;
        v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
        table[i]! -= (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
      }
    }
  }
}

/** Adagrad: acc ← acc + g², p ← p − lr·g/(√acc + ε); the classic choice for sparse features. */
export class SparseAdagrad implements SparseRowOptimizer {
  readonly slots: Map<string, Float32Array>;

  constructor(size: number, private readonly dim: number, private readonly config: OptimizerConfig) {
    this.slots = new Map([['acc', new Float32Array(size)]]);
  }

  update(table: Float32Array, ids: Int32Array, grads: Float32Array): void {
    const { lr, eps } = this.config;
    const acc = this.slots.get('acc')!;
    for (let k = 0; k < ids.length; k++) {
      const base = ids[k]! * this.dim;
      for (let d = 0; d < this.dim; d++) {
        const i = base + d;
        const g = grads[k * this.dim + d]!;
        acc[i]! += g * g;
        table[i]! -= (lr * g) / (Math.sqrt(acc[i]!) + eps);
      }
    }
  }
}

export function sparseOptimizer(size: number, dim: number, config: OptimizerConfig): SparseRowOptimizer {
  return config.embeddingOptimizer === 'adagrad' ? new SparseAdagrad(size, dim, config) : new SparseAdam(size, dim, config);
}
