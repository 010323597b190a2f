import { gradName, grad, interpret, type FeatureSchema, type Weights, type ZooModel } from '@esm2/core';
import { randomFeeds } from '@esm2/core/testing';

/**
 * A few steps of plain SGD driven by the reference interpreter: weights that
 * have moved away from their init the way training moves them (embedding
 * rows touched unevenly, biases non-zero), without needing a training backend.
 */
export function sgdTrain(model: ZooModel, schema: FeatureSchema, weights: Weights, steps: number, lr = 0.3): { weights: Weights; losses: number[] } {
  const g = grad(model.graph);
  const current: Weights = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const losses: number[] = [];
  // One fixed batch: its loss must fall, which shows the weights were really fitted.
  const feeds = randomFeeds(g, schema, 64, 1000);
  for (let s = 0; s < steps; s++) {
    const out = interpret(g, current, feeds);
    losses.push(out.loss!.data[0]!);
    for (const p of model.graph.params) {
      const w = current.get(p.name)!;
      const d = out[gradName(p.name)]!.data;
      for (let i = 0; i < w.length; i++) w[i]! -= lr * d[i]!;
    }
  }
  return { weights: current, losses };
}
