import { hashString, mulberry32, normalSampler } from '../random.js';
import { sizeOf } from './shape.js';
import type { HostTensor, Weights } from './tensor.js';
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

/**
 * The graph's parameters as host tensors under their names, shaped as
 * declared: what runners that take every tensor by name (the torch backend's
 * runTorchGraph) want beside the feeds. A parameter without a value, or with
 * a value of another size, is an error naming it.
 */
export function paramTensors(graph: Graph, weights: ReadonlyMap<string, Float32Array>): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const p of graph.params) {
    const shape = p.type.shape as number[];
    const data = weights.get(p.name);
    if (!data) throw new Error(`param '${p.name}' has no value`);
    if (data.length !== sizeOf(shape)) throw new Error(`param '${p.name}' has ${data.length} values for shape [${shape.join(',')}]`);
    out[p.name] = { shape, data };
  }
  return out;
}
