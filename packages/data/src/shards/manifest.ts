import { requireLittleEndianHost, zodProblems } from '@esm2/core';
import { stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { z } from 'zod';
import type { Batch } from '../batch.js';
import type { Encoders } from '../encode/encoders.js';
import { TRUTH_NAMES } from '../infer.js';

/**
 * Encoded shards: a training file encoded once, as raw little-endian arrays
 * any trainer reads without a Parquet reader (numpy.memmap, a typed array).
 *
 *   DIR/manifest.json             this file's `ShardsManifest`
 *   DIR/encoders.json             the fitted encoders (Encoders.toJSON, as in an artifact)
 *   DIR/shard-00000/<column>.bin  one file per column per shard
 *
 * Columns are named by their place in a Batch: `features/<field>` (Int32 ids,
 * row-major [rows, maxLength] padded with -1 for multi-valued fields; Float32
 * numerics), `labels/click|daction|buy` (Float32 0/1), `userIds` (Int32 user
 * numbers by first appearance in the file, for GAUC) and `truth/<name>`
 * (Float32 true probabilities of synthetic data). Shards are contiguous
 * near-equal row ranges in file order.
 *
 * Version 2 records each column file's sha256 (`data encode` writes it,
 * opening the shards for training checks it with the values, see
 * check.ts). A version-1 manifest (no checksums) still gives its encoders
 * (`data encode --encoders DIR`), but its rows are refused for training:
 * encode the data again.
 */
export const SHARDS_FORMAT = 'esm2-encoded-shards';
export const SHARDS_FORMAT_VERSION = 2;
export const MANIFEST_FILE = 'manifest.json';
export const SHARD_ENCODERS_FILE = 'encoders.json';

/** numpy-style dtypes: little-endian int32 and float32. */
export type ShardDtype = '<i4' | '<f4';

export interface ShardColumnFile {
  /** Relative to the directory. */
  file: string;
  dtype: ShardDtype;
  /** [rows] for one value per row, [rows, width] for multi-valued fields. */
  shape: number[];
  /** The file's sha256 (hex); absent in version-1 manifests only. */
  sha256?: string;
}

export interface ShardsManifest {
  format: typeof SHARDS_FORMAT;
  /** SHARDS_FORMAT_VERSION when written; 1 for a manifest written before checksums (readable for its encoders, refused for training). */
  version: typeof SHARDS_FORMAT_VERSION | 1;
  rows: number;
  /** The file the rows were read from, as given. */
  source: string;
  encoders: typeof SHARD_ENCODERS_FILE;
  /** Label counts over every row: the base rates of a calibrated start. */
  labelCounts: { rows: number; clicks: number; dactions: number; buys: number; dactionBuys: number; oactionBuys: number };
  /** Every column, in Batch order: its dtype and values per row. */
  columns: Record<string, { dtype: ShardDtype; width: number }>;
  shards: { rows: number; columns: Record<string, ShardColumnFile> }[];
}

const count = z.number().int().nonnegative();
const dtype = z.enum(['<i4', '<f4']);
const manifestShape = z.strictObject({
  format: z.literal(SHARDS_FORMAT),
  version: z.union([z.literal(1), z.literal(SHARDS_FORMAT_VERSION)]),
  rows: z.number().int().positive(),
  source: z.string(),
  encoders: z.literal(SHARD_ENCODERS_FILE),
  labelCounts: z.strictObject({ rows: count, clicks: count, dactions: count, buys: count, dactionBuys: count, oactionBuys: count }),
  columns: z.record(z.string(), z.strictObject({ dtype, width: z.number().int().positive() })),
  shards: z
    .array(
      z.strictObject({
        rows: z.number().int().positive(),
        columns: z.record(z.string(), z.strictObject({ file: z.string().regex(/^[A-Za-z0-9_.\-/]+$/).refine((f) => !f.split('/').includes('..'), 'must stay inside the directory'), dtype, shape: z.array(z.number().int().nonnegative()).min(1).max(2), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits').optional() })),
      }),
    )
    .min(1),
});

/** The file name of a column in a shard: `shard-00003/features.user_tags.bin`. */
export const shardFile = (shard: number, key: string) => `shard-${String(shard).padStart(5, '0')}/${key.replaceAll('/', '.')}.bin`;

/** The rows of shard k of n over `rows`: contiguous, near-equal, in file order. */
export function shardRows(rows: number, shards: number): number[] {
  return Array.from({ length: shards }, (_, k) => Math.floor((rows * (k + 1)) / shards) - Math.floor((rows * k) / shards));
}

/** The raw files are little-endian; typed arrays use the machine's order. */
export function checkLittleEndian(): void {
  requireLittleEndianHost('encoded shards are little-endian int32/float32 files');
}

/** Whether `path` is an encoded-shards directory (a directory holding manifest.json). */
export async function isEncodedDir(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isDirectory()) return false;
    return (await stat(join(path, MANIFEST_FILE))).isFile();
  } catch {
    return false;
  }
}

/** What the columns of rows encoded by `encoders` are: features in schema order, labels; user numbers and truth when the data has them. */
export function expectedColumns(encoders: Encoders): Map<string, { dtype: ShardDtype; width: number; optional?: true }> {
  const out = new Map<string, { dtype: ShardDtype; width: number; optional?: true }>();
  for (const f of encoders.schema.fields) {
    out.set(`features/${f.name}`, f.kind === 'numeric' ? { dtype: '<f4', width: 1 } : { dtype: '<i4', width: f.kind === 'multiCategorical' ? f.maxLength : 1 });
  }
  for (const l of ['click', 'daction', 'buy']) out.set(`labels/${l}`, { dtype: '<f4', width: 1 });
  out.set('userIds', { dtype: '<i4', width: 1, optional: true });
  for (const t of TRUTH_NAMES) out.set(`truth/${t}`, { dtype: '<f4', width: 1, optional: true });
  return out;
}

/** The columns of an encoded block as [key, array] in Batch order (features, labels, user numbers, truth). */
export function batchColumns(batch: Batch): [string, Int32Array | Float32Array][] {
  const cols: [string, Int32Array | Float32Array][] = [];
  for (const [name, a] of Object.entries(batch.features)) cols.push([`features/${name}`, a]);
  cols.push(['labels/click', batch.labels.click], ['labels/daction', batch.labels.daction], ['labels/buy', batch.labels.buy]);
  if (batch.userIds) cols.push(['userIds', batch.userIds]);
  for (const [name, a] of Object.entries(batch.truth ?? {})) if (a) cols.push([`truth/${name}`, a]);
  return cols;
}

/**
 * Checks a parsed manifest against itself and the encoders it names: every
 * problem is an Error naming `path` (the manifest) and the key at fault.
 */
export function parseManifest(doc: unknown, path: string, encoders: Encoders): ShardsManifest {
  const r = manifestShape.safeParse(doc);
  if (!r.success) throw new Error(`${path}: not an ${SHARDS_FORMAT} v1–v${SHARDS_FORMAT_VERSION} manifest: ${zodProblems(r.error).join('; ')}`);
  const m: ShardsManifest = r.data;
  const problems: string[] = [];
  const expected = expectedColumns(encoders);
  for (const [key, want] of expected) {
    const got = m.columns[key];
    if (!got) {
      if (!want.optional) problems.push(`columns: missing '${key}'`);
    } else if (got.dtype !== want.dtype || got.width !== want.width) {
      problems.push(`columns.${key}: ${got.dtype} × ${got.width} per row, but the encoders give ${want.dtype} × ${want.width}`);
    }
  }
  for (const key of Object.keys(m.columns)) if (!expected.has(key)) problems.push(`columns: '${key}' is not a column of these encoders`);
  const total = m.shards.reduce((a, s) => a + s.rows, 0);
  if (total !== m.rows) problems.push(`rows: ${m.rows}, but the shards hold ${total}`);
  // Each column file once: a shard listed twice would be trained on twice.
  const owner = new Map<string, string>();
  for (const [k, s] of m.shards.entries()) {
    for (const [key, c] of Object.entries(s.columns)) {
      const file = posix.normalize(c.file);
      const at = `shards.${k}.columns.${key}`;
      const first = owner.get(file);
      if (first !== undefined) problems.push(`${at}.file: '${c.file}' is also ${first}'s file`);
      else owner.set(file, at);
      if (m.version === SHARDS_FORMAT_VERSION && c.sha256 === undefined) problems.push(`${at}.sha256: missing`);
      if (m.version === 1 && c.sha256 !== undefined) problems.push(`${at}.sha256: not part of a version-1 manifest`);
    }
  }
  for (const [k, s] of m.shards.entries()) {
    const keys = Object.keys(s.columns);
    const want = Object.keys(m.columns);
    if (keys.length !== want.length || keys.some((c) => !(c in m.columns))) problems.push(`shards.${k}.columns: ${keys.join(', ')}; expected ${want.join(', ')}`);
    for (const [key, c] of Object.entries(s.columns)) {
      const col = m.columns[key];
      if (!col) continue;
      const shape = col.width === 1 ? [s.rows] : [s.rows, col.width];
      if (c.dtype !== col.dtype) problems.push(`shards.${k}.columns.${key}.dtype: ${c.dtype}, expected ${col.dtype}`);
      if (c.shape.join(',') !== shape.join(',')) problems.push(`shards.${k}.columns.${key}.shape: [${c.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
  }
  if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`);
  return m;
}
