import { BadRows, type BadRowOptions, type BadRowReport } from '../bad-rows.js';
import type { EncodedBlock, Encoders } from '../encode/encoders.js';
import { DataError } from '../errors.js';
import { TableScan } from '../read/scan.js';
import { openTable, type CsvOptions, type Table } from '../read/table.js';
import { dropRows } from './lanes.js';

export interface Progress {
  rows: number;
  /** Known for Parquet (row counts in the footer); undefined for CSV. */
  totalRows?: number;
}

export interface EncodedStreamOptions extends BadRowOptions {
  csv?: CsvOptions;
  /** Scoring data may lack labels; training and evaluation data must have them. Default true. */
  labels?: boolean;
  onProgress?: (p: Progress) => void;
  /** Called once the file is exhausted. */
  onDone?: (report: BadRowReport & { rows: number }) => void;
}

/** Streams a file as encoded blocks (file order), applying the bad-row policy. */
export async function* encodedStream(file: string, encoders: Encoders, options: EncodedStreamOptions = {}): AsyncGenerator<EncodedBlock> {
  const table = await openTable(file, { ...encoders.config.csv, ...options.csv });
  const present = new Set(table.columns.map((c) => c.name));
  const required = encoders.columns(options.labels ?? true).concat(encoders.config.keys);
  requireColumns(table, required);
  const optional = encoders.columns(true).concat(encoders.extraColumns()).filter((c) => present.has(c));
  const select = [...new Set([...required, ...optional])];
  const index = new Map(select.map((c, i) => [c, i]));
  const bad = await BadRows.open(table, options);
  const scan = new TableScan(table, select, bad.policy === 'skip', undefined, numericColumns(encoders));
  const totalRows = totalOf(table);
  let rows = 0;
  for await (const chunk of scan.chunks()) {
    const { block, bad: cells } = encoders.encodeColumns((c) => {
      const i = index.get(c);
      return i === undefined ? undefined : chunk.columns[i];
    }, chunk.length);
    const drop = await bad.handle(chunk.start, cells);
    const kept = dropRows(block, drop);
    rows += kept.size;
    options.onProgress?.({ rows: chunk.start + chunk.length, totalRows });
    yield kept;
  }
  if (scan.rows === 0 && scan.engineRejects.length === 0) throw new DataError({ file }, 'empty file (no data rows)');
  const report = await bad.finish(scan.engineRejects);
  options.onDone?.({ ...report, rows });
}

/** Refuses a table that lacks one of `columns`, naming the first missing one (at the header line of a CSV). */
export function requireColumns(table: Table, columns: readonly string[]): void {
  const present = new Set(table.columns.map((c) => c.name));
  const where = table.kind.format === 'csv' && table.header ? 'line 1 (header)' : undefined;
  for (const c of columns) if (!present.has(c)) throw new DataError({ file: table.file, where, column: c }, 'missing column');
}

/** Columns read as numbers: labels, numeric features, truth. */
function numericColumns(encoders: Encoders): Set<string> {
  const { labels, fields, truth } = encoders.config;
  return new Set([labels.click, ...labels.daction, labels.buy, ...fields.filter((f) => f.kind === 'numeric').map((f) => f.column), ...Object.values(truth)]);
}

export function totalOf(table: Table): number | undefined {
  return table.rowGroups?.reduce((a, b) => a + b, 0);
}
