import { mulberry32 } from '@esm2/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Batch } from '../batch.js';
import { Encoders } from '../encode/encoders.js';
import { baseRates, emptyLabelCounts } from '../encode/labels.js';
import { checkLabelCounts, readShard } from './check.js';
import { checkLittleEndian, MANIFEST_FILE, parseManifest, SHARD_ENCODERS_FILE, SHARDS_FORMAT_VERSION, type ShardsManifest } from './manifest.js';

export interface EncodedBatchOptions {
  batchSize: number;
  /** A full seeded permutation of the rows (no buffer: every row is in memory). Omit for file order. */
  shuffle?: { seed: number; /** Accepted for openDataset's options; unused (the shuffle is full). */ buffer?: number };
  dropLast?: boolean;
}

export interface EncodedDatasetOptions extends EncodedBatchOptions {
  /** Shard numbers to read (default all): a rank's share. */
  shards?: number[];
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? `no such file (${what})` : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
}

interface Column {
  key: string;
  width: number;
  data: Int32Array | Float32Array;
}

/**
 * An encoded-shards directory (see manifest.ts) in memory: its encoders and
 * the chosen shards' columns as typed arrays, read once. `batches` gives one
 * epoch of batches from them.
 */
export class EncodedShards {
  private constructor(
    readonly dir: string,
    readonly manifest: ShardsManifest,
    /** The encoders the rows were encoded with; `baseRates` from the label counts of every row (a calibrated start). */
    readonly encoders: Encoders,
    /** Rows of the chosen shards. */
    readonly rows: number,
    private readonly columns: Column[],
  ) {}

  /** Reads and checks the manifest and the encoders only (no row data). */
  static async describe(dir: string): Promise<{ manifest: ShardsManifest; encoders: Encoders }> {
    const manifestPath = join(dir, MANIFEST_FILE);
    const doc = await readJson(manifestPath, `not an encoded-shards directory: ${dir}`);
    const encodersPath = join(dir, SHARD_ENCODERS_FILE);
    const encoders = Encoders.fromJSON(await readJson(encodersPath, `the encoders named by ${manifestPath}`), encodersPath);
    const manifest = parseManifest(doc, manifestPath, encoders);
    encoders.baseRates = baseRates(manifest.labelCounts);
    return { manifest, encoders };
  }

  /**
   * Reads the directory's manifest, encoders and the columns of `shards`
   * (default all), checking every file as it is read (check.ts: size,
   * sha256, labels, funnel, id ranges, finite numbers; with every shard,
   * the label counts).
   */
  static async load(dir: string, options: { shards?: number[] } = {}): Promise<EncodedShards> {
    const { manifest, encoders, chosen } = await opened(dir, options.shards);
    const rows = chosen.reduce((a, k) => a + manifest.shards[k]!.rows, 0);
    const columns: Column[] = Object.entries(manifest.columns).map(([key, c]) => ({
      key,
      width: c.width,
      data: c.dtype === '<i4' ? new Int32Array(rows * c.width) : new Float32Array(rows * c.width),
    }));
    const counts = emptyLabelCounts();
    let first = 0;
    for (const k of chosen) {
      const shard = manifest.shards[k]!;
      const views = new Map(columns.map((col) => [col.key, new Uint8Array(col.data.buffer, first * col.width * 4, shard.rows * col.width * 4)]));
      await readShard(dir, manifest, encoders, k, counts, (key) => views.get(key));
      first += shard.rows;
    }
    if (chosen.length === manifest.shards.length) checkLabelCounts(join(dir, MANIFEST_FILE), manifest, counts);
    return new EncodedShards(dir, manifest, encoders, rows, columns);
  }

  /**
   * Checks an encoded-shards directory as `load` does, every shard, without
   * keeping its rows (one read buffer and a shard's labels at a time): for
   * a trainer that reads the files itself (the torch backend) to refuse bad
   * shards before it starts.
   */
  static async check(dir: string): Promise<{ manifest: ShardsManifest; encoders: Encoders }> {
    const { manifest, encoders, chosen } = await opened(dir, undefined);
    const counts = emptyLabelCounts();
    for (const k of chosen) await readShard(dir, manifest, encoders, k, counts, () => undefined);
    checkLabelCounts(join(dir, MANIFEST_FILE), manifest, counts);
    return { manifest, encoders };
  }

  /** One epoch: the rows in file order, or in a full permutation seeded by `shuffle.seed`. */
  *batches(options: EncodedBatchOptions): Generator<Batch> {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    const order = options.shuffle ? permutation(this.rows, options.shuffle.seed) : undefined;
    const end = options.dropLast ? this.rows - (this.rows % batchSize) : this.rows;
    for (let start = 0; start < end; start += batchSize) {
      yield this.gather(start, Math.min(end, start + batchSize), order);
    }
  }

