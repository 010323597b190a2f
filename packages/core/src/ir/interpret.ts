import { opTable, type Kernel, type OpName } from '../ops/index.js';
import { InterpretError, type Val } from '../ops/support/kernel.js';
import { concreteShape, sizeOf } from './shape.js';
import type { HostTensor } from './tensor.js';
import { typecheck } from './typecheck.js';
import type { Graph } from './types.js';
import { neededValues } from './prune.js';

/** Every op's kernel, by name: a view of the op records (packages/core/src/ops/). */
const kernels: { [O in OpName]: Kernel<O> } = opTable('kernel');

export { InterpretError };

export interface InterpretOptions {
  /** Names of outputs (graph outputs) to return; all outputs when omitted. */
  outputs?: string[];
}

function batchSizeOf(graph: Graph, feeds: Record<string, HostTensor>): number {
  let batch: number | undefined;
  for (const input of graph.inputs) {
    const axis = input.type.shape.indexOf('batch');
    const feed = feeds[input.name];
    if (axis < 0 || !feed) continue;
    const n = feed.shape[axis]!;
    if (batch !== undefined && n !== batch) {
      throw new InterpretError(`input '${input.name}' has batch size ${n}, others have ${batch}`);
    }
    batch = n;
  }
  return batch ?? 1;
}

function toVal(name: string, t: HostTensor, expected: number[], dtype: 'f32' | 'i32'): Val {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new InterpretError(`'${name}' has shape [${t.shape.join(',')}], the graph expects [${expected.join(',')}]`);
  }
  if (t.data.length !== sizeOf(expected)) {
    throw new InterpretError(`'${name}' has ${t.data.length} elements for shape [${expected.join(',')}]`);
  }
  if (dtype === 'i32') return { shape: expected, data: t.data instanceof Int32Array ? t.data : Int32Array.from(t.data) };
  return { shape: expected, data: t.data instanceof Float64Array ? t.data : Float64Array.from(t.data) };
}

/**
 * Evaluates a graph on host arrays. It is the reference every backend is
 * tested against, so it favours clarity and f64 precision over speed.
 * Inputs not needed for the requested outputs may be left out of `feeds`.
 */
export function interpret(
  graph: Graph,
  params: ReadonlyMap<string, Float32Array | Float64Array>,
  feeds: Record<string, HostTensor>,
  options: InterpretOptions = {},
): Record<string, HostTensor> {
  typecheck(graph);
  const batch = batchSizeOf(graph, feeds);
  const wanted = options.outputs ?? Object.keys(graph.outputs);
  const needed = neededValues(graph, wanted.map((o) => {
    const ref = graph.outputs[o];
    if (ref === undefined) throw new InterpretError(`graph '${graph.name}' has no output '${o}'`);
    return ref;
  }));
  const env = new Map<string, Val>();
  for (const input of graph.inputs) {
    if (!needed.has(input.name)) continue;
    const feed = feeds[input.name];
    if (!feed) throw new InterpretError(`missing input '${input.name}'`);
    env.set(input.name, toVal(input.name, feed, concreteShape(input.type.shape, batch), input.type.dtype));
  }
  for (const param of graph.params) {
    if (!needed.has(param.name)) continue;
    const data = params.get(param.name);
    if (!data) throw new InterpretError(`missing parameter '${param.name}'`);
    const shape = concreteShape(param.type.shape, batch);
    env.set(param.name, toVal(param.name, { shape, data }, shape, 'f32'));
  }
  for (const node of graph.nodes) {
    if (!needed.has(node.id)) continue;
    const inputs = node.inputs.map((n) => env.get(n)!);
    const kernel = kernels[node.op] as Kernel<OpName>;
    env.set(node.id, kernel(inputs, node.attrs, node));
  }
  const result: Record<string, HostTensor> = {};
  for (const name of wanted) result[name] = env.get(graph.outputs[name]!)!;
  return result;
}
