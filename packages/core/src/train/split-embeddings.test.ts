import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../autodiff/grad.js';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import type { HostTensor } from '../ir/tensor.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { findEmbeddingLookups, splitEmbeddings } from './split-embeddings.js';
import { GraphBuilder, ops } from '../ir/builder.js';
import type { Graph } from '../ir/types.js';
import { SparseEmbeddingTable } from './sparse-table.js';
import { DEFAULT_OPTIMIZER } from '../engine.js';

describe('splitEmbeddings', () => {
  const schema = smallSchema();
  const model = buildModel(schema, { towers: [5], embeddingDim: 3, numericDim: 2 });
  const weights = initWeights(model.graph, 1);
  const feeds = randomFeeds(model.graph, schema, 9, 2);
  const split = splitEmbeddings(model.graph);

  /** Host-side lookups fed into the split graph, as a training engine does. */
  function hostFeeds(): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = { ...feeds };
    for (const l of split.lookups) {
      const table = new SparseEmbeddingTable(l.rows, l.dim, Float32Array.from(weights.get(l.table)!), DEFAULT_OPTIMIZER);
      const rows = new Float32Array(9 * l.dim);
      const ids = feeds[l.ids]!.data as Int32Array;
      if (l.kind === 'gather') table.gather(ids, rows);
      else table.gatherPooled(ids, ids.length / 9, l.mode, rows);
      out[l.rowsInput] = { shape: [9, l.dim], data: rows };
    }
    return out;
  }

  it('leaves only dense params and one rows input per lookup', () => {
    expect(split.graph.params.some((p) => p.kind === 'embedding')).toBe(false);
    expect(split.lookups.map((l) => [l.table, l.ids, l.kind])).toEqual([
      ['emb/user', 'user', 'gather'],
      ['emb/item', 'item', 'gather'],
      ['emb/tags', 'tags', 'pooled'],
    ]);
    expect(split.graph.inputs.some((i) => i.name === 'user')).toBe(false);
  });

  it('gives the same outputs as the original graph when rows are gathered on the host', () => {
    const a = interpret(model.graph, weights, feeds);
    const b = interpret(split.graph, weights, hostFeeds());
    for (const k of Object.keys(a)) {
      const [x, y] = [a[k]!.data, b[k]!.data];
      for (let i = 0; i < x.length; i++) expect(y[i]).toBeCloseTo(x[i]!, 6);
    }
  });

  it('row gradients scattered on the host equal the full graph table gradients', () => {
    const full = interpret(grad(model.graph), weights, feeds);
    const rowsGrad = interpret(grad(split.graph, { wrt: [...split.graph.params.map((p) => p.name), ...split.lookups.map((l) => l.rowsInput)] }), weights, hostFeeds());
    for (const l of split.lookups) {
      const table = new SparseEmbeddingTable(l.rows, l.dim, new Float32Array(l.rows * l.dim), { ...DEFAULT_OPTIMIZER, embeddingOptimizer: 'adagrad' });
      const ids = feeds[l.ids]!.data as Int32Array;
      table.accumulate(ids, Float32Array.from(rowsGrad[gradName(l.rowsInput)]!.data), ids.length / 9, l.mode);
      const expected = full[gradName(l.table)]!.data;
      const got = new Float64Array(expected.length);
      table.touchedRows.forEach((row, slot) => got.set(table.touchedGradients.subarray(slot * l.dim, (slot + 1) * l.dim), row * l.dim));
      for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 6);
      expect(table.touchedRows.length).toBeGreaterThan(1);
    }
  });
});

/** A tiny graph with one embedding table, read however `use` says. */
function graphWith(use: (b: GraphBuilder, table: ReturnType<GraphBuilder['param']>) => ReturnType<GraphBuilder['param']>): Graph {
  const b = new GraphBuilder('tiny');
  const table = b.param('emb/t', [10, 4], { kind: 'normal', std: 0.1 }, 'embedding');
  b.output('y', use(b, table));
  return b.build();
}

describe('findEmbeddingLookups (the one lookup plan of both training engines)', () => {
  it('finds each lookup with its node, ids input and occurrence, and keeps a table no lookup reads', () => {
    const b = new GraphBuilder('two');
    const ids = b.input('ids', 'i32', ['batch']);
    const tags = b.input('tags', 'i32', ['batch', 3]);
    const t = b.param('emb/t', [10, 4], { kind: 'normal', std: 0.1 }, 'embedding');
    b.param('emb/unused', [5, 2], { kind: 'normal', std: 0.1 }, 'embedding');
    const a = ops.gather(b, t, ids);
    const p = ops.pooledGather(b, t, tags, 'mean');
    b.output('y', ops.add(b, a, p));
    const found = findEmbeddingLookups(b.build());
    expect(found.tables).toEqual([
      { name: 'emb/t', rows: 10, dim: 4 },
      { name: 'emb/unused', rows: 5, dim: 2 },
    ]);
    expect(found.lookups.map((l) => [l.node, l.rowsInput, l.ids, l.kind, l.mode])).toEqual([
      [a.name, 'rows/emb/t', 'ids', 'gather', 'sum'],
      [p.name, 'rows/emb/t#1', 'tags', 'pooled', 'mean'],
    ]);
    expect(splitEmbeddings(b.build()).graph.params).toEqual([]);
  });

  // The tfjs engine used to train these tables densely while the onnx engine threw: now both refuse, naming the node.
  it('refuses a table read by an op other than a lookup, naming the node', () => {
    const g = graphWith((b, t) => ops.matmul(b, b.input('x', 'f32', ['batch', 10]), t));
    const node = g.nodes[0]!.id;
    expect(() => findEmbeddingLookups(g)).toThrow(new RegExp(`graph 'tiny': node '${node}' \\(matmul\\) reads embedding table 'emb/t' as operand 1`));
    expect(() => splitEmbeddings(g)).toThrow(/node '%0' \(matmul\)/);
  });

  it('refuses a lookup whose ids are computed in the graph, naming the node and the ids', () => {
    const g = graphWith((b, t) => ops.gather(b, t, ops.reshape(b, b.input('ids', 'i32', ['batch', 1]), ['batch'])));
    const [reshape, gather] = g.nodes.map((n) => n.id);
    expect(() => findEmbeddingLookups(g)).toThrow(`graph 'tiny': node '${gather}' (gather) looks up embedding table 'emb/t' with ids '${reshape}', which is not a graph input`);
  });

  it('refuses a table that is a graph output', () => {
    const b = new GraphBuilder('tiny');
    b.output('table', b.param('emb/t', [10, 4], { kind: 'normal', std: 0.1 }, 'embedding'));
    expect(() => findEmbeddingLookups(b.build())).toThrow(/output 'table' is embedding table 'emb\/t'/);
  });
});
