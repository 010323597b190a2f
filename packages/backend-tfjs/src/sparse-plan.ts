import type { Graph } from '@esm2/core';

/**
 * Embedding tables trained sparsely. Their lookups (gather / pooledGather
 * nodes) are done on the host, where the tables live: the engine feeds each
 * lookup's result straight into the compiled graph as that node's value,
 * differentiates w.r.t. those [batch, dim] results, and scatters the
 * gradient back onto the rows the batch touched. No vocabulary-sized tensor
 * — value or gradient — ever exists on the tfjs side.
 */
export type SparseLookup =
  | { node: string; ids: string; kind: 'gather' }
  | { node: string; ids: string; kind: 'pooled'; mode: 'sum' | 'mean' };

export interface SparseTable {
  param: string;
  rows: number;
  dim: number;
  lookups: SparseLookup[];
}

/**
 * Embedding params qualify when every use is as the table of a lookup whose
 * ids come straight from a graph input (so they are known on the host before
 * the step); any other use keeps the param dense, which is correct, only slower.
 */
export function planSparseTables(graph: Graph): SparseTable[] {
  const inputNames = new Set(graph.inputs.map((i) => i.name));
  const outputs = new Set(Object.values(graph.outputs));
  const tables: SparseTable[] = [];
  for (const param of graph.params) {
    if (param.kind !== 'embedding' || outputs.has(param.name)) continue;
    const users = graph.nodes.filter((n) => n.inputs.includes(param.name));
    const lookups: SparseLookup[] = [];
    for (const n of users) {
      const [table, ids] = n.inputs as [string, string];
      if (table !== param.name || ids === param.name || !inputNames.has(ids)) break;
      if (n.op === 'gather') lookups.push({ node: n.id, ids, kind: 'gather' });
      else if (n.op === 'pooledGather') lookups.push({ node: n.id, ids, kind: 'pooled', mode: (n.attrs as { mode: 'sum' | 'mean' }).mode });
      else break;
    }
    if (users.length === 0 || lookups.length !== users.length) continue;
    const [rows, dim] = param.type.shape as [number, number];
    tables.push({ param: param.name, rows, dim, lookups });
  }
  return tables;
}
