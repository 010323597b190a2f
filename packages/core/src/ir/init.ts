import { hashString, mulberry32, normalSampler } from '../random.js';
import { sizeOf } from './shape.js';
import type { Weights } from './tensor.js';
import type { Graph, Param } from './types.js';

function initOne(param: Param, seed: number): Float32Array {
  const shape = param.type.shape as number[];
  const out = new Float32Array(sizeOf(shape));
  // Each parameter draws from its own stream: adding a parameter never changes another's init.
  const uniform = mulberry32(hashString(param.name, seed >>> 0));
  const init = param.init;
  switch (init.kind) {
    case 'zeros':
      break;
    case 'normal': {
      const normal = normalSampler(uniform);
      for (let i = 0; i < out.length; i++) out[i] = normal() * init.std;
      break;
    }
    case 'uniform':
      for (let i = 0; i < out.length; i++) out[i] = (uniform() * 2 - 1) * init.limit;
      break;
    case 'glorotUniform': {
      const [fanIn, fanOut] = shape.length === 2 ? [shape[0]!, shape[1]!] : [out.length, out.length];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < out.length; i++) out[i] = (uniform() * 2 - 1) * limit;
      break;
    }
    default:
      throw new Error(`param '${param.name}': unknown initializer ${JSON.stringify(init)}`);
  }
  return out;
}

/** Fresh parameter values for a graph, reproducible from `seed`. */
export function initWeights(graph: Graph, seed: number): Weights {
  return new Map(graph.params.map((p) => [p.name, initOne(p, seed)]));
}
