import type { Graph, GraphInput, Node } from '../ir/types.js';
import { typecheck } from '../ir/typecheck.js';

/** One embedding lookup moved out of the graph to the host. */
export interface HostLookup {
  /** The graph input that now receives the looked-up (and pooled) rows, f32 [batch, D]. */
  rowsInput: string;
  /** The embedding table parameter it reads. */
  table: string;
  /** The id input it reads: i32 [batch] for `gather`, i32 [batch, L] (-1 padding) for `pooled`. */
  ids: string;
  kind: 'gather' | 'pooled';
  mode: 'sum' | 'mean';
  dim: number;
  rows: number;
}

export interface SplitGraph {
  /** The graph with every embedding lookup replaced by a rows input; only dense params remain. */
  graph: Graph;
  lookups: HostLookup[];
}

/** Name of the graph input that receives a table's looked-up rows. */
export const rowsInputName = (table: string, occurrence: number) => (occurrence === 0 ? `rows/${table}` : `rows/${table}#${occurrence}`);

/**
 * Moves embedding lookups to the host: training engines keep tables (which
 * can hold millions of rows) in typed arrays, gather only the batch's rows,
 * and update only those rows from the gradient of the rows input. The
 * remaining graph is dense and small enough to run as one compiled step.
 */
export function splitEmbeddings(graph: Graph): SplitGraph {
  const tables = new Map(graph.params.filter((p) => p.kind === 'embedding').map((p) => [p.name, p]));
  const renamed = new Map<string, string>();
  const lookups: HostLookup[] = [];
  const newInputs: GraphInput[] = [];
  const nodes: Node[] = [];
  const uses = new Map<string, number>();
  for (const node of graph.nodes) {
    const table = tables.get(node.inputs[0] ?? '');
    if ((node.op === 'gather' || node.op === 'pooledGather') && table) {
      const occurrence = uses.get(table.name) ?? 0;
      uses.set(table.name, occurrence + 1);
      const rowsInput = rowsInputName(table.name, occurrence);
      const [rows, dim] = table.type.shape as [number, number];
      lookups.push({
        rowsInput,
        table: table.name,
        ids: node.inputs[1]!,
        kind: node.op === 'gather' ? 'gather' : 'pooled',
        mode: node.op === 'pooledGather' ? (node as Node<'pooledGather'>).attrs.mode : 'sum',
        dim,
        rows,
      });
      newInputs.push({ name: rowsInput, type: node.type, role: 'feature' });
      renamed.set(node.id, rowsInput);
      continue;
    }
    nodes.push({ ...node, inputs: node.inputs.map((i) => renamed.get(i) ?? i) });
  }
  for (const t of tables.keys()) {
    if (nodes.some((n) => n.inputs.includes(t))) throw new Error(`embedding table '${t}' is used by an op other than a lookup`);
  }
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const outputs = Object.fromEntries(Object.entries(graph.outputs).map(([k, v]) => [k, renamed.get(v) ?? v]));
  for (const v of Object.values(outputs)) used.add(v);
  const split: Graph = {
    name: graph.name,
    inputs: [...graph.inputs.filter((i) => used.has(i.name)), ...newInputs],
    params: graph.params.filter((p) => !tables.has(p.name)),
    nodes,
    outputs,
  };
  typecheck(split);
  return { graph: split, lookups };
}
