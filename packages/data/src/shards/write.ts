import { fsyncDir, replaceDirAtomically, writeFileDurable } from '@esm2/core';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BadRowReport } from '../bad-rows.js';
import { UserNumbering, type Encoders } from '../encode/encoders.js';
import { countLabels, emptyLabelCounts } from '../encode/labels.js';
import { encodedStream, type EncodedStreamOptions } from '../dataset/encoded-stream.js';
import { DataError } from '../errors.js';
import { fileSha256 } from './check.js';
import { batchColumns, checkLittleEndian, MANIFEST_FILE, SHARD_ENCODERS_FILE, SHARDS_FORMAT, SHARDS_FORMAT_VERSION, shardFile, shardRows, type ShardDtype, type ShardsManifest } from './manifest.js';

export interface EncodeShardsOptions extends Omit<EncodedStreamOptions, 'labels'> {
  /** Shards: contiguous near-equal row ranges in file order (default 1). */
  shards?: number;
}

export interface EncodeShardsReport extends BadRowReport {
  rows: number;
  /** Rows per shard. */
  shards: number[];
  manifest: ShardsManifest;
}

const NO_ROWS: ReadonlySet<number> = new Set();

/** Overwriting is for encoded directories only (as for artifacts): a typo'd --out must not wipe an unrelated directory. */
async function assertReplaceable(dir: string, input: string): Promise<void> {
  const rel = relative(resolve(dir), resolve(input));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) throw new Error(`refusing to write ${dir}: the input ${input} is inside it`);
  let stats;
  try {
    stats = await lstat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!stats.isDirectory()) throw new Error(`cannot write encoded shards to ${dir}: it exists and is not a directory`);
  const entries = await readdir(dir);
  if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
    throw new Error(`refusing to overwrite ${dir}: it is a non-empty directory without ${MANIFEST_FILE}, not an encoded-shards directory`);
  }
}

/** Appends whole typed arrays to one file (writes may be partial). */
async function append(handle: FileHandle, a: Int32Array | Float32Array): Promise<void> {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let done = 0;
  while (done < bytes.byteLength) done += (await handle.write(bytes, done, bytes.byteLength - done)).bytesWritten;
}

async function syncFile(path: string): Promise<void> {
  const h = await open(path, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

interface SpoolColumn {
  key: string;
  dtype: ShardDtype;
  width: number;
  path: string;
  handle: FileHandle;
}

/**
 * Encodes `input` once with fitted `encoders` (the same reading, encoding and
 * bad-row policy as `openDataset`) and writes encoded shards to `outDir`
 * (see manifest.ts for the layout). The directory appears whole or not at
 * all: it is filled as a hidden sibling and renamed into place. An existing
 * encoded directory is replaced; any other non-empty directory is refused.
 */
export async function writeEncodedShards(input: string, encoders: Encoders, outDir: string, options: EncodeShardsOptions = {}): Promise<EncodeShardsReport> {
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a positive integer, got ${shards}`);
  checkLittleEndian();
  await assertReplaceable(outDir, input);
  let result: EncodeShardsReport | undefined;
  await replaceDirAtomically(outDir, async (tmp) => {
    // Rows go to one spool file per column first (the row count of a CSV, or after skipped rows, is known only at the end), then are cut into shards.
    const spoolDir = join(tmp, '.spool');
    await mkdir(spoolDir);
    const spool: SpoolColumn[] = [];
    const users = new UserNumbering();
    const labelCounts = emptyLabelCounts();
    let bad: BadRowReport = { skipped: 0 };
    let rows = 0;
    try {
      for await (const block of encodedStream(input, encoders, { ...options, labels: true, onDone: (r) => ((bad = r), options.onDone?.(r)) })) {
        if (block.size === 0) continue;
        const { rawUsers, ...batch } = block;
        if (rawUsers) batch.userIds = users.number(rawUsers);
        delete batch.keys;
        const cols = batchColumns(batch);
        if (spool.length === 0) {
          for (const [key, a] of cols) {
            const path = join(spoolDir, key.replaceAll('/', '.'));
            spool.push({ key, dtype: a instanceof Int32Array ? '<i4' : '<f4', width: a.length / block.size, path, handle: await open(path, 'wx') });
          }
        }
        for (const [i, [key, a]] of cols.entries()) {
          const col = spool[i]!;
          if (col.key !== key || a.length !== block.size * col.width) throw new Error(`${input}: column ${key} changed shape between blocks (a bug)`);
          await append(col.handle, a);
        }
        countLabels(labelCounts, block.labels, block.size, NO_ROWS);
        rows += block.size;
      }
    } finally {
      await Promise.all(spool.map((c) => c.handle.close()));
    }
    if (rows === 0) throw new DataError({ file: input }, 'no rows to encode (every row was skipped)');
    if (rows < shards) throw new Error(`cannot cut ${rows} row(s) of ${input} into ${shards} shards: at most one shard per row`);

    const perShard = shardRows(rows, shards);
    const manifest: ShardsManifest = {
      format: SHARDS_FORMAT,
      version: SHARDS_FORMAT_VERSION,
      rows,
      source: input,
      encoders: SHARD_ENCODERS_FILE,
      labelCounts,
      columns: Object.fromEntries(spool.map((c) => [c.key, { dtype: c.dtype, width: c.width }])),
      shards: perShard.map((n, k) => ({
        rows: n,
        columns: Object.fromEntries(spool.map((c) => [c.key, { file: shardFile(k, c.key), dtype: c.dtype, shape: c.width === 1 ? [n] : [n, c.width] }])),
      })),
    };
    let first = 0;
    for (const [k, shard] of manifest.shards.entries()) {
      await mkdir(join(tmp, dirname(shardFile(k, 'x'))));
      for (const c of spool) {
        const target = join(tmp, shard.columns[c.key]!.file);
        if (shards === 1) {
          await rename(c.path, target);
        } else {
          const bytesPerRow = 4 * c.width;
          await pipeline(createReadStream(c.path, { start: first * bytesPerRow, end: (first + shard.rows) * bytesPerRow - 1 }), createWriteStream(target, { flags: 'wx' }));
        }
        await syncFile(target);
        shard.columns[c.key]!.sha256 = await fileSha256(target);
      }
      await fsyncDir(join(tmp, dirname(shardFile(k, 'x'))));
      first += shard.rows;
    }
    await rm(spoolDir, { recursive: true, force: true });
    await writeFileDurable(join(tmp, SHARD_ENCODERS_FILE), `${JSON.stringify(encoders.toJSON())}\n`);
    await writeFileDurable(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    result = { ...bad, rows, shards: perShard, manifest };
  });
  return result!;
}
