import type { StateTensor } from '../artifact/artifact.js';
import type { EngineState, OptimizerConfig } from '../engine.js';
import type { Weights } from '../ir/tensor.js';
import type { Graph } from '../ir/types.js';
import { STATE_KEYS } from './engine-state.js';
import { checkInitialWeights } from './initial-weights.js';
import { findEmbeddingLookups } from './split-embeddings.js';

/**
 * How one field's embedding table grows (the data package's
 * vocabularyRowChanges gives one per vocabulary field): its rows after, and
 * the rows (1-based ids: row 0 is the OOV row and is never fresh) whose
 * entry is new, reused after an eviction, or freed. Rows not listed and
 * below the old table's size keep their old values; rows not listed at or
 * past the old size are new and fresh too.
 */
export interface TableGrowth {
  rows: number;
  fresh: Int32Array;
}

/** Table growth by field name. A field without an entry keeps its table as it is (hash fields, numeric ones). */
export type FieldGrowth = ReadonlyMap<string, TableGrowth>;

/**
 * The schema field each embedding table is looked up by: the graph input its
 * gather/pooledGather reads ids from (`emb/<field>`, and the DNN baseline's
 * second set `ctr/emb/<field>`, both map to `<field>`). A table read by two
 * different inputs is refused: it could not grow by one field's rows.
 */
export function embeddingTableFields(graph: Graph): Map<string, string> {
  const fields = new Map<string, string>();
  for (const l of findEmbeddingLookups(graph).lookups) {
    const known = fields.get(l.table);
    if (known !== undefined && known !== l.ids) throw new Error(`embedding table '${l.table}' is looked up by both '${known}' and '${l.ids}': it cannot grow with one field's vocabulary`);
    fields.set(l.table, l.ids);
  }
  return fields;
}

/** The optimizer state keys of a graph (STATE_KEYS), each with the parameter it belongs to and whether that is an embedding table. */
function stateLayout(graph: Graph, embeddingOptimizer: OptimizerConfig['embeddingOptimizer']): Map<string, { param: string; table: boolean; size: number; shape: number[] }> {
  const layout = new Map<string, { param: string; table: boolean; size: number; shape: number[] }>();
  for (const p of graph.params) {
    const shape = [...p.type.shape] as number[];
    const size = shape.reduce((a, d) => a * d, 1);
    const table = p.kind === 'embedding';
    const keys = !table
      ? [STATE_KEYS.dense('m', p.name), STATE_KEYS.dense('v', p.name)]
      : embeddingOptimizer === 'adam'
        ? [STATE_KEYS.table('adam', 'm', p.name), STATE_KEYS.table('adam', 'v', p.name)]
        : [STATE_KEYS.table('adagrad', 'acc', p.name)];
    for (const key of keys) layout.set(key, { param: p.name, table, size, shape });
  }
  return layout;
}

/**
 * A new run's optimizer state for `graph` under STATE_KEYS, as every engine
 * starts it: step 0, Adam's moments 0, Adagrad's accumulator 0 (sparse-table.ts,
 * and the torch trainer's zeros_like).
 */
export function initialEngineState(graph: Graph, embeddingOptimizer: OptimizerConfig['embeddingOptimizer']): EngineState {
  const state: EngineState = new Map([[STATE_KEYS.step, { dtype: 'i32', shape: [], data: Int32Array.of(0) } satisfies StateTensor]]);
  for (const [key, { size, shape }] of stateLayout(graph, embeddingOptimizer)) state.set(key, { dtype: 'f32', shape, data: new Float32Array(size) });
  return state;
}

/** The table rows that take fresh values: the listed ones and every row past the old table. */
function freshRows(name: string, field: string, growth: TableGrowth, oldRows: number): Uint8Array {
  const fresh = new Uint8Array(growth.rows);
  for (const r of growth.fresh) {
    if (!(r >= 1 && r < growth.rows)) throw new Error(`embedding table '${name}' (field '${field}'): fresh row ${r} is outside rows 1…${growth.rows - 1} (row 0 is the OOV row)`);
    fresh[r] = 1;
  }
  fresh.fill(1, oldRows);
  return fresh;
}

/**
 * One tensor of the grown model: a dense one (or a table that does not grow)
 * is the old one, which must have the new size; a growing table ([rows, dim]
 * row-major) takes its old rows and, for its fresh rows, the `fresh` tensor's.
 */
