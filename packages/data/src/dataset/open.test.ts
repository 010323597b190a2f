import type { Graph } from '@esm2/core';
import { describe, expect, it } from 'vitest';
import { batchToFeeds, type Batch } from '../batch.js';
import { fitEncoders } from '../encode/fit.js';
import { writeSynthetic } from '../synthetic/generate.js';
import { tempDir } from '../testing/tmp.js';
import { openDataset } from './open.js';
import { rowsOf } from '../testing/rows.js';

const tmp = await tempDir();
const ROWS = 5000;
const csv = tmp('synthetic.csv');
const parquet = tmp('synthetic.parquet');
const data = await writeSynthetic(csv, { rows: ROWS, seed: 5, truth: true });
await writeSynthetic(parquet, { rows: ROWS, seed: 5, truth: true });
const encoders = await fitEncoders(csv, { ...data.config, keys: ['user_id', 'item_id'] });

async function all(path: string, options: Partial<Parameters<typeof openDataset>[1]> = {}): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of openDataset(path, { encoders, batchSize: 512, ...options })) out.push(b);
  return out;
}


describe('openDataset', () => {
  it('gives fixed-size typed batches in file order, with keys, truth and user numbers', async () => {
    const batches = await all(csv);
    expect(batches.map((b) => b.size)).toEqual([...Array(9).fill(512), ROWS - 9 * 512]);
    const b = batches[0]!;
    expect(b.features['user_id']).toBeInstanceOf(Int32Array);
    expect(b.features['price']).toBeInstanceOf(Float32Array);
    expect(encoders.state.maxLength['user_tags']).toBe(5);
    expect(b.features['user_tags']!.length).toBe(512 * 5);
    expect(b.keys!['user_id']).toHaveLength(512);
    expect(b.truth!.pctr).toBeInstanceOf(Float32Array);
    expect(b.userIds![0]).toBe(0);
    const totalClicks = batches.reduce((s, x) => s + x.labels.click.reduce((a, c) => a + c, 0), 0);
    expect(totalClicks).toBeGreaterThan(0);
    expect(await all(csv, { dropLast: true })).toHaveLength(9);
  });

  it('reads CSV and Parquet of the same data to the same batches', async () => {
    expect(rowsOf(await all(parquet))).toEqual(rowsOf(await all(csv)));
  });

  it('shuffles reproducibly: a permutation of the file, different per seed and per epoch', async () => {
    const ordered = rowsOf(await all(csv));
    const a = rowsOf(await all(csv, { shuffle: { seed: 1, buffer: 1000 } }));
    const b = rowsOf(await all(csv, { shuffle: { seed: 1, buffer: 1000 } }));
    const c = rowsOf(await all(csv, { shuffle: { seed: 2, buffer: 1000 } }));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).not.toEqual(ordered);
    expect([...a].sort()).toEqual([...ordered].sort());
    const ds = openDataset(csv, { encoders, batchSize: 512, shuffle: { seed: 1, buffer: 1000 } });
    const epochs: string[][] = [];
    for (let e = 0; e < 2; e++) {
      const got: Batch[] = [];
      for await (const x of ds) got.push(x);
      epochs.push(rowsOf(got));
    }
    expect(epochs[0]).toEqual(a);
    expect(epochs[1]).not.toEqual(a);
  });
});

describe('batchToFeeds', () => {
  const graph = (withLabels: boolean): Graph => ({
    name: 'g',
    params: [],
    nodes: [],
    outputs: {},
    inputs: [
      { name: 'user_id', type: { dtype: 'i32', shape: ['batch'] }, role: 'feature' },
      { name: 'user_tags', type: { dtype: 'i32', shape: ['batch', encoders.state.maxLength['user_tags']!] }, role: 'feature' },
      { name: 'price', type: { dtype: 'f32', shape: ['batch'] }, role: 'feature' },
      ...(withLabels ? (['click', 'daction', 'buy'] as const).map((name) => ({ name, type: { dtype: 'f32' as const, shape: ['batch' as const] }, role: 'label' as const })) : []),
    ],
  });

  it("feeds exactly the graph's inputs, labels only for training graphs, without copying", async () => {
    const [b] = await all(csv);
    const feeds = batchToFeeds(graph(true), b!);
    expect(Object.keys(feeds)).toEqual(['user_id', 'user_tags', 'price', 'click', 'daction', 'buy']);
    expect(feeds['user_tags']!.shape).toEqual([512, encoders.state.maxLength['user_tags']]);
    expect(feeds['user_id']!.data).toBe(b!.features['user_id']);
    expect(Object.keys(batchToFeeds(graph(false), b!))).toEqual(['user_id', 'user_tags', 'price']);
  });

  it('refuses a batch that lacks an input or has the wrong dtype', async () => {
    const [b] = await all(csv);
    const g = graph(false);
    g.inputs.push({ name: 'shop', type: { dtype: 'i32', shape: ['batch'] }, role: 'feature' });
    expect(() => batchToFeeds(g, b!)).toThrow("batch has no feature 'shop' needed by graph 'g'");
    const wrong = graph(false);
    wrong.inputs[2] = { name: 'price', type: { dtype: 'i32', shape: ['batch'] }, role: 'feature' };
    expect(() => batchToFeeds(wrong, b!)).toThrow("feature 'price': graph wants i32, batch has Float32Array");
  });
});
