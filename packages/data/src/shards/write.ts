import { fsyncDir, refuseSamePaths, replaceDirAtomically, writeFileDurable } from '@esm2/core/node';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { rejectFileFor, type BadRowOptions, type BadRowReport } from '../bad-rows.js';
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

/** Where an encode reads and writes: `--in`, `--out`, and when given the data config, the encoders source and the bad-row policy. */
export interface EncodePaths extends BadRowOptions {
  input: string;
  out: string;
  /** The data config file the encoders are fitted with. */
  config?: string;
  /** The encoded directory or model artifact whose encoders are reused. */
  encoders?: string;
  /** The run or model artifact whose encoders are extended (`--warm-start`). */
  warmStart?: string;
}

/**
 * Refuses, before anything is read or written, an encode that would destroy
 * what it reads or what it did not write: `--out` (by any spelling: `d/.`,
 * `d/../d`, a symlink) equal to, inside or holding `--in`, `--config` or
 * the `--encoders` or `--warm-start` directory; a reject file (skip mode) that is one of those
 * or lies inside `--out`; and an existing `--out` that holds anything but a
 * previous encode (see assertReplaceable).
 */
export async function checkEncodePaths(paths: EncodePaths): Promise<void> {
  await refuseSamePaths(
    [{ flag: '--in', path: paths.input }, paths.config ? { flag: '--config', path: paths.config } : undefined, paths.encoders ? { flag: '--encoders', path: paths.encoders } : undefined, paths.warmStart ? { flag: '--warm-start', path: paths.warmStart } : undefined],
    [{ flag: '--out', path: paths.out }, paths.onBadRow === 'skip' ? { flag: '--reject-file', path: rejectFileFor(paths.input, paths) } : undefined],
  );
  await assertReplaceable(paths.out);
}

/** What a previous encode wrote into `dir`, per its manifest: relative paths of its files and directories; undefined when the manifest is unreadable. */
async function encodeFiles(dir: string): Promise<Map<string, 'file' | 'dir'> | undefined> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  // Loosely read: any version of the format names its files the same way.
  const m = doc as { format?: unknown; shards?: { columns?: Record<string, { file?: unknown }> }[] } | null;
  if (m?.format !== SHARDS_FORMAT || !Array.isArray(m.shards)) return undefined;
  const files = new Map<string, 'file' | 'dir'>([
    [MANIFEST_FILE, 'file'],
    [SHARD_ENCODERS_FILE, 'file'],
  ]);
  for (const shard of m.shards) {
    for (const c of Object.values(shard?.columns ?? {})) {
      if (typeof c?.file !== 'string') continue;
      const parts = c.file.split('/');
      for (let i = 1; i <= parts.length; i++) files.set(parts.slice(0, i).join(sep), i === parts.length ? 'file' : 'dir');
    }
  }
  return files;
}

/** The entries under `dir` (relative, sorted) that are not in `ours` as what they are, descending only into directories of `ours` (symlinks are not followed). */
async function foreignEntries(dir: string, ours: Map<string, 'file' | 'dir'>, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const rel = prefix === '' ? e.name : join(prefix, e.name);
    const kind = ours.get(rel);
    if (kind === 'dir' && e.isDirectory()) out.push(...(await foreignEntries(dir, ours, rel)));
    else if (kind !== 'file' || !e.isFile()) out.push(rel);
  }
  return out;
}

/**
 * Replacing `dir` deletes what it holds, so only a previous encode is
 * replaced (as for artifacts): an empty or missing directory is written,
 * one holding exactly a manifest, its encoders and the shard files the
 * manifest lists is replaced, and anything else (a typo'd --out, a run
 * written into it, a file put beside the shards) is refused, naming the
 * first file encode did not write.
 */
async function assertReplaceable(dir: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!stats.isDirectory()) throw new Error(`cannot write encoded shards to ${dir}: it exists and is not a directory`);
  const top = await readdir(dir);
  if (top.length === 0) return;
  if (!top.includes(MANIFEST_FILE)) {
    throw new Error(`refusing to overwrite ${dir}: it is a non-empty directory without ${MANIFEST_FILE}, not an encoded-shards directory`);
  }
  const ours = await encodeFiles(dir);
  if (ours === undefined) {
    throw new Error(`refusing to overwrite ${dir}: its ${MANIFEST_FILE} is not a readable ${SHARDS_FORMAT} manifest, so what the directory holds cannot be told from an earlier encode; move it away or choose another --out`);
  }
  const foreign = await foreignEntries(dir, ours);
  if (foreign.length > 0) {
    const more = foreign.length > 1 ? ` (and ${foreign.length - 1} more)` : '';
    throw new Error(
      `refusing to overwrite ${dir}: it holds ${join(dir, foreign[0]!)}${more}, which data encode did not write (an encoded directory holds only ${MANIFEST_FILE}, ${SHARD_ENCODERS_FILE} and the shard files its manifest lists); move it out or choose another --out`,
    );
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
 * encoded directory is replaced; any other non-empty directory, or an
 * encoded one holding files encode did not write, is refused (see
 * checkEncodePaths, which callers run before fitting encoders).
 */
export async function writeEncodedShards(input: string, encoders: Encoders, outDir: string, options: EncodeShardsOptions = {}): Promise<EncodeShardsReport> {
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a positive integer, got ${shards}`);
  checkLittleEndian();
  await checkEncodePaths({ ...options, input, out: outDir });
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
