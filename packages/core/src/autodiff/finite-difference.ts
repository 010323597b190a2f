import type { HostTensor } from '../ir/tensor.js';
import { interpret } from '../ir/interpret.js';
import type { Graph } from '../ir/types.js';

/**
 * Central finite difference of a scalar output with respect to one element
 * of one parameter, on the f64 interpreter. The independent check of every
 * gradient in the project (autodiff, tfjs, onnx).
 */
export function finiteDifference(
  graph: Graph,
  weights: ReadonlyMap<string, Float32Array | Float64Array>,
  feeds: Record<string, HostTensor>,
  param: string,
  index: number,
  options: { loss?: string; h?: number } = {},
): number {
  const loss = options.loss ?? 'loss';
  const h = options.h ?? 1e-6;
  const shifted = (delta: number) => {
    const w = new Map<string, Float32Array | Float64Array>(weights);
    const copy = Float64Array.from(weights.get(param)!);
    copy[index]! += delta;
    w.set(param, copy);
    return interpret(graph, w, feeds, { outputs: [loss] })[loss]!.data[0]!;
  };
  return (shifted(h) - shifted(-h)) / (2 * h);
}
