import { open, stat } from 'node:fs/promises';
import { DataError } from '../errors.js';

export type FileFormat = 'csv' | 'parquet';
export type Compression = 'none' | 'gzip' | 'zstd';

export interface FileKind {
  format: FileFormat;
  compression: Compression;
  /** Field delimiter for text files: `,` unless the name says `.tsv`. */
  delimiter: string;
}

/** Compressions DuckDB cannot read; naming them beats a "not a CSV" error on binary noise. */
const UNSUPPORTED: [string, (b: Buffer) => boolean][] = [
  ['bzip2', (b) => b.subarray(0, 3).toString('latin1') === 'BZh'],
  ['xz', (b) => b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))],
  ['zip', (b) => b.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))],
  ['lz4', (b) => b.subarray(0, 4).equals(Buffer.from([0x04, 0x22, 0x4d, 0x18]))],
  ['7z', (b) => b.subarray(0, 6).equals(Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]))],
];
const UNSUPPORTED_EXT = /\.(bz2|xz|zip|lz4|7z|z|lzma|br|snappy)$/i;

/**
 * Works out what a file is from its leading bytes first and its name second:
 * names lie (a `.csv` that is gzip), bytes do not.
 */
export async function detectFile(file: string): Promise<FileKind> {
  let size: number;
  try {
    const s = await stat(file);
    if (s.isDirectory()) throw new DataError({ file }, 'it is a directory, not a CSV, TSV or Parquet file');
    size = s.size;
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError({ file }, 'file not found');
  }
  if (size === 0) throw new DataError({ file }, 'empty file');
  const head = Buffer.alloc(Math.min(8, size));
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const lower = file.toLowerCase();
  const delimiter = /\.tsv(\.[a-z0-9]+)?$/.test(lower) ? '\t' : ',';
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return { format: 'parquet', compression: 'none', delimiter };
  if (head[0] === 0x1f && head[1] === 0x8b) return { format: 'csv', compression: 'gzip', delimiter };
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return { format: 'csv', compression: 'zstd', delimiter };
  for (const [name, test] of UNSUPPORTED) {
    if (test(head)) throw new DataError({ file }, `unknown compression '${name}' (readable: none, gzip, zstd)`);
  }
  const ext = UNSUPPORTED_EXT.exec(lower);
  if (ext) throw new DataError({ file }, `unknown compression '.${ext[1]}' (readable: none, gzip, zstd)`);
  if (lower.endsWith('.parquet')) throw new DataError({ file }, 'not a Parquet file (no PAR1 magic bytes)');
  return { format: 'csv', compression: 'none', delimiter };
}

/** Output format from the name the user asked for. */
export function outputFormat(file: string): FileFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.parquet')) return 'parquet';
  if (lower.endsWith('.csv') || lower.endsWith('.tsv')) return 'csv';
  throw new Error(`${file}: output must end in .csv, .tsv or .parquet`);
}
