import { parseDataConfig, type DataConfigInput } from './config.js';
import { resolveConfig } from './infer.js';
import { sqlIdent, withConnection } from './read/duckdb.js';
import { runWithProgress } from './read/progress.js';
import { fromClause, openTable, type CsvOptions } from './read/table.js';
import { DataError } from './errors.js';
import { BadRows } from './bad-rows.js';
import type { BadCell } from './encode/encoders.js';
import { encodeLabels } from './encode/labels.js';
import { TableScan } from './read/scan.js';
import type { ResolvedConfig } from './infer.js';
import type { Table } from './read/table.js';

export interface InspectReport {
  file: string;
  format: string;
  rows: number;
  labels: { click: string; daction: string[]; buy: string };
  /** Funnel counts and rates: CTR over impressions, DAction and CVR over clicks. */
  clicks: number;
  dactions: number;
  buys: number;
  ctr: number;
  dactionPerClick: number;
  buyPerClick: number;
  buyPerImpression: number;
  fields: { name: string; column: string; kind: string; distinct: number; nulls: number }[];
}

/**
 * Funnel counts from labels checked exactly as `fit` checks them (0/1
 * values, DAction and purchase only after a click): the first bad label
 * stops with its file, line and column, so no impossible rate is printed.
 */
async function countLabels(table: Table, labels: ResolvedConfig['labels']): Promise<{ clicks: number; dactions: number; buys: number }> {
  const select = [...new Set([labels.click, ...labels.daction, labels.buy])].filter((c) => table.columns.some((t) => t.name === c));
  const index = new Map(select.map((c, i) => [c, i]));
  const bad = await BadRows.open(table, { onBadRow: 'error' });
  const scan = new TableScan(table, select, false, undefined, new Set(select));
  const totals = { clicks: 0, dactions: 0, buys: 0 };
  for await (const chunk of scan.chunks()) {
    const n = chunk.length;
    const cells = new Map<number, BadCell>();
    const flag = (row: number, column: string, reason: string) => void (cells.has(row) || cells.set(row, { row, column, reason }));
    const y = encodeLabels(labels, (c) => (index.has(c) ? chunk.columns[index.get(c)!] : undefined), n, flag);
    await bad.handle(chunk.start, [...cells.values()].sort((a, b) => a.row - b.row));
    for (let i = 0; i < n; i++) {
      totals.clicks += y.click[i]!;
      totals.dactions += y.daction[i]!;
      totals.buys += y.buy[i]!;
    }
  }
  return totals;
}

/**
 * Row count, funnel rates and distinct values per field. Labels are
 * validated first (as `fit` does); the rest is one DuckDB aggregate pass.
 */
export async function inspectFile(file: string, config?: DataConfigInput, csv: CsvOptions = {}, onProgress?: (f: number) => void): Promise<InspectReport> {
  const cfg = parseDataConfig(config ?? {});
  const table = await openTable(file, { ...cfg.csv, ...csv });
  const resolved = await resolveConfig(table, cfg);
  const { clicks, dactions, buys } = await countLabels(table, resolved.labels);
  const aggs = [
    'count(*) AS n',
    ...resolved.fields.flatMap((f, i) => [
      f.kind === 'multiCategorical'
        ? `(SELECT 0) AS d${i}`
        : `count(DISTINCT ${sqlIdent(f.column)}) AS d${i}`,
      `count(*) - count(${sqlIdent(f.column)}) AS z${i}`,
    ]),
  ];
  return withConnection(async (con) => {
    await runWithProgress(con, `CREATE TEMP TABLE inspect_result AS SELECT ${aggs.join(', ')} FROM ${fromClause(table)}`, onProgress);
    const r = (await con.runAndReadAll(`SELECT * FROM inspect_result`)).getRowObjectsJson()[0]!;
    await con.run('DROP TABLE inspect_result');
    const multi = resolved.fields.filter((f) => f.kind === 'multiCategorical');
    const multiDistinct = new Map<string, number>();
    for (const f of multi) {
      const q = `SELECT count(DISTINCT v) AS d FROM (SELECT unnest(string_split(${sqlIdent(f.column)}::VARCHAR, '|')) AS v FROM ${fromClause(table)})`;
      multiDistinct.set(f.name, Number((await con.runAndReadAll(q)).getRowObjectsJson()[0]!['d']));
    }
    const rows = Number(r['n']);
    if (rows === 0) throw new DataError({ file }, 'empty file (no data rows)');
    return {
      file,
      format: table.kind.format + (table.kind.compression !== 'none' ? `+${table.kind.compression}` : ''),
      rows,
      labels: resolved.labels,
      clicks,
      dactions,
      buys,
      ctr: clicks / rows,
      dactionPerClick: clicks ? dactions / clicks : 0,
      buyPerClick: clicks ? buys / clicks : 0,
      buyPerImpression: buys / rows,
      fields: resolved.fields.map((f, i) => ({
        name: f.name,
        column: f.column,
        kind: f.kind,
        distinct: f.kind === 'multiCategorical' ? multiDistinct.get(f.name)! : Number(r[`d${i}`]),
        nulls: Number(r[`z${i}`]),
      })),
    };
  });
}
