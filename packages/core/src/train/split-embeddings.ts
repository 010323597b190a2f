import type { Graph, GraphInput, Node } from '../ir/types.js';
import { typecheck } from '../ir/typecheck.js';

/** An embedding table a training engine keeps on the host (in a SparseEmbeddingTable). */
export interface HostTable {
  name: string;
  rows: number;
  dim: number;
}

/** One embedding lookup done on the host instead of in the graph. */
export interface HostLookup {
  /** The graph node (gather or pooledGather) this lookup replaces. */
  node: string;
  /** The graph input that receives the looked-up (and pooled) rows in the split graph, f32 [batch, D]. */
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

export interface EmbeddingLookups {
  /** Every embedding parameter of the graph, in declaration order (a table no lookup reads included). */
  tables: HostTable[];
  /** Every lookup of an embedding table, in graph order. */
  lookups: HostLookup[];
}

export interface SplitGraph extends EmbeddingLookups {
  /** The graph with every embedding lookup replaced by a rows input; only dense params remain. */
  graph: Graph;
}

/** Name of the graph input that receives a table's looked-up rows. */
export const rowsInputName = (table: string, occurrence: number) => (occurrence === 0 ? `rows/${table}` : `rows/${table}#${occurrence}`);

const HOST_ONLY =
  'training engines keep embedding tables on the host and read them only through gather/pooledGather nodes whose ids are a graph input';

/**
 * The embedding lookups of a graph, as every training engine runs them:
 * each embedding table lives on the host, the batch's rows are gathered
 * there, and only the rows a batch touched are updated (sparse Adam or
 * Adagrad, with embeddingL2 on those rows). That needs every use of a table
 * to be the table operand of a gather/pooledGather whose ids are a graph
 * input (known before the step). Anything else — a table fed to another op,
 * used as ids, returned as an output, or looked up with ids computed in the
 * graph — is refused here with the node named: training such a table
 * densely instead would silently change its optimizer and regularisation,
 * cost a vocabulary-sized gradient every step, and give a checkpoint layout
 * the other engine cannot resume.
 */
export function findEmbeddingLookups(graph: Graph): EmbeddingLookups {
  const tables = graph.params.filter((p) => p.kind === 'embedding');
  const tableNames = new Set(tables.map((p) => p.name));
  const graphInputs = new Set(graph.inputs.map((i) => i.name));
  const where = `graph '${graph.name}'`;
  for (const [output, value] of Object.entries(graph.outputs)) {
    if (tableNames.has(value)) throw new Error(`${where}: output '${output}' is embedding table '${value}'; ${HOST_ONLY}`);
  }
  const lookups: HostLookup[] = [];
  const uses = new Map<string, number>();
  for (const node of graph.nodes) {
    node.inputs.forEach((input, position) => {
      if (!tableNames.has(input)) return;
      const isLookup = (node.op === 'gather' || node.op === 'pooledGather') && position === 0;
      if (!isLookup) throw new Error(`${where}: node '${node.id}' (${node.op}) reads embedding table '${input}' as operand ${position}; ${HOST_ONLY}`);
      const ids = node.inputs[1]!;
      if (!graphInputs.has(ids)) {
        throw new Error(`${where}: node '${node.id}' (${node.op}) looks up embedding table '${input}' with ids '${ids}', which is not a graph input; ${HOST_ONLY}`);
      }
      const table = tables.find((t) => t.name === input)!;
      const [rows, dim] = table.type.shape as [number, number];
      const occurrence = uses.get(input) ?? 0;
      uses.set(input, occurrence + 1);
      lookups.push({
        node: node.id,
        rowsInput: rowsInputName(input, occurrence),
        table: input,
        ids,
        kind: node.op === 'gather' ? 'gather' : 'pooled',
        mode: node.op === 'pooledGather' ? (node as Node<'pooledGather'>).attrs.mode : 'sum',
        dim,
        rows,
      });
    });
  }
  return { tables: tables.map((t) => ({ name: t.name, rows: t.type.shape[0] as number, dim: t.type.shape[1] as number })), lookups };
}

/**
 * Moves embedding lookups to the host (see findEmbeddingLookups): training
 * engines keep tables (which can hold millions of rows) in typed arrays,
 * gather only the batch's rows, and update only those rows from the
 * gradient of the rows input. The remaining graph is dense and small enough
 * to run as one compiled step.
 */
export function splitEmbeddings(graph: Graph): SplitGraph {
  const { tables, lookups } = findEmbeddingLookups(graph);
  const byNode = new Map(lookups.map((l) => [l.node, l]));
  const tableNames = new Set(tables.map((t) => t.name));
  const newInputs: GraphInput[] = [];
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    const lookup = byNode.get(node.id);
    if (lookup) newInputs.push({ name: lookup.rowsInput, type: node.type, role: 'feature' });
    else nodes.push({ ...node, inputs: node.inputs.map((i) => byNode.get(i)?.rowsInput ?? i) });
  }
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const outputs = Object.fromEntries(Object.entries(graph.outputs).map(([k, v]) => [k, byNode.get(v)?.rowsInput ?? v]));
  for (const v of Object.values(outputs)) used.add(v);
  const split: Graph = {
    name: graph.name,
    inputs: [...graph.inputs.filter((i) => used.has(i.name)), ...newInputs],
    params: graph.params.filter((p) => !tableNames.has(p.name)),
    nodes,
    outputs,
  };
  typecheck(split);
  return { graph: split, tables, lookups };
}
