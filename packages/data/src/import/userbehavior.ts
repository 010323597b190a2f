import { withAtomicOutput } from '@esm2/core/node';
import type { BadRowOptions, BadRowReport } from '../bad-rows.js';
import { outputFormat } from '../read/detect.js';
import { sqlString, withConnection } from '../read/duckdb.js';
import { runWithProgress } from '../read/progress.js';
import { fromClause, openTable } from '../read/table.js';
import { refuseImportPaths } from './paths.js';
import { problemExpr, validateRows, type SqlRule } from './validate-sql.js';

export interface UserBehaviorOptions extends BadRowOptions {
  onProgress?: (stage: string, fraction: number) => void;
}

export interface UserBehaviorReport extends BadRowReport {
  events: number;
  rows: number;
  clicks: number;
  /** Rows with a cart or a fav after the click (the default DAction: their OR). */
  dactions: number;
  carts: number;
  favs: number;
  buys: number;
}

/** The Tianchi file has no header. */
export const USERBEHAVIOR_COLUMNS = ['user_id', 'item_id', 'category_id', 'behavior', 'timestamp'];

const RULES: SqlRule[] = [
  { column: 'user_id', when: `user_id IS NULL`, reason: 'missing value' },
  { column: 'item_id', when: `item_id IS NULL`, reason: 'missing value' },
  { column: 'category_id', when: `category_id IS NULL`, reason: 'missing value' },
  { column: 'behavior', when: `behavior IS NULL OR behavior NOT IN ('pv', 'cart', 'fav', 'buy')`, reason: `unknown behavior (expected pv, cart, fav or buy)` },
  { column: 'timestamp', when: `TRY_CAST("timestamp" AS BIGINT) IS NULL`, reason: 'unparsable timestamp (expected Unix seconds)' },
];

/**
 * Counts of a partition's events strictly before each pair's click time,
 * as log(1 + n). Events and queries are merged in time order with queries
 * first on ties, so an event in the same second as the click is not "known".
 */
function priorLogCount(name: string, partition: string[], eventFilter: string): string {
  const p = partition.join(', ');
  return `${name} AS (
    SELECT q_user AS user_id, q_item AS item_id, ln(1 + n) AS ${name} FROM (
      SELECT q_user, q_item, kind,
        sum(kind) OVER (PARTITION BY ${p} ORDER BY ts, kind ROWS UNBOUNDED PRECEDING) AS n
      FROM (
        SELECT ${p}, ts, 1 AS kind, CAST(NULL AS VARCHAR) AS q_user, CAST(NULL AS VARCHAR) AS q_item FROM ev WHERE ${eventFilter}
        UNION ALL
        SELECT ${p}, t0, 0, user_id, item_id FROM pairs))
    WHERE kind = 0)`;
}

/**
 * Taobao UserBehavior events → one row per (user, item) funnel.
 * click = the pair has a pv; its time t0 is the first pv (or, without
 * one, the first event). cart / fav = a cart / fav at or after the first
 * pv, kept as two label columns: the data config's inference takes DAction
 * as their OR, and `fit --daction cart` (or fav) picks one. buy = a buy at
 * or after the first pv (timestamps are whole seconds, so a same-second
 * action counts as following the view). Features use only
 * what was known before t0: ids, hour and weekday of t0 (China time), and
 * counts of earlier events. Rows come out in time order.
 */
