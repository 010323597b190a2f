import { tableSize } from '@esm2/core';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Batch } from '../batch.js';
import type { Encoders } from '../encode/encoders.js';
import { countLabels, funnelBreak, type LabelCounts } from '../encode/labels.js';
import { parseLabel, parseNumeric } from '../encode/values.js';
import { DataError } from '../errors.js';
import { MANIFEST_FILE, type ShardColumnFile, type ShardsManifest } from './manifest.js';

/**
 * The checks every encoded shard passes when it is opened for training
 * (EncodedShards.load for the in-process engines, checkEncodedShards before
 * the torch backend launches python): each column file's size and sha256
 * against the manifest, then its values by the rules the CSV/Parquet path
 * applies while encoding — labels 0/1, the funnel (DAction and purchase only
 * after a click), ids inside their field's table (list padding -1 last),
 * finite numbers — and the label counts against the manifest's. Typed-array
 * scans over the bytes as they are read: no second pass.
 */

/** The first bad value of a scanned block: its element index and why. */
type Problem = { index: number; reason: string } | undefined;
type Scan = (a: Int32Array | Float32Array, width: number) => Problem;

/** Bytes per read when a file is checked without being kept (a multiple of a row's bytes is taken). */
const CHUNK_BYTES = 1 << 22;

function labelScan(a: Int32Array | Float32Array): Problem {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x !== 0 && x !== 1) return { index: i, reason: parseLabel(x) as string };
  }
  return undefined;
}

function finiteScan(a: Int32Array | Float32Array): Problem {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x - x !== 0) return { index: i, reason: parseNumeric(x) as string };
  }
  return undefined;
}

/** Ids of one value per row: 0 ≤ id < size. */
function idScan(size: number, what: string): Scan {
  return (a) => {
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      if (!(x >= 0 && x < size)) return { index: i, reason: `id ${x} outside ${what}'s [0, ${size})` };
    }
    return undefined;
  };
}

/** Ids of a list field: each row's ids in [0, size), then padding −1 to the row's end (as encoding writes it). */
function listScan(size: number, what: string): Scan {
  return (a, width) => {
    for (let r = 0; r < a.length; r += width) {
      let padded = false;
      for (let j = r; j < r + width; j++) {
        const x = a[j]!;
        if (x === -1) padded = true;
        else if (!(x >= 0 && x < size)) return { index: j, reason: `id ${x} outside ${what}'s [0, ${size}) (−1 pads)` };
        else if (padded) return { index: j, reason: `id ${x} after padding −1: a row's ids come first, padding last` };
      }
    }
    return undefined;
  };
}

/** How a column's values are checked, by its key in a Batch. */
function columnScan(key: string, encoders: Encoders, manifest: ShardsManifest): Scan {
  if (key.startsWith('labels/')) return labelScan;
  if (key.startsWith('truth/')) return finiteScan;
  if (key === 'userIds') return idScan(manifest.rows, 'the user numbers (by first appearance among the rows)');
  const name = key.slice('features/'.length);
  const field = encoders.schema.fields.find((f) => f.name === name);
  if (!field) throw new Error(`no field '${name}' in the encoders (a bug: parseManifest checks the columns)`);
  if (field.kind === 'numeric') return finiteScan;
  const what = `field '${name}'s ${field.encoding.kind === 'vocabulary' ? 'vocabulary' : 'hash buckets'}`;
  return field.kind === 'multiCategorical' ? listScan(tableSize(field), what) : idScan(tableSize(field), what);
}

/** A location in a shard: the column file, the row within the shard, the item of a list field. */
function located(path: string, key: string, width: number, index: number, reason: string): DataError {
  const row = Math.floor(index / width);
  return new DataError({ file: path, where: width > 1 ? `row ${row}, item ${index % width}` : `row ${row}`, column: key }, reason);
}

/**
 * Reads one column file of a shard: its size, sha256 and values checked.
 * The bytes go to `into` (the whole file) when given, else through a
 * reused buffer. A checksum mismatch is reported before a bad value (the
 * file changed after encoding; its values say nothing more).
 */
