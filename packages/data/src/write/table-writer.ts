import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { AtomicOutput, asWriteError, checkOutputPath, withAtomicOutput } from '@esm2/core/node';
import { outputFormat, type FileFormat } from '../read/detect.js';
import { sqlString, withConnection } from '../read/duckdb.js';

export type OutputType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'FLOAT' | 'TINYINT';
export interface OutputColumn {
  name: string;
  type: OutputType;
}

/**
 * Writes rows to a CSV or Parquet file atomically: rows stream to a
 * temporary CSV (flat memory however many rows), which `commit` renames
 * into place or, for Parquet, has DuckDB convert with the declared types.
 * `abort` (or any failure, a full disk included) removes every temporary
 * file, and a write error surfaces at the next call, naming `path`.
 */
export class TableWriter {
  private readonly format: FileFormat;
  /** The temporary CSV: the output itself (CSV) or DuckDB's input (Parquet). */
  private readonly csv: AtomicOutput;
  private readonly out: WriteStream;
  private readonly sep: string;
  private failed: Error | undefined;
  rows = 0;

  constructor(
    readonly path: string,
    readonly columns: OutputColumn[],
  ) {
    this.format = outputFormat(path);
    this.sep = path.toLowerCase().endsWith('.tsv') ? '\t' : ',';
    this.csv = new AtomicOutput(path, { suffix: '.csv' });
    this.out = createWriteStream(this.csv.tmp, { flags: 'wx' });
    this.out.on('error', (e) => (this.failed ??= asWriteError(e, path, [this.csv.tmp])));
    this.out.write(columns.map((c) => this.cell(c.name)).join(this.sep) + '\n');
  }

  /** Writes `n` rows given column-major values (in `columns` order). Waits when the disk is behind; throws once a write failed. */
  async writeColumns(values: ArrayLike<unknown>[], n: number): Promise<void> {
    if (this.failed) throw this.failed;
    const width = this.columns.length;
    const lines = new Array<string>(n);
    const cells = new Array<string>(width);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < width; c++) cells[c] = this.cell(values[c]![i]);
      lines[i] = cells.join(this.sep);
    }
    this.rows += n;
    if (!this.out.write(lines.join('\n') + '\n')) await this.drained();
  }

  async writeRow(values: unknown[]): Promise<void> {
    await this.writeColumns(values.map((v) => [v]), 1);
  }

  /** Until the stream wants more; a failed (destroyed) stream never drains, so an error or close ends the wait too. */
  private drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('error', done);
        this.out.off('close', done);
        if (this.failed) reject(this.failed);
        else if (this.out.destroyed) reject(new Error(`cannot write ${this.path}: the output stream was closed`));
        else resolve();
      };
      if (this.failed || this.out.destroyed) return done();
      this.out.on('drain', done);
      this.out.on('error', done);
      this.out.on('close', done);
    });
  }

  async commit(): Promise<void> {
    try {
      if (this.failed) throw this.failed;
      this.out.end();
      try {
        await finished(this.out);
      } catch (e) {
        throw this.failed ?? asWriteError(e, this.path, [this.csv.tmp]);
      }
      // The stream's 'error' listener may have run meanwhile.
      const late = this.failure();
      if (late) throw late;
      if (this.format === 'csv') {
        await this.csv.commit();
        return;
      }
      const types = this.columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ');
      await withAtomicOutput(
        this.path,
        (tmpParquet) =>
          withConnection((con) =>
            con.run(
              `COPY (SELECT * FROM read_csv(${sqlString(this.csv.tmp)}, delim=',', header=true, quote='"', escape='"', auto_detect=false, columns={${types}})) ` +
                `TO ${sqlString(tmpParquet)} (FORMAT parquet, COMPRESSION zstd)`,
            ),
          ),
        { suffix: '.parquet' },
      );
    } finally {
      await this.csv.discard();
    }
  }

  private failure(): Error | undefined {
    return this.failed;
  }

  async abort(): Promise<void> {
    this.out.destroy();
    await this.csv.discard();
  }

  private cell(v: unknown): string {
    return csvCell(v, this.sep);
  }
}

/** A value as one CSV cell: empty for null, quoted when it holds the separator, a quote or a line break. */
export function csvCell(v: unknown, sep = ','): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const s = cellText(v);
  return s.includes(sep) || s.includes('"') || s.includes('\n') || s.includes('\r') ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A non-number cell as text: lists joined with `|` (the multi-value separator). */
function cellText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.join('|');
  return JSON.stringify(v) ?? '';
}

/** Runs `fn` with a writer and commits, or aborts on any error: no half-written outputs. */
export async function writeTable<T>(path: string, columns: OutputColumn[], fn: (w: TableWriter) => Promise<T>): Promise<T> {
  await checkOutputPath(path); // a directory or a missing folder fails now, not after every row is made
  const w = new TableWriter(path, columns);
  try {
    const r = await fn(w);
    await w.commit();
    return r;
  } catch (err) {
    await w.abort();
    throw err;
  }
}
