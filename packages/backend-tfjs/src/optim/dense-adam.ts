import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '@esm2/core';

/**
 * Adam for the dense parameters, on device:
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
 *   p ← p − lr · m̂ / (√v̂ + ε)  with m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
 * (Kingma & Ba's formulation, ε outside the root, as PyTorch).
 */
export class DenseAdam {
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(
    params: ReadonlyMap<string, tf.Variable>,
    private readonly config: OptimizerConfig,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** One update at step t (1-based). Call inside tf.tidy. */
  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, t: number): void {
    const { lr, beta1, beta2, eps } = this.config;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    for (const [name, g] of grads) {
      const p = params.get(name)!;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
      v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
      const stepDir = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
      p.assign(tf.sub(p, tf.mul(stepDir, lr)));
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