async function readShardColumn(path: string, manifestPath: string, key: string, file: ShardColumnFile, width: number, scan: Scan, into?: Uint8Array): Promise<void> {
  const bytes = file.shape.reduce((a, b) => a * b, 1) * 4;
  if (into && into.byteLength !== bytes) throw new Error(`${path}: ${into.byteLength}-byte target for a ${bytes}-byte column (a bug)`);
  const description = `${file.dtype} [${file.shape.join(', ')}] by ${manifestPath}`;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message} (${description})`);
  }
  const hash = createHash('sha256');
  let problem: Problem;
  try {
    const { size } = await handle.stat();
    if (size !== bytes) throw new Error(`${path}: ${size} bytes, expected ${bytes} (${description})`);
    const rowBytes = 4 * width;
    const step = into ? 2 ** 30 - ((2 ** 30) % rowBytes) : Math.max(rowBytes, CHUNK_BYTES - (CHUNK_BYTES % rowBytes));
    const buffer = into ? undefined : new Uint8Array(Math.min(step, bytes));
    for (let done = 0; done < bytes; ) {
      const n = Math.min(step, bytes - done);
      const target = into ? into.subarray(done, done + n) : buffer!.subarray(0, n);
      for (let got = 0; got < n; ) {
        const { bytesRead } = await handle.read(target, got, n - got, done + got);
        if (bytesRead === 0) throw new Error(`${path}: ended after ${done + got} of ${bytes} bytes`);
        got += bytesRead;
      }
      hash.update(target);
      if (!problem) {
        const values = file.dtype === '<i4' ? new Int32Array(target.buffer, target.byteOffset, n / 4) : new Float32Array(target.buffer, target.byteOffset, n / 4);
        const p = scan(values, width);
        if (p) problem = { index: done / 4 + p.index, reason: p.reason };
      }
      done += n;
    }
  } finally {
    await handle.close();
  }
  const actual = hash.digest('hex');
  if (file.sha256 !== undefined && actual !== file.sha256) {
    throw new Error(`${path} is corrupt: checksum sha256 ${actual} does not match the manifest's ${file.sha256} (encode the data again)`);
  }
  if (problem) throw located(path, key, width, problem.index, problem.reason);
}

/**
 * Reads and checks shard `k` of `manifest` (column files under `dir`):
 * `into(key)` says where a column's bytes go (undefined: checked, not
 * kept). Adds the shard's label counts to `counts`.
 */
export async function readShard(
  dir: string,
  manifest: ShardsManifest,
  encoders: Encoders,
  k: number,
  counts: LabelCounts,
  into: (key: string) => Uint8Array | undefined,
): Promise<void> {
  const shard = manifest.shards[k]!;
  const labels: Partial<Record<keyof Batch['labels'], Float32Array>> = {};
  for (const [key, c] of Object.entries(manifest.columns)) {
    const file = shard.columns[key]!;
    let target = into(key);
    if (!target && key.startsWith('labels/')) target = new Uint8Array(shard.rows * 4);
    await readShardColumn(join(dir, file.file), join(dir, MANIFEST_FILE), key, file, c.width, columnScan(key, encoders, manifest), target);
    if (key.startsWith('labels/')) labels[key.slice('labels/'.length) as keyof Batch['labels']] = new Float32Array(target!.buffer, target!.byteOffset, shard.rows);
  }
  const { click, daction, buy } = labels as Batch['labels'];
  for (let i = 0; i < shard.rows; i++) {
    const broken = funnelBreak(click, daction, buy, i);
    if (broken) throw located(join(dir, shard.columns[`labels/${broken}`]!.file), `labels/${broken}`, 1, i, `${broken}=1 but click=0`);
  }
  countLabels(counts, { click, daction, buy }, shard.rows, new Set());
}

/** Refuses label counts over every row that differ from the manifest's (they give a calibrated start its base rates). */
export function checkLabelCounts(manifestPath: string, manifest: ShardsManifest, counts: LabelCounts): void {
  const wrong = (Object.keys(counts) as (keyof LabelCounts)[]).filter((k) => counts[k] !== manifest.labelCounts[k]);
  if (wrong.length > 0) {
    throw new Error(`${manifestPath}: labelCounts ${wrong.map((k) => `${k} ${manifest.labelCounts[k]}`).join(', ')}, but the shards hold ${wrong.map((k) => `${k} ${counts[k]}`).join(', ')}`);
  }
}

/** A file's sha256 (hex), read as a stream: what the manifest records per column file. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
