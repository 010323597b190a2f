import { parseDataConfig, type DataConfigInput } from './config.js';
import { resolveConfig } from './infer.js';
import { sqlIdent, withConnection } from './read/duckdb.js';
import { runWithProgress } from './read/progress.js';
import { fromClause, openTable, type CsvOptions } from './read/table.js';
import { DataError } from './errors.js';

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

/** Row count, funnel rates and distinct values per field, computed by DuckDB in one aggregate pass. */
export async function inspectFile(file: string, config?: DataConfigInput, csv: CsvOptions = {}, onProgress?: (f: number) => void): Promise<InspectReport> {
  const cfg = parseDataConfig(config ?? {});
  const table = await openTable(file, { ...cfg.csv, ...csv });
  const resolved = await resolveConfig(table, cfg);
  const num = (c: string) => `TRY_CAST(${sqlIdent(c)} AS DOUBLE)`;
  const dExpr = resolved.labels.daction.length ? `greatest(${resolved.labels.daction.map(num).join(', ')})` : '0';
  const aggs = [
    'count(*) AS n',
    `sum(${num(resolved.labels.click)}) AS clicks`,
    `sum(${dExpr}) AS dactions`,
    `sum(${num(resolved.labels.buy)}) AS buys`,
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
    const clicks = Number(r['clicks'] ?? 0);
    const dactions = Number(r['dactions'] ?? 0);
    const buys = Number(r['buys'] ?? 0);
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
