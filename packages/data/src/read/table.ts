import { DataError } from '../errors.js';
import { withConnection, sqlString } from './duckdb.js';
import { detectFile, type FileKind } from './detect.js';
import { isBlank, readLines, splitCsvLine } from './lines.js';

export interface CsvOptions {
  /** Default: `,`, or tab for `.tsv`. */
  delimiter?: string;
  /** Default true. Headerless files need `columns`. */
  header?: boolean;
  /** Column names for a headerless file (or to rename a header's). */
  columns?: string[];
}

export interface ColumnInfo {
  name: string;
  /** DuckDB's type name; every CSV column is read as VARCHAR (parsing is ours, so errors can name the line). */
  type: string;
}

/** An opened input: what it is and what columns it has; rows come from `scanTable`. */
export interface Table {
  file: string;
  kind: FileKind;
  columns: ColumnInfo[];
  header: boolean;
  /** Parquet only: rows per row group, to name the row group of a bad row. */
  rowGroups?: number[];
}

export async function openTable(file: string, options: CsvOptions = {}): Promise<Table> {
  const kind = await detectFile(file);
  if (options.delimiter !== undefined) kind.delimiter = options.delimiter;
  if (kind.format === 'parquet') return openParquet(file, kind);
  const header = options.header ?? true;
  let names: string[] | undefined;
  if (header) {
    for await (const { text } of readLines(file, kind)) {
      if (isBlank(text)) continue;
      names = splitCsvLine(text, kind.delimiter).map((s) => s.trim());
      break;
    }
    if (names === undefined) throw new DataError({ file }, 'empty file');
  }
  if (options.columns) names = options.columns;
  if (names === undefined) throw new DataError({ file }, 'a file without a header needs its column names (columns option)');
  const seen = new Set<string>();
  for (const n of names) {
    if (n === '') throw new DataError({ file, where: 'line 1' }, 'empty column name in the header');
    if (seen.has(n)) throw new DataError({ file, where: 'line 1', column: n }, 'column appears twice in the header');
    seen.add(n);
  }
  return { file, kind, columns: names.map((name) => ({ name, type: 'VARCHAR' })), header };
}

async function openParquet(file: string, kind: FileKind): Promise<Table> {
  return withConnection(async (con) => {
    try {
      const desc = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
      const columns = desc.getRowObjectsJson().map((r) => ({ name: r['column_name'] as string, type: r['column_type'] as string }));
      const groups = await con.runAndReadAll(
        `SELECT row_group_id, any_value(row_group_num_rows) AS n FROM parquet_metadata(${sqlString(file)}) GROUP BY 1 ORDER BY 1`,
      );
      const rowGroups = groups.getRowObjectsJson().map((r) => Number(r['n']));
      return { file, kind, columns, header: false, rowGroups };
    } catch (err) {
      throw new DataError({ file }, `unreadable Parquet file: ${firstLine(err)}`);
    }
  });
}

/** The table's FROM clause. CSV columns are all VARCHAR: numbers are parsed by us, so a bad one names its line. */
export function fromClause(table: Table, rejectsTable?: string): string {
  const f = sqlString(table.file);
  if (table.kind.format === 'parquet') return `read_parquet(${f})`;
  const cols = table.columns.map((c) => `${sqlString(c.name)}: 'VARCHAR'`).join(', ');
  const opts = [
    `delim=${sqlString(table.kind.delimiter)}`,
    `header=${table.header}`,
    `quote='"'`,
    `escape='"'`,
    `auto_detect=false`,
    `columns={${cols}}`,
    `compression=${sqlString(table.kind.compression === 'none' ? 'none' : table.kind.compression)}`,
  ];
  if (rejectsTable) opts.push(`store_rejects=true`, `rejects_table=${sqlString(rejectsTable)}`, `rejects_scan=${sqlString(rejectsTable + '_scan')}`);
  return `read_csv(${f}, ${opts.join(', ')})`;
}

export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.replace(/^[A-Za-z ]+Error: /, '');
}
