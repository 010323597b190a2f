import type { DuckDBConnection } from '@duckdb/node-api';
import { DataError } from '../errors.js';
import { connect } from './duckdb.js';
import { isBlank, readLines } from './lines.js';
import { sqlIdent } from './duckdb.js';
import { firstLine, fromClause, type Table } from './table.js';

/** A slice of rows, column-major; `start` is the index of its first row among the rows the scan produced. */
export interface RawChunk {
  start: number;
  length: number;
  /** One array per selected column, in `select` order: strings, numbers, bigints, booleans, lists or null. */
  columns: unknown[][];
}

/** A record DuckDB itself refused (wrong column count, broken quoting), found in skip mode. */
export interface EngineReject {
  line: number;
  column?: string;
  reason: string;
  record: string;
}

let scanCounter = 0;

/**
 * Streams the selected columns of a table in DuckDB's natural chunks (2048
 * rows), so memory stays flat however large the file. In skip mode, records
 * DuckDB cannot split are set aside (`engineRejects`) instead of stopping.
 */
export class TableScan {
  rows = 0;
  engineRejects: EngineReject[] = [];
  constructor(
    readonly table: Table,
    readonly select: string[],
    readonly skip: boolean,
    /** A computed SELECT list instead of plain columns (one value per entry of `select`). */
    readonly selectSql?: string,
    /**
     * CSV columns that should hold numbers: DuckDB parses them (decoding
     * numbers is much cheaper than strings in JS) and hands over the raw
     * text only where parsing failed, so errors still quote the cell.
     */
    readonly numeric: ReadonlySet<string> = new Set(),
  ) {}

  private sqlSelect(): { sql: string; pairs: boolean[] } {
    if (this.selectSql !== undefined) return { sql: this.selectSql, pairs: this.select.map(() => false) };
    const csv = this.table.kind.format === 'csv';
    const pairs = this.select.map((c) => csv && this.numeric.has(c));
    const sql = this.select
      .map((c, i) => {
        const id = sqlIdent(c);
        return pairs[i] ? `TRY_CAST(${id} AS DOUBLE), CASE WHEN TRY_CAST(${id} AS DOUBLE) IS NULL THEN ${id} END` : id;
      })
      .join(', ');
    return { sql, pairs };
  }

  async *chunks(): AsyncGenerator<RawChunk> {
    const con = await connect();
    const rejects = this.skip && this.table.kind.format === 'csv' ? `rejects_${process.pid}_${++scanCounter}` : undefined;
    const select = this.sqlSelect();
    try {
      let result;
      try {
        result = await con.stream(`SELECT ${select.sql} FROM ${fromClause(this.table, rejects)}`);
      } catch (err) {
        throw this.translate(err);
      }
      for (;;) {
        let chunk;
        try {
          chunk = await result.fetchChunk();
        } catch (err) {
          throw this.translate(err);
        }
        if (chunk === null || chunk.rowCount === 0) break;
        const n = chunk.rowCount;
        const columns: unknown[][] = [];
        let c = 0;
        for (const pair of select.pairs) {
          const v = chunk.getColumnVector(c++);
          const out = new Array<unknown>(n);
          for (let i = 0; i < n; i++) out[i] = v.getItem(i);
          if (pair) {
            const raw = chunk.getColumnVector(c++);
            for (let i = 0; i < n; i++) if (out[i] === null) out[i] = raw.getItem(i);
          }
          columns.push(out);
        }
        yield { start: this.rows, length: n, columns };
        this.rows += n;
      }
      if (rejects) this.engineRejects = await readRejects(con, rejects, this.table);
    } finally {
      con.closeSync();
    }
  }

  /** DuckDB's CSV errors carry the line; restate them in our format. */
  private translate(err: unknown): Error {
    const msg = err instanceof Error ? err.message : String(err);
    const file = this.table.file;
    const line = /CSV Error on Line: (\d+)/.exec(msg);
    if (line) {
      const cols = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(msg);
      if (cols) {
        const expected = Number(cols[1]);
        const found = Number(cols[2]);
        const column = found < expected ? this.table.columns[found]?.name : undefined;
        return new DataError({ file, where: `line ${line[1]}`, column }, `expected ${expected} columns, found ${found}`);
      }
      const reason = msg.split('\n').find((l) => l.trim() !== '' && !l.startsWith('CSV Error') && !l.startsWith('Original Line'));
      return new DataError({ file, where: `line ${line[1]}` }, reason?.trim() ?? firstLine(err));
    }
    return new DataError({ file }, firstLine(err));
  }
}

async function readRejects(con: DuckDBConnection, table: string, t: Table): Promise<EngineReject[]> {
  // DuckDB logs one entry per missing column of a short line; a line is one reject.
  const r = await con.runAndReadAll(
    `SELECT DISTINCT ON (line) line, column_name, error_type, error_message, csv_line FROM ${table} ORDER BY line, column_idx`,
  );
  return r.getRowObjectsJson().map((row) => {
    const expected = t.columns.length;
    const message = row['error_message'] as string;
    const found = /Found: (\d+)/.exec(message);
    const reason = found ? `expected ${expected} columns, found ${found[1]}` : message;
    const col = found && Number(found[1]) < expected ? t.columns[Number(found[1])]?.name : undefined;
    return { line: Number(row['line']), column: col, reason, record: (row['csv_line'] as string).replace(/^\n+/, '') };
  });
}

/**
 * Where the scan's row `index` is in the file. For CSV this re-reads the
 * file's lines (only ever done for bad rows), skipping the header, blank
 * lines and records DuckDB set aside, exactly as DuckDB counted.
 */
export async function locateRows(
  table: Table,
  indices: number[],
  engineRejectLines: ReadonlySet<number> = new Set(),
): Promise<Map<number, { where: string; record?: string }>> {
  const out = new Map<number, { where: string; record?: string }>();
  if (indices.length === 0) return out;
  if (table.kind.format === 'parquet') {
    for (const idx of indices) out.set(idx, { where: parquetWhere(table.rowGroups ?? [], idx) });
    return out;
  }
  const wanted = new Set(indices);
  let record = -1;
  let headerSeen = !table.header;
  try {
    for await (const { line, text } of readLines(table.file, table.kind)) {
      if (isBlank(text)) continue;
      if (!headerSeen) {
        headerSeen = true;
        continue;
      }
      if (engineRejectLines.has(line)) continue;
      record++;
      if (wanted.has(record)) {
        out.set(record, { where: `line ${line}`, record: text });
        if (out.size === wanted.size) break;
      }
    }
  } catch {
    // A file we cannot re-read by lines (zstd): fall back to record numbers.
  }
  for (const idx of indices) if (!out.has(idx)) out.set(idx, { where: `record ${idx + 1}` });
  return out;
}

function parquetWhere(rowGroups: number[], index: number): string {
  let rest = index;
  for (const [g, n] of rowGroups.entries()) {
    if (rest < n) return `row group ${g}, row ${rest + 1}`;
    rest -= n;
  }
  return `row ${index + 1}`;
}
