import { listProblems } from '../artifact/errors.js';
import { paramProblems } from '../artifact/validate.js';
import type { Weights } from '../ir/tensor.js';
import type { Graph } from '../ir/types.js';

/**
 * What every training engine checks before it copies initial weights: they
 * are exactly the graph's params (names, Float32Array, declared sizes), the
 * same rule an artifact is held to. One error lists every problem.
 */
export function checkInitialWeights(graph: Graph, weights: Weights): void {
  const problems = paramProblems(graph, weights);
  if (problems.length > 0) throw new Error(`initial weights do not fit model '${graph.name}': ${listProblems(problems)}`);
}
