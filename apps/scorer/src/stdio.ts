import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { trackTemp } from '@esm2/core/node';
import { csvCell, type OutputColumn } from '@esm2/data';
import type { PredictionSink, RowChunks } from './batch-score.js';

/** What `--data -` and `--out -` carry: CSV with a header line, or JSON lines (one object per line). */
export type StreamFormat = 'csv' | 'jsonl';
export const STREAM_FORMATS: readonly StreamFormat[] = ['csv', 'jsonl'];

/** Standard input as the scorer reads it: a CSV file, or JSON rows; `cleanup` removes the spooled copy. */
export interface StdinData {
  format: StreamFormat;
  /** The spooled CSV, to read as a file is read (the same typing of cells as training's). */
  csv?: string;
  rows?: RowChunks;
  cleanup(): Promise<void>;
}

/**
 * Spools `input` (stdin) to a temporary file, so rows stream from disk
 * whatever their number, and reads it as `format`, or as what its first
 * non-blank byte says: `{` is JSON lines, anything else CSV.
 */
export async function readStdin(input: Readable, format: StreamFormat | undefined, chunkRows: number): Promise<StdinData> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-score-stdin-'));
  const untrack = trackTemp(dir);
  const cleanup = async () => {
    await rm(dir, { recursive: true, force: true });
    untrack();
  };
  try {
    const file = join(dir, 'stdin.csv');
    await pipeline(input, createWriteStream(file, { flags: 'wx' }));
    const chosen = format ?? ((await firstByte(file)) === '{' ? 'jsonl' : 'csv');
    if (chosen === 'csv') return { format: chosen, csv: file, cleanup };
    return { format: chosen, rows: { name: 'stdin', chunks: jsonLines(file, chunkRows) }, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

async function firstByte(file: string): Promise<string | undefined> {
  const handle = await open(file);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    return /\S/.exec(buffer.subarray(0, bytesRead).toString('utf8'))?.[0];
  } finally {
    await handle.close();
  }
}

/** JSON lines in chunks of `chunkRows` objects; blank lines are skipped; a line that is not a JSON object is an error naming it. */
async function* jsonLines(file: string, chunkRows: number): AsyncGenerator<{ rows: Record<string, unknown>[]; line: number }> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let rows: Record<string, unknown>[] = [];
  let first = 0;
  let n = 0;
  let seen = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      throw new Error(`stdin line ${n}: invalid JSON: ${(e as Error).message}`);
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new Error(`stdin line ${n}: expected a JSON object of field values`);
    if (rows.length === 0) first = n;
    rows.push(row as Record<string, unknown>);
    seen++;
    if (rows.length === chunkRows) {
      yield { rows, line: first };
      rows = [];
    }
  }
  if (seen === 0) throw new Error('stdin: no rows');
  if (rows.length > 0) yield { rows, line: first };
}

/**
 * Predictions streamed to `out` (stdout) as they are scored: CSV with a
 * header, or one JSON object per row (keys as read, scores as numbers).
 */
export function streamSink(out: Writable, format: StreamFormat): PredictionSink {
  let columns: OutputColumn[] = [];
  let failed: Error | undefined;
  out.on('error', (e) => (failed ??= e));
  const write = async (text: string) => {
    if (failed) throw new Error(`cannot write the predictions: ${failed.message}`);
    if (!out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  };
  return {
    open(cols) {
      columns = cols;
      if (format === 'csv') out.write(cols.map((c) => csvCell(c.name)).join(',') + '\n');
    },
    async writeColumns(values, n) {
      const lines = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        if (format === 'csv') {
          lines[i] = columns.map((_, c) => csvCell(values[c]![i])).join(',');
        } else {
          const row: Record<string, unknown> = {};
          columns.forEach((col, c) => (row[col.name] = col.type === 'FLOAT' ? Number(values[c]![i]) : values[c]![i]));
          lines[i] = JSON.stringify(row);
        }
      }
      await write(lines.join('\n') + '\n');
    },
    close() {
      return failed ? Promise.reject(new Error(`cannot write the predictions: ${failed.message}`)) : Promise.resolve();
    },
  };
}
