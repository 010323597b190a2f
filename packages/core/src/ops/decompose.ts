import { GraphTypeError, inferType, typecheck } from '../ir/typecheck.js';
import { formatType, sameDims } from '../ir/shape.js';
import type { Graph, Node } from '../ir/types.js';
import { opRecord } from './index.js';
import type { Emitter, OpName, Value } from './support/record.js';

/**
 * Rewrites every composite node whose op is not in `lowered` into the ops
 * of its record's decomposition, recursively, so the graph uses only
 * primitives and the composites a backend lowers itself (`new Set()`:
 * primitives only). Inputs, params, outputs and the ids of the other nodes
 * are kept; a decomposed node's last equation takes its id.
 */
export function decomposeComposites(graph: Graph, lowered: ReadonlySet<OpName>): Graph {
  const types = typecheck(graph);
  const taken = new Set([...graph.inputs.map((i) => i.name), ...graph.params.map((p) => p.name), ...graph.nodes.map((n) => n.id)]);
  let counter = 1 + graph.nodes.reduce((m, n) => Math.max(m, Number(n.id.slice(1)) || 0), -1);
  const fresh = () => {
    let id: string;
    do id = `%${counter++}`;
    while (taken.has(id));
    taken.add(id);
    return id;
  };
  const nodes: Node[] = [];
  const renamed = new Map<string, string>();
  const emitter: Emitter = {
    op(op, inputs, attrs) {
      const record = opRecord(op);
      if (record.kind === 'composite' && !lowered.has(op)) return record.decompose(emitter, inputs, attrs);
      const type = inferType(op, inputs.map((v) => v.type), attrs);
      const id = fresh();
      if (typeof type === 'string') throw new GraphTypeError(`node ${id} (${op}) in a decomposition: ${type}`);
      nodes.push({ id, op, inputs: inputs.map((v) => v.name), attrs, type });
      return { name: id, type };
    },
  };

  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => renamed.get(name) ?? name);
    const record = opRecord(node.op);
    if (record.kind === 'primitive' || lowered.has(node.op)) {
      nodes.push({ ...node, inputs });
      continue;
    }
    const first = nodes.length;
    const values: Value[] = inputs.map((name) => ({ name, type: types.get(name)! }));
    const result = record.decompose(emitter, values, node.attrs);
    if (result.type.dtype !== node.type.dtype || !sameDims(result.type.shape, node.type.shape)) {
      throw new GraphTypeError(`node ${node.id} (${node.op}): its decomposition gives ${formatType(result.type)}, not ${formatType(node.type)}`);
    }
    const last = nodes.findIndex((n, k) => k >= first && n.id === result.name);
    if (last < 0) {
      // The decomposition is an existing value (a sumTo to the same shape): later uses read that value.
      renamed.set(node.id, result.name);
      continue;
    }
    for (const n of nodes.slice(first)) n.inputs = n.inputs.map((name) => (name === result.name ? node.id : name));
    nodes[last]!.id = node.id;
  }
  const outputs = Object.fromEntries(Object.entries(graph.outputs).map(([name, ref]) => [name, renamed.get(ref) ?? ref]));
  const result: Graph = structuredClone({ name: graph.name, inputs: graph.inputs, params: graph.params, nodes, outputs });
  typecheck(result);
  return result;
}
