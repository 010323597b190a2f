import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { outputFormat, type FileFormat } from '../read/detect.js';
import { sqlString, withConnection } from '../read/duckdb.js';
import { tempPathFor } from './atomic.js';

export type OutputType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'FLOAT' | 'TINYINT';
export interface OutputColumn {
  name: string;
  type: OutputType;
}

/**
 * Writes rows to a CSV or Parquet file atomically: rows stream to a
 * temporary CSV (flat memory however many rows), which `commit` renames
 * into place or, for Parquet, has DuckDB convert with the declared types.
 * `abort` (or any failure) removes every temporary file.
 */
export class TableWriter {
  private readonly format: FileFormat;
  private readonly tmpCsv: string;
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
    this.tmpCsv = tempPathFor(path, '.csv');
    this.out = createWriteStream(this.tmpCsv);
    this.out.on('error', (e) => (this.failed = e));
    this.out.write(columns.map((c) => this.cell(c.name)).join(this.sep) + '\n');
  }

  /** Writes `n` rows given column-major values (in `columns` order). Waits when the disk is behind. */
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
    if (!this.out.write(lines.join('\n') + '\n')) await new Promise<void>((r) => this.out.once('drain', r));
  }

  async writeRow(values: unknown[]): Promise<void> {
    await this.writeColumns(values.map((v) => [v]), 1);
  }

  async commit(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw this.failed;
    try {
      if (this.format === 'csv') {
        await rename(this.tmpCsv, this.path);
        return;
      }
      const tmpParquet = tempPathFor(this.path, '.parquet');
      try {
        const types = this.columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ');
        await withConnection((con) =>
          con.run(
            `COPY (SELECT * FROM read_csv(${sqlString(this.tmpCsv)}, delim=',', header=true, quote='"', escape='"', auto_detect=false, columns={${types}})) ` +
              `TO ${sqlString(tmpParquet)} (FORMAT parquet, COMPRESSION zstd)`,
          ),
        );
        await rename(tmpParquet, this.path);
      } finally {
        await rm(tmpParquet, { force: true });
      }
    } finally {
      await rm(this.tmpCsv, { force: true });
    }
  }

  async abort(): Promise<void> {
    this.out.destroy();
    await rm(this.tmpCsv, { force: true });
  }

  private cell(v: unknown): string {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return String(v);
    const s = Array.isArray(v) ? v.join('|') : String(v);
    return s.includes(this.sep) || s.includes('"') || s.includes('\n') || s.includes('\r') ? `"${s.replaceAll('"', '""')}"` : s;
  }
}

/** Runs `fn` with a writer and commits, or aborts on any error: no half-written outputs. */
export async function writeTable<T>(path: string, columns: OutputColumn[], fn: (w: TableWriter) => Promise<T>): Promise<T> {
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
