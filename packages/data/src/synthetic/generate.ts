import { checkSeed } from '@esm2/core';
import type { DataConfigInput } from '../config.js';
import { writeTable, type OutputColumn } from '../write/table-writer.js';
import { calibrate, drawImpression, scores, sigmoid, type Intercepts, type Scores } from './behaviour.js';
import { DEFAULT_DRIFT, MovingWorld, type Drift } from './moving.js';
import { buildWorld, DEFAULT_SIZES, stream, type World, type WorldSizes } from './world.js';

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
  /**
   * Days of a world that moves (moving.ts): a leading `day` column 0…days−1,
   * rows in day order, `rows` split evenly (the first rows % days days get one
   * more). Each day new users and items are born (new ids), old ones fade,
   * popularity and interests drift; the truth columns are the day's world's.
   * Day 0 is the world of `worldSeed` as without `days`, and its rows are the
   * rows written without `days` (so `days: 1` adds only the day column).
   * Without `days` there is no day column and nothing moves.
   */
  days?: number;
  /** How fast the world moves (with `days`); defaults to DEFAULT_DRIFT. */
  drift?: Partial<Drift>;
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
  const { days } = options;
  if (days !== undefined) {
    if (!Number.isInteger(days) || days < 1) throw new Error(`days must be a positive integer, got ${days}`);
    if (rows < days) throw new Error(`rows (${rows}) must be at least days (${days}): every day gets rows / days impressions`);
  }
  const chunkSize = options.chunkSize ?? 8192;
  const columns: OutputColumn[] = [
    ...(days !== undefined ? [{ name: 'day', type: 'INTEGER' as const }] : []),
    ...SYNTHETIC_CATEGORICAL.map((name) => ({ name, type: 'INTEGER' as const })),
    { name: 'user_tags', type: 'VARCHAR' },
    { name: 'price', type: 'DOUBLE' },
    { name: 'item_rating', type: 'DOUBLE' },
    { name: 'click', type: 'TINYINT' },
    { name: 'daction', type: 'TINYINT' },
    { name: 'buy', type: 'TINYINT' },
  ];
  if (options.truth) for (const t of ['pctr', 'pctavr', 'pcvr', 'pctcvr']) columns.push({ name: `true_${t}`, type: 'DOUBLE' });
  // The day says when a row happened, not what it is: not a feature.
  const config: DataConfigInput = { numeric: ['price', 'item_rating'], multi: ['user_tags'], userField: 'user_id', ...(days !== undefined ? { exclude: ['day'] } : {}) };

  function* chunks(): Generator<SyntheticChunk> {
    const worldSeed = options.worldSeed ?? seed;
    const u = stream(seed, 'impressions');
    const noise = stream(seed, 'observation-noise');
    const s: Scores = { ctr: 0, daction: 0, buyD: 0, buyO: 0 };
    const part = (world: World, b: Intercepts, n: number): SyntheticChunk => {
      const { values, truth } = impressions(world, b, u, noise, s, n);
      if (options.truth) values.push(...truth);
      return { size: n, values };
    };
    if (days === undefined) {
      const world = buildWorld(worldSeed, options.sizes);
      const b = calibrate(world, worldSeed);
      for (let start = 0; start < rows; start += chunkSize) yield part(world, b, Math.min(chunkSize, rows - start));
      return;
    }
    const moving = new MovingWorld(worldSeed, options.sizes ?? DEFAULT_SIZES, days, { ...DEFAULT_DRIFT, ...options.drift });
    let b: Intercepts | undefined;
    for (let d = 0; d < days; d++) {
      const world = moving.day(d);
      // Calibrated once, on day 0 (the world of worldSeed): later days keep their intercepts, so rates move only as the world does.
      b ??= calibrate(world, worldSeed);
      const dayRows = Math.floor(rows / days) + (d < rows % days ? 1 : 0);
      for (let start = 0; start < dayRows; start += chunkSize) {
        const chunk = part(world, b, Math.min(chunkSize, dayRows - start));
        chunk.values.unshift(new Int32Array(chunk.size).fill(d));
        yield chunk;
      }
    }
  }
  return { columns, config, chunks };
}

/** n impressions drawn from a world: the columns (without day and truth) and the four truth columns. */
function impressions(world: World, b: Intercepts, u: () => number, noise: () => number, s: Scores, n: number) {
  const cat = SYNTHETIC_CATEGORICAL.map(() => new Int32Array(n));
  const tags = new Array<string>(n);
  const price = new Float64Array(n);
  const rating = new Float64Array(n);
  const click = new Uint8Array(n);
  const daction = new Uint8Array(n);
  const buy = new Uint8Array(n);
  const truth = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
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
    truth[0]![i] = round6(pctr);
    truth[1]![i] = round6(pctr * pd);
    truth[2]![i] = round6(pcvr);
    truth[3]![i] = round6(pctr * pcvr);
  }
  const values: SyntheticChunk['values'] = [...cat, tags, price, rating, click, daction, buy];
  return { values, truth };
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