export async function importUserBehavior(input: string, output: string, options: UserBehaviorOptions = {}): Promise<UserBehaviorReport> {
  const format = outputFormat(output);
  await refuseImportPaths(input, output, options);
  const table = await openTable(input, { header: false, columns: USERBEHAVIOR_COLUMNS });
  options.onProgress?.('validate', 0);
  const bad = await validateRows(table, RULES, options);
  options.onProgress?.('validate', 1);
  const src = fromClause(table, options.onBadRow === 'skip' ? `ub_rejects_${process.pid}` : undefined);
  const query = `
    WITH ev AS (
      SELECT user_id, item_id, category_id, behavior, CAST("timestamp" AS BIGINT) AS ts
      FROM ${src} WHERE ${problemExpr(RULES)} IS NULL),
    pairs AS (
      SELECT user_id, item_id,
        arg_min(category_id, ts) AS category_id,
        min(ts) FILTER (WHERE behavior = 'pv') AS first_pv,
        min(ts) AS first_event,
        max(ts) FILTER (WHERE behavior = 'cart') AS last_cart,
        max(ts) FILTER (WHERE behavior = 'fav') AS last_fav,
        max(ts) FILTER (WHERE behavior = 'buy') AS last_buy,
        coalesce(min(ts) FILTER (WHERE behavior = 'pv'), min(ts)) AS t0
      FROM ev GROUP BY user_id, item_id),
    ${priorLogCount('user_log_events', ['user_id'], 'true')},
    ${priorLogCount('user_log_buys', ['user_id'], `behavior = 'buy'`)},
    ${priorLogCount('item_log_views', ['item_id'], `behavior = 'pv'`)},
    ${priorLogCount('user_category_log_views', ['user_id', 'category_id'], `behavior = 'pv'`)}
    SELECT
      p.user_id, p.item_id, p.category_id,
      CAST(((p.t0 + 28800) % 86400) // 3600 AS INTEGER) AS hour,
      CAST(dayofweek(to_timestamp(p.t0 + 28800)) AS INTEGER) AS weekday,
      a.user_log_events, b.user_log_buys, c.item_log_views, d.user_category_log_views,
      CAST(p.first_pv IS NOT NULL AS TINYINT) AS click,
      CAST(coalesce(p.last_cart >= p.first_pv, false) AS TINYINT) AS cart,
      CAST(coalesce(p.last_fav >= p.first_pv, false) AS TINYINT) AS fav,
      CAST(coalesce(p.last_buy >= p.first_pv, false) AS TINYINT) AS buy,
      p.t0 AS ts
    FROM pairs p
    JOIN user_log_events a USING (user_id, item_id)
    JOIN user_log_buys b USING (user_id, item_id)
    JOIN item_log_views c USING (user_id, item_id)
    JOIN user_category_log_views d USING (user_id, item_id)
    ORDER BY p.t0, p.user_id, p.item_id`;
  return withAtomicOutput(output, (tmp) =>
    withConnection(async (con) => {
      const copyFormat = format === 'parquet' ? 'FORMAT parquet, COMPRESSION zstd' : `FORMAT csv, HEADER true, DELIMITER ${sqlString(output.toLowerCase().endsWith('.tsv') ? '\t' : ',')}`;
      await runWithProgress(con, `COPY (${query}) TO ${sqlString(tmp)} (${copyFormat})`, (f) => options.onProgress?.('funnels', f));
      const events = await con.runAndReadAll(`SELECT count(*) AS n FROM ${src} WHERE ${problemExpr(RULES)} IS NULL`);
      const readBack = format === 'parquet' ? `read_parquet(${sqlString(tmp)})` : `read_csv(${sqlString(tmp)}, header=true)`;
      const counts = await con.runAndReadAll(`SELECT count(*) AS n, sum(click) AS c, sum(greatest(cart, fav)) AS a, sum(cart) AS ca, sum(fav) AS f, sum(buy) AS b FROM ${readBack}`);
      const r = counts.getRowObjectsJson()[0]!;
      return {
        ...bad,
        events: Number(events.getRowObjectsJson()[0]!['n']),
        rows: Number(r['n']),
        clicks: Number(r['c'] ?? 0),
        dactions: Number(r['a'] ?? 0),
        carts: Number(r['ca'] ?? 0),
        favs: Number(r['f'] ?? 0),
        buys: Number(r['b'] ?? 0),
      };
    }),
  );
}
