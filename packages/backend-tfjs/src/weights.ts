import { sizeOf, type Graph, type Weights } from '@esm2/core';

/** Every param present with its declared size; a message naming the first that is not. */
export function checkWeights(graph: Graph, weights: Weights): void {
  for (const p of graph.params) {
    const w = weights.get(p.name);
    const size = sizeOf(p.type.shape as number[]);
    if (!w) throw new Error(`weights lack parameter '${p.name}'`);
    if (w.length !== size) throw new Error(`parameter '${p.name}' has ${w.length} values, the graph declares [${p.type.shape.join(',')}] (${size})`);
  }
}