function growTensor(what: string, old: Float32Array, fresh: Float32Array, table: { name: string; field: string; growth: TableGrowth } | undefined): Float32Array {
  if (!table) {
    if (old.length !== fresh.length) throw new Error(`${what} has ${old.length} values in the parent, the new model needs ${fresh.length}`);
    return Float32Array.from(old);
  }
  const { rows } = table.growth;
  const dim = fresh.length / rows;
  if (!Number.isInteger(dim) || dim === 0) throw new Error(`${what}: ${fresh.length} values are not ${rows} table rows`);
  const oldRows = old.length / dim;
  if (!Number.isInteger(oldRows)) throw new Error(`${what} has ${old.length} values in the parent, not rows of width ${dim}`);
  if (oldRows > rows) throw new Error(`${what}: the parent's table has ${oldRows} rows, the new one ${rows}; tables never shrink (evicted rows stay, freed)`);
  const isFresh = freshRows(table.name, table.field, table.growth, oldRows);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) out.set((isFresh[r] ? fresh : old).subarray(r * dim, (r + 1) * dim), r * dim);
  return out;
}

/** The growth of each embedding table of `graph`, by table name, from the growth by field. */
function tableGrowth(graph: Graph, growth: FieldGrowth): Map<string, { name: string; field: string; growth: TableGrowth }> {
  const out = new Map<string, { name: string; field: string; growth: TableGrowth }>();
  for (const [name, field] of embeddingTableFields(graph)) {
    const g = growth.get(field);
    if (g) out.set(name, { name, field, growth: g });
  }
  return out;
}

/**
 * A warm start's weights: the parent's (`old`, trained on the old
 * vocabulary) grown to `graph`, the same model over a schema whose
 * vocabularies have more rows. Every embedding table of a field in `growth`
 * keeps its known rows and takes its fresh rows (new ids, reused rows,
 * freed rows) from `fresh` — a new run's initial weights of `graph`
 * (initialWeights(newModel, seed)); every other parameter must have
 * exactly its old size and is copied. Errors name the parameter.
 */
export function growWeights(graph: Graph, old: Weights, fresh: Weights, growth: FieldGrowth): Weights {
  checkInitialWeights(graph, fresh);
  const tables = tableGrowth(graph, growth);
  const missing = graph.params.filter((p) => !old.has(p.name)).map((p) => p.name);
  const extra = [...old.keys()].filter((k) => !fresh.has(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`the parent's parameters do not match model '${graph.name}'${missing.length ? `; missing: ${missing.join(', ')}` : ''}${extra.length ? `; unexpected: ${extra.join(', ')}` : ''}`);
  }
  return new Map(graph.params.map((p) => [p.name, growTensor(`parameter '${p.name}'`, old.get(p.name)!, fresh.get(p.name)!, tables.get(p.name))]));
}

/**
 * A warm start's optimizer state: the parent's (`old`, STATE_KEYS) grown as
 * growWeights grows the weights. Fresh table rows take a new run's state
 * (initialEngineState: zero moments, zero Adagrad accumulator); known rows
 * and dense parameters keep theirs; the step count is kept, so Adam's bias
 * correction continues where the parent stopped. A state of another model or
 * embedding optimizer is refused naming the keys.
 */
export function growState(graph: Graph, embeddingOptimizer: OptimizerConfig['embeddingOptimizer'], old: ReadonlyMap<string, StateTensor>, growth: FieldGrowth): EngineState {
  const fresh = initialEngineState(graph, embeddingOptimizer);
  const layout = stateLayout(graph, embeddingOptimizer);
  const missing = [...fresh.keys()].filter((k) => !old.has(k));
  const extra = [...old.keys()].filter((k) => !fresh.has(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `the parent's optimizer state does not match this model and optimizer (embedding optimizer '${embeddingOptimizer}')` +
        (missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}` : '') +
        (extra.length ? `; unexpected: ${extra.slice(0, 5).join(', ')}` : ''),
    );
  }
  const step = old.get(STATE_KEYS.step)!;
  if (step.dtype !== 'i32' || step.data.length !== 1 || !(step.data[0]! >= 0)) throw new Error(`the parent's optimizer state '${STATE_KEYS.step}' is not a step count`);
  const tables = tableGrowth(graph, growth);
  const state: EngineState = new Map([[STATE_KEYS.step, { dtype: 'i32', shape: [], data: Int32Array.of(step.data[0]!) }]]);
  for (const [key, { param, shape }] of layout) {
    const was = old.get(key)!;
    if (was.dtype !== 'f32') throw new Error(`the parent's optimizer state '${key}' is ${was.dtype}, expected f32`);
    const data = growTensor(`optimizer state '${key}'`, was.data, fresh.get(key)!.data as Float32Array, tables.get(param));
    state.set(key, { dtype: 'f32', shape, data });
  }
  return state;
}
