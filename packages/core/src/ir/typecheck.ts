import { typeRules } from './ops.js';
import { formatType, sameDims } from './shape.js';
import { OP_NAMES, type Graph, type OpName, type TensorType } from './types.js';

export class GraphTypeError extends Error {
  override name = 'GraphTypeError';
}

type AnyRule = (inputs: TensorType[], attrs: unknown) => TensorType | string;

/** Infers a node's result type from its operand types, or explains why it cannot. */
export function inferType(op: OpName, inputs: TensorType[], attrs: unknown): TensorType | string {
  const rule = (typeRules as Record<OpName, AnyRule>)[op];
  return rule(inputs, attrs ?? {});
}

function checkDeclaredType(what: string, t: TensorType, allowBatch: boolean): void {
  if (t.dtype !== 'f32' && t.dtype !== 'i32') throw new GraphTypeError(`${what}: unknown dtype '${String(t.dtype)}'`);
  for (const d of t.shape) {
    if (d === 'batch' ? !allowBatch : !(Number.isInteger(d) && d > 0)) {
      throw new GraphTypeError(`${what}: invalid dimension '${String(d)}' in ${formatType(t)}`);
    }
  }
}

/**
 * Checks a whole graph: unique names, every operand defined before use, every
 * node's declared type equal to what its op infers, outputs defined.
 * Throws a GraphTypeError naming the first offending node; returns the
 * environment of value types on success.
 */
export function typecheck(graph: Graph): Map<string, TensorType> {
  const env = new Map<string, TensorType>();
  const define = (name: string, t: TensorType, what: string) => {
    if (env.has(name)) throw new GraphTypeError(`${what}: name '${name}' is defined twice`);
    env.set(name, t);
  };
  for (const input of graph.inputs) {
    checkDeclaredType(`input '${input.name}'`, input.type, true);
    define(input.name, input.type, `input '${input.name}'`);
  }
  for (const param of graph.params) {
    if (param.type.dtype !== 'f32') throw new GraphTypeError(`param '${param.name}': parameters must be f32`);
    checkDeclaredType(`param '${param.name}'`, param.type, false);
    define(param.name, param.type, `param '${param.name}'`);
  }
  for (const node of graph.nodes) {
    const where = `node ${node.id} (${node.op})`;
    if (!(OP_NAMES as readonly string[]).includes(node.op)) throw new GraphTypeError(`${where}: unknown op`);
    const operands = node.inputs.map((name, i) => {
      const t = env.get(name);
      if (!t) throw new GraphTypeError(`${where}: input ${i} '${name}' is not defined before this node`);
      return t;
    });
    const inferred = inferType(node.op, operands, node.attrs);
    if (typeof inferred === 'string') throw new GraphTypeError(`${where}: ${inferred}`);
    if (inferred.dtype !== node.type.dtype || !sameDims(inferred.shape, node.type.shape)) {
      throw new GraphTypeError(`${where}: declared ${formatType(node.type)} but the op gives ${formatType(inferred)}`);
    }
    define(node.id, node.type, where);
  }
  for (const [name, ref] of Object.entries(graph.outputs)) {
    if (!env.has(ref)) throw new GraphTypeError(`output '${name}': refers to undefined value '${ref}'`);
  }
  return env;
}
