import { checkSeed } from '@esm2/core';
import type { DataConfigInput } from '../config.js';
import { writeTable, type OutputColumn } from '../write/table-writer.js';
import { calibrate, drawImpression, scores, sigmoid, type Scores } from './behaviour.js';
import { buildWorld, stream, type WorldSizes } from './world.js';

export interface SyntheticOptions {
  rows: number;
  seed: number;
  /**
   * Seed of the latent world (users, items, their affinities); defaults to
   * `seed`. Train and test files share a world and differ in `seed`.
   */
  worldSeed?: number;
  /** Add true_pctr, true_pctavr, true_pcvr, true_pctcvr columns. */
  truth?: boolean;
  /** Rows per generated chunk. */
  chunkSize?: number;
  sizes?: WorldSizes;
}

/** Nine categorical fields (ESM2's default benchmark width), one list, two numbers. */
export const SYNTHETIC_CATEGORICAL = ['user_id', 'item_id', 'category_id', 'shop_id', 'brand_id', 'user_gender', 'user_age', 'user_city', 'hour'];

export interface SyntheticChunk {
  size: number;
  /** Column-major, in `columns` order. */
  values: (Int32Array | Float64Array | Uint8Array | string[])[];
}

export interface SyntheticData {
  columns: OutputColumn[];
  /** The data config to read the output with (declares the list and numeric fields). */
  config: DataConfigInput;
  chunks(): Generator<SyntheticChunk>;
}

/**
 * A seeded synthetic impression log with known probabilities: the same
 * options always give the same rows. Rows are produced lazily in chunks,
 * so any size streams to disk in flat memory.
 */
export function generateSynthetic(options: SyntheticOptions): SyntheticData {
  const { rows, seed } = options;
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`rows must be a positive integer, got ${rows}`);
  checkSeed(seed, 'seed');
  if (options.worldSeed !== undefined) checkSeed(options.worldSeed, 'worldSeed');
  const chunkSize = options.chunkSize ?? 8192;
  const columns: OutputColumn[] = [
    ...SYNTHETIC_CATEGORICAL.map((name) => ({ name, type: 'INTEGER' as const })),
    { name: 'user_tags', type: 'VARCHAR' },
    { name: 'price', type: 'DOUBLE' },
    { name: 'item_rating', type: 'DOUBLE' },
    { name: 'click', type: 'TINYINT' },
    { name: 'daction', type: 'TINYINT' },
    { name: 'buy', type: 'TINYINT' },
  ];
  if (options.truth) for (const t of ['pctr', 'pctavr', 'pcvr', 'pctcvr']) columns.push({ name: `true_${t}`, type: 'DOUBLE' });
  const config: DataConfigInput = { numeric: ['price', 'item_rating'], multi: ['user_tags'], userField: 'user_id' };

  function* chunks(): Generator<SyntheticChunk> {
    const worldSeed = options.worldSeed ?? seed;
    const world = buildWorld(worldSeed, options.sizes);
    const b = calibrate(world, worldSeed);
    const u = stream(seed, 'impressions');
    const noise = stream(seed, 'observation-noise');
    const s: Scores = { ctr: 0, daction: 0, buyD: 0, buyO: 0 };
    for (let start = 0; start < rows; start += chunkSize) {
      const n = Math.min(chunkSize, rows - start);
      const cat = SYNTHETIC_CATEGORICAL.map(() => new Int32Array(n));
      const tags = new Array<string>(n);
      const price = new Float64Array(n);
      const rating = new Float64Array(n);
      const click = new Uint8Array(n);
      const daction = new Uint8Array(n);
      const buy = new Uint8Array(n);
      const truth = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)] as const;
      for (let i = 0; i < n; i++) {
        const imp = drawImpression(world, u);
        scores(world, imp, s);
        const { user: a, item: it } = imp;
        // Ids are 1-based like real logs; 0 never appears in the data.
        cat[0]![i] = a + 1;
        cat[1]![i] = it + 1;
        cat[2]![i] = world.item.category[it]! + 1;
        cat[3]![i] = world.item.shop[it]! + 1;
        cat[4]![i] = world.item.brand[it]! + 1;
        cat[5]![i] = world.user.gender[a]! + 1;
        cat[6]![i] = world.user.age[a]! + 1;
        cat[7]![i] = world.user.city[a]! + 1;
        cat[8]![i] = imp.hour;
        tags[i] = Array.from(world.user.tags[a]!, (t) => `t${t}`).join('|');
        price[i] = Math.round(world.item.price[it]! * 100) / 100;
        // An observed, noisy view of the item's hidden appeal.
        rating[i] = Math.round((3 + world.item.bias[it]! + (noise() - 0.5)) * 1000) / 1000;
        const pctr = sigmoid(s.ctr + b.ctr);
        const pd = sigmoid(s.daction + b.daction);
        const pbD = sigmoid(s.buyD + b.buyD);
        const pbO = sigmoid(s.buyO + b.buyO);
        const pcvr = pd * pbD + (1 - pd) * pbO;
        const c = u() < pctr ? 1 : 0;
        const d = c && u() < pd ? 1 : 0;
        const y = c && u() < (d ? pbD : pbO) ? 1 : 0;
        click[i] = c;
        daction[i] = d;
        buy[i] = y;
        truth[0][i] = round6(pctr);
        truth[1][i] = round6(pctr * pd);
        truth[2][i] = round6(pcvr);
        truth[3][i] = round6(pctr * pcvr);
      }
      const values: SyntheticChunk['values'] = [...cat, tags, price, rating, click, daction, buy];
      if (options.truth) values.push(...truth);
      yield { size: n, values };
    }
  }
  return { columns, config, chunks };
}

/** Six significant digits: more than float32 models resolve, and files stay small. */
function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/** Writes the synthetic data to CSV or Parquet (by extension), atomically. */
export async function writeSynthetic(path: string, options: SyntheticOptions, onProgress?: (rows: number) => void): Promise<SyntheticData> {
  const data = generateSynthetic(options);
  await writeTable(path, data.columns, async (w) => {
    for (const chunk of data.chunks()) {
      await w.writeColumns(chunk.values, chunk.size);
      onProgress?.(w.rows);
    }
  });
  return data;
}
