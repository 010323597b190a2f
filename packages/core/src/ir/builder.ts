import { GraphTypeError, inferType } from './typecheck.js';
import type { Dim, Graph, GraphInput, Initializer, OpAttrs, OpName, Param, TensorType } from './types.js';

/** A handle on a value being built: its name and type. */
export interface Value {
  readonly name: string;
  readonly type: TensorType;
}

/**
 * Builds graphs with type inference at every step, so a model definition
 * fails where it is wrong rather than later in a backend.
 */
export class GraphBuilder {
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

const none = {} as Record<string, never>;

/** Terse helpers over `GraphBuilder.op` for model definitions. */
export const ops = {
  gather: (b: GraphBuilder, table: Value, ids: Value) => b.op('gather', [table, ids], none),
  pooledGather: (b: GraphBuilder, table: Value, ids: Value, mode: 'sum' | 'mean') => b.op('pooledGather', [table, ids], { mode }),
  concat: (b: GraphBuilder, xs: Value[], axis: number) => b.op('concat', xs, { axis }),
  matmul: (b: GraphBuilder, x: Value, w: Value) => b.op('matmul', [x, w], {}),
  add: (b: GraphBuilder, x: Value, y: Value) => b.op('add', [x, y], none),
  sub: (b: GraphBuilder, x: Value, y: Value) => b.op('sub', [x, y], none),
  mul: (b: GraphBuilder, x: Value, y: Value) => b.op('mul', [x, y], none),
  oneMinus: (b: GraphBuilder, x: Value) => b.op('oneMinus', [x], none),
  relu: (b: GraphBuilder, x: Value) => b.op('relu', [x], none),
  sigmoid: (b: GraphBuilder, x: Value) => b.op('sigmoid', [x], none),
  tanh: (b: GraphBuilder, x: Value) => b.op('tanh', [x], none),
  bce: (b: GraphBuilder, p: Value, y: Value, eps = 1e-7) => b.op('bce', [p, y], { eps }),
  mean: (b: GraphBuilder, x: Value) => b.op('mean', [x], none),
  weightedMean: (b: GraphBuilder, x: Value, w: Value) => b.op('weightedMean', [x, w], none),
  weightedSum: (b: GraphBuilder, xs: Value[], weights: number[]) => b.op('weightedSum', xs, { weights }),
  reshape: (b: GraphBuilder, x: Value, shape: Dim[]) => b.op('reshape', [x], { shape }),
  constant: (b: GraphBuilder, value: number) => b.op('constant', [], { value }),
  pairwiseDot: (b: GraphBuilder, x: Value) => b.op('pairwiseDot', [x], none),
  sqrt: (b: GraphBuilder, x: Value) => b.op('sqrt', [x], none),
  div: (b: GraphBuilder, x: Value, y: Value) => b.op('div', [x, y], none),
  sum: (b: GraphBuilder, x: Value) => b.op('sum', [x], none),
  maximum: (b: GraphBuilder, x: Value, y: Value) => b.op('maximum', [x, y], none),
};
