/**
 * Per-day statistics of a file written by `esm2-train data generate --days N`,
 * computed from the file alone with DuckDB (not from the generator's state):
 * rows, CTR, CVR (purchases per click), the mean true_pctr next to the CTR
 * (with --truth), the share of the day's impressions whose item (user) id
 * first appears that day, and whose item (user) id was already seen on day 0.
 *
 *   pnpm exec tsx scripts/world/day-stats.ts FILE [--json]
 */
import { parseArgs } from 'node:util';
import { connect, sqlString } from '../../packages/data/src/read/duckdb.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
const file = positionals[0];
if (!file) throw new Error('usage: day-stats.ts FILE [--json]');
const con = await connect();
const src = sqlString(file);
const cols = (await (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects()).map((r) => String(r.column_name));
if (!cols.includes('day')) throw new Error(`${file}: no day column (written without --days?)`);
const truth = cols.includes('true_pctr');
const sql = `
  WITH t AS (SELECT * FROM ${src}),
  fi AS (SELECT item_id, min(day) AS first FROM t GROUP BY item_id),
  fu AS (SELECT user_id, min(day) AS first FROM t GROUP BY user_id)
  SELECT t.day AS day, count(*)::INTEGER AS rows, avg(click) AS ctr, sum(buy) / sum(click) AS cvr,
    ${truth ? 'avg(true_pctr)' : 'NULL'} AS mean_true_pctr,
    avg((fi.first = t.day)::INTEGER) AS new_item_share, avg((fu.first = t.day)::INTEGER) AS new_user_share,
    avg((fi.first = 0)::INTEGER) AS item_known_day0, avg((fu.first = 0)::INTEGER) AS user_known_day0,
    count(DISTINCT t.item_id)::INTEGER AS items, count(DISTINCT t.user_id)::INTEGER AS users
  FROM t JOIN fi ON t.item_id = fi.item_id JOIN fu ON t.user_id = fu.user_id
  GROUP BY t.day ORDER BY t.day`;
const rows = (await (await con.runAndReadAll(sql)).getRowObjects()).map((r) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : Number(v)])),
);
if (values.json) console.log(JSON.stringify(rows, null, 2));
else {
  const pct = (x: number | null | undefined, d = 2) => (x == null ? '–' : `${(x * 100).toFixed(d)} %`);
  console.log('| day | rows | CTR | mean true_pctr | CVR | new items | items known from day 0 | new users | users known from day 0 | distinct items |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.day} | ${r.rows} | ${pct(r.ctr)} | ${pct(r.mean_true_pctr)} | ${pct(r.cvr)} | ${pct(r.new_item_share, 1)} | ${pct(r.item_known_day0, 1)} | ${pct(r.new_user_share, 1)} | ${pct(r.user_known_day0, 1)} | ${r.items} |`,
    );
}
con.closeSync();
