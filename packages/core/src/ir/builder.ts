import type { Emitter, Value } from '../ops/support/record.js';
import { GraphTypeError, inferType } from './typecheck.js';
import type { Dim, Graph, GraphInput, Initializer, OpAttrs, OpName, Param, TensorType } from './types.js';

export type { Value } from '../ops/support/record.js';

/**
 * Builds graphs with type inference at every step, so a model definition
 * fails where it is wrong rather than later in a backend.
 */
export class GraphBuilder implements Emitter {
  private readonly graph: Graph;
  private counter = 0;

  constructor(name: string) {
    this.graph = { name, inputs: [], params: [], nodes: [], outputs: {} };
  }

  /** A builder that extends an existing graph (e.g. autodiff appending the backward pass). */
  static extending(graph: Graph): GraphBuilder {
    const b = new GraphBuilder(graph.name);
    Object.assign(b.graph, structuredClone(graph));
    b.counter = 1 + graph.nodes.reduce((m, n) => Math.max(m, Number(n.id.slice(1)) || 0), -1);
    return b;
  }

  /** The value (input, param or node) of that name in the graph so far. */
  value(name: string): Value {
    const found =
      this.graph.inputs.find((i) => i.name === name) ?? this.graph.params.find((p) => p.name === name) ?? this.graph.nodes.find((n) => n.id === name);
    if (!found) throw new GraphTypeError(`no value named '${name}' in graph '${this.graph.name}'`);
    return { name, type: found.type };
  }

  input(name: string, dtype: TensorType['dtype'], shape: Dim[], role: GraphInput['role'] = 'feature'): Value {
    const type = { dtype, shape };
    this.graph.inputs.push({ name, type, role });
    return { name, type };
  }

  param(name: string, shape: number[], init: Initializer, kind: Param['kind'] = 'dense'): Value {
    if (this.graph.params.some((p) => p.name === name)) throw new GraphTypeError(`param '${name}' is defined twice`);
    const type: TensorType = { dtype: 'f32', shape };
    this.graph.params.push({ name, type, init, kind });
    return { name, type };
  }

  op<O extends OpName>(op: O, inputs: Value[], attrs: OpAttrs[O]): Value {
    const id = `%${this.counter++}`;
    const type = inferType(op, inputs.map((v) => v.type), attrs);
    if (typeof type === 'string') {
      throw new GraphTypeError(`node ${id} (${op}) on ${inputs.map((v) => v.name).join(', ')}: ${type}`);
    }
    this.graph.nodes.push({ id, op, inputs: inputs.map((v) => v.name), attrs, type });
    return { name: id, type };
  }

  output(name: string, value: Value): void {
    if (name in this.graph.outputs) throw new GraphTypeError(`output '${name}' is defined twice`);
    this.graph.outputs[name] = value.name;
  }

  build(): Graph {
    return structuredClone(this.graph);
  }
}

/**
 * Terse helpers over `GraphBuilder.op` for model definitions (any Emitter
 * takes them: backward rules and decompositions are written in them too),
 * attribute types from the op records.
 */
export { ops } from '../ops/support/emit.js';
