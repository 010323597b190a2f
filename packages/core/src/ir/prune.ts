import type { Graph } from './types.js';

/** The values (inputs, params, nodes) that the given values depend on. */
export function neededValues(graph: Graph, roots: string[]): Set<string> {
  const producers = new Map(graph.nodes.map((n) => [n.id, n]));
  const needed = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    const node = producers.get(name);
    if (node) stack.push(...node.inputs);
  }
  return needed;
}

/** A graph restricted to what the named outputs need (e.g. scoring without labels). */
export function pruneGraph(graph: Graph, outputs: string[]): Graph {
  const refs = outputs.map((o) => {
    const ref = graph.outputs[o];
    if (ref === undefined) throw new Error(`graph '${graph.name}' has no output '${o}'`);
    return ref;
  });
  const needed = neededValues(graph, refs);
  return {
    name: graph.name,
    inputs: graph.inputs.filter((i) => needed.has(i.name)),
    params: graph.params.filter((p) => needed.has(p.name)),
    nodes: graph.nodes.filter((n) => needed.has(n.id)),
    outputs: Object.fromEntries(outputs.map((o) => [o, graph.outputs[o]!])),
  };
}
