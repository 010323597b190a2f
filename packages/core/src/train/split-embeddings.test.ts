import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../autodiff/grad.js';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import type { HostTensor } from '../ir/tensor.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { splitEmbeddings } from './split-embeddings.js';
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
