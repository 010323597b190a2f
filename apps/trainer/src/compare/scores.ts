import { writeFileAtomic } from '@esm2/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A cell's test predictions, kept for the paired tests on test rows (DeLong):
 * `test-scores.f32` in the cell directory, pCVR for every test row then
 * pCTCVR (NaN where the model has no such prediction), little-endian float32,
 * rows in the test file's order. The test labels the tests need (click, then
 * buy, same layout) are written once, as `test-labels.f32` in the comparison
 * directory: they do not depend on the model or on the DAction choice.
 */
export const SCORES_FILE = 'test-scores.f32';
export const LABELS_FILE = 'test-labels.f32';

/** Collects two float32 columns batch by batch. */
export class ColumnPair {
  private readonly chunks: [Float32Array[], Float32Array[]] = [[], []];
  private rows = 0;

  add(size: number, a: Float32Array | undefined, b: Float32Array | undefined): void {
    const col = (x: Float32Array | undefined) => (x === undefined ? new Float32Array(size).fill(NaN) : Float32Array.from(x.subarray(0, size)));
    this.chunks[0].push(col(a));
    this.chunks[1].push(col(b));
    this.rows += size;
  }

  /** Both columns, one after the other, as the bytes of the file. */
  bytes(): Uint8Array {
    const all = new Float32Array(2 * this.rows);
    let at = 0;
    for (const chunk of [...this.chunks[0], ...this.chunks[1]]) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return new Uint8Array(all.buffer);
  }
}

export async function writeColumns(path: string, pair: ColumnPair): Promise<void> {
  await writeFileAtomic(path, pair.bytes());
}

/** The two columns of a file written by writeColumns, or undefined when it is absent; a wrong size names the file. */
export async function readColumns(path: string, rows: number): Promise<[Float32Array, Float32Array] | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (bytes.byteLength !== rows * 8) throw new Error(`${path}: ${bytes.byteLength} bytes, expected 2 × ${rows} float32 values (the test file has ${rows} rows)`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return [all.subarray(0, rows), all.subarray(rows)];
}

export const scoresPath = (cellDir: string) => join(cellDir, SCORES_FILE);
export const labelsPath = (compareDir: string) => join(compareDir, LABELS_FILE);