  private gather(start: number, stop: number, order: Int32Array | undefined): Batch {
    const size = stop - start;
    const out: Batch = { size, features: {}, labels: {} as Batch['labels'] };
    for (const { key, width: w, data } of this.columns) {
      let a: Int32Array | Float32Array;
      if (!order) {
        a = data.slice(start * w, stop * w);
      } else {
        a = data instanceof Int32Array ? new Int32Array(size * w) : new Float32Array(size * w);
        if (w === 1) {
          for (let j = 0; j < size; j++) a[j] = data[order[start + j]!]!;
        } else {
          for (let j = 0; j < size; j++) {
            const r = order[start + j]! * w;
            for (let k = 0; k < w; k++) a[j * w + k] = data[r + k]!;
          }
        }
      }
      const slash = key.indexOf('/');
      const group = slash < 0 ? key : key.slice(0, slash);
      const name = key.slice(slash + 1);
      if (group === 'features') out.features[name] = a;
      else if (group === 'labels') out.labels[name as keyof Batch['labels']] = a as Float32Array;
      else if (group === 'userIds') out.userIds = a as Int32Array;
      else (out.truth ??= {})[name as keyof NonNullable<Batch['truth']>] = a as Float32Array;
    }
    return out;
  }
}

/** The manifest and encoders of a directory opened for its rows, and the shards chosen (default all). */
async function opened(dir: string, shards: number[] | undefined): Promise<{ manifest: ShardsManifest; encoders: Encoders; chosen: number[] }> {
  checkLittleEndian();
  const { manifest, encoders } = await EncodedShards.describe(dir);
  if (manifest.version !== SHARDS_FORMAT_VERSION) {
    throw new Error(
      `${join(dir, MANIFEST_FILE)}: version ${manifest.version}, written before shard checksums, so its rows cannot be checked; ` +
        `encode the data again: esm2-train data encode --in ${manifest.source} --out NEW_DIR --encoders ${dir}`,
    );
  }
  const chosen = shards ?? manifest.shards.map((_, k) => k);
  for (const k of chosen) {
    if (!Number.isInteger(k) || k < 0 || k >= manifest.shards.length) throw new Error(`${dir}: no shard ${k} (it has ${manifest.shards.length}: 0–${manifest.shards.length - 1})`);
  }
  if (new Set(chosen).size !== chosen.length) throw new Error(`${dir}: shards ${chosen.join(', ')} name a shard twice`);
  if (chosen.length === 0) throw new Error(`${dir}: no shards chosen`);
  return { manifest, encoders, chosen };
}

/** A seeded Fisher–Yates permutation of 0..n−1 (the project's RNG, as the streaming shuffle uses). */
function permutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** One epoch's batches of an encoded-shards directory, with `open` to read (and check) the shards now. */
export interface EncodedEpochs {
  (options: EncodedBatchOptions): AsyncIterable<Batch>;
  /** Reads and checks the shards now rather than at the first epoch (a trainer refusing bad shards before it starts); kept for the epochs. */
  open(): Promise<EncodedShards>;
}

/**
 * An encoded-shards directory's epochs, each with its own options (a
 * trainer's per-epoch seed): the columns are read once, at `open` or the
 * first epoch, and kept for the later ones (read again after a failed read).
 */
export function encodedEpochs(dir: string, load: { shards?: number[] } = {}): EncodedEpochs {
  let loaded: Promise<EncodedShards> | undefined;
  const open = () => {
    loaded ??= EncodedShards.load(dir, load.shards ? { shards: load.shards } : {}).catch((e: unknown) => {
      loaded = undefined;
      throw e;
    });
    return loaded;
  };
  const epochs = (options: EncodedBatchOptions): AsyncIterable<Batch> => ({
    async *[Symbol.asyncIterator]() {
      yield* (await open()).batches(options);
    },
  });
  return Object.assign(epochs, { open });
}

/**
 * An encoded-shards directory as batches, like `openDataset` for a file:
 * re-iterable, one epoch per iteration, epoch k shuffled with seed + k
 * (a full permutation); without a shuffle, file order. The columns are read
 * once, at the first iteration, and kept for later epochs. Key columns are
 * not stored in shards, so batches carry no `keys`.
 */
export function openEncodedDataset(dir: string, options: EncodedDatasetOptions): AsyncIterable<Batch> {
  const epochs = encodedEpochs(dir, options.shards ? { shards: options.shards } : {});
  let epoch = 0;
  return {
    [Symbol.asyncIterator]() {
      const shuffle = options.shuffle ? { seed: options.shuffle.seed + epoch++ } : undefined;
      return epochs({ batchSize: options.batchSize, dropLast: options.dropLast, ...(shuffle ? { shuffle } : {}) })[Symbol.asyncIterator]();
    },
  };
}
