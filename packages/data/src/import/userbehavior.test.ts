import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TableScan } from '../read/scan.js';
import { openTable } from '../read/table.js';
import { FIXTURES, fixturesRequired, tempDir } from '../testing/tmp.js';
import { HAND_LABELS, HAND_LOG, writeHandLog } from '../testing/userbehavior-log.js';
import { importUserBehavior } from './userbehavior.js';

const tmp = await tempDir();
const PER_USER = join(FIXTURES, 'taobao_userbehavior_peruser_10k.csv');
const SLICE = join(FIXTURES, 'taobao_userbehavior_timeslice_110k.csv');

async function readAll(file: string): Promise<Record<string, unknown>[]> {
  const table = await openTable(file);
  const names = table.columns.map((c) => c.name);
  const rows: Record<string, unknown>[] = [];
  for await (const chunk of new TableScan(table, names, false).chunks()) {
    for (let i = 0; i < chunk.length; i++) rows.push(Object.fromEntries(names.map((n, k) => [n, chunk.columns[k]![i]])));
  }
  return rows;
}

const fixtures = fixturesRequired();

describe.runIf(fixtures.run)('importUserBehavior on the real fixtures', () => {
  beforeAll(fixtures.check);
  /*
   * Expected counts were computed independently with awk over the raw files:
   * per (user,item) pair, first_pv = min pv timestamp; click = has a pv;
   * cart = max cart timestamp >= first_pv, fav likewise, daction = cart or fav;
   * buy = max buy timestamp >= first_pv.
   *   awk -F, '{k=$1 SUBSEP $2; p[k]=1; if($4=="pv"&&(!(k in f)||$5<f[k]))f[k]=$5; ...}'
   * (per-user file: 79 carts + 24 favs, 2 rows with both = 101 DActions; slice: 80 + 31, none with both.)
   */
  it('counts the per-user 10k histories exactly', async () => {
    const r = await importUserBehavior(PER_USER, tmp('peruser.csv'));
    expect(r).toMatchObject({ events: 10000, rows: 7854, clicks: 7383, dactions: 101, carts: 79, favs: 24, buys: 87, skipped: 0 });
  });

  it('counts the 110k time slice funnels exactly', async () => {
    const r = await importUserBehavior(SLICE, tmp('slice.parquet'));
    // 110,300 events (pv 98,361 · cart 6,063 · fav 3,383 · buy 2,493, per the data README and awk).
    expect(r).toMatchObject({ events: 110300, rows: 108243, clicks: 96823, dactions: 111, carts: 80, favs: 31, buys: 128, skipped: 0 });
    const rows = await readAll(tmp('slice.parquet'));
    expect(rows).toHaveLength(108243);
    // Funnel consistency holds by construction.
    expect(rows.filter((x) => Number(x['click']) === 0 && (Number(x['cart']) === 1 || Number(x['fav']) === 1 || Number(x['buy']) === 1))).toHaveLength(0);
  });

  it('cannot leak labels: deleting everything after a row\'s click leaves its features unchanged', async () => {
    const out = tmp('full.csv');
    await importUserBehavior(PER_USER, out);
    const full = await readAll(out);
    const events = (await readFile(PER_USER, 'utf8')).trim().split('\n').map((l) => l.split(','));
    const FEATURES = ['category_id', 'hour', 'weekday', 'user_log_events', 'user_log_buys', 'item_log_views', 'user_category_log_views'];
    // The rows where a leak would pay: clicked funnels that went on to a DAction or a purchase.
    const targets = full.filter((r) => r['cart'] === '1' || r['fav'] === '1' || r['buy'] === '1').slice(0, 12);
    expect(targets.length).toBe(12);
    for (const t of targets) {
      const t0 = Number(t['ts']);
      // The world as it was at the click: earlier events plus the click itself.
      const known = events.filter(([, , , , ts]) => Number(ts) < t0);
      known.push([String(t['user_id']), String(t['item_id']), String(t['category_id']), 'pv', String(t0)]);
      const pair = `${String(t['user_id'])}-${String(t['item_id'])}`;
      const file = tmp(`cut-${pair}.csv`);
      await writeFile(file, known.map((e) => e.join(',')).join('\n') + '\n');
      const outCut = tmp(`cut-${pair}.out.csv`);
      await importUserBehavior(file, outCut);
      const row = (await readAll(outCut)).find((r) => r['user_id'] === t['user_id'] && r['item_id'] === t['item_id'])!;
      expect(row['cart'], 'the truncated log has no post-click events').toBe('0');
      expect(row['fav']).toBe('0');
      expect(row['buy']).toBe('0');
      for (const f of FEATURES) expect(row[f], `${f} of ${pair}`).toBe(t[f]);
    }
  });
});

describe('importUserBehavior labels', () => {
  it('writes cart and fav as separate label columns; the report counts their OR as DActions', async () => {
    const input = tmp('hand.csv');
    await writeHandLog(input);
    const out = tmp('hand.out.csv');
    const r = await importUserBehavior(input, out);
    expect(r).toMatchObject({ events: HAND_LOG.length, rows: 7, clicks: 6, carts: 2, favs: 2, dactions: 3, buys: 2 });
    const header = (await readFile(out, 'utf8')).split('\n')[0]!.split(',');
    expect(header).toEqual([
      'user_id', 'item_id', 'category_id', 'hour', 'weekday',
      'user_log_events', 'user_log_buys', 'item_log_views', 'user_category_log_views',
      'click', 'cart', 'fav', 'buy', 'ts',
    ]);
    const rows = (await readAll(out)).map((x) => ['user_id', 'item_id', 'click', 'cart', 'fav', 'buy'].map((k) => Number(x[k])));
    expect(rows).toEqual(HAND_LABELS.map((l) => [...l]));
  });
});

describe('importUserBehavior bad input', () => {
  const good = '1,10,100,pv,1511600000\n1,10,100,cart,1511600005\n2,11,100,pv,1511600010\n';

  it('stops at an unknown behaviour naming file, line and column, leaving no output', async () => {
    const input = tmp('bad-behavior.csv');
    await writeFile(input, good + '3,12,100,click,1511600020\n');
    const out = tmp('bad-behavior.out.parquet');
    await expect(importUserBehavior(input, out)).rejects.toThrow(`${input}, line 4, column 'behavior': unknown behavior (expected pv, cart, fav or buy)`);
    expect(existsSync(out)).toBe(false);
  });

  it('names an unparsable timestamp', async () => {
    const input = tmp('bad-ts.csv');
    await writeFile(input, good + '3,12,100,pv,yesterday\n');
    await expect(importUserBehavior(input, tmp('bad-ts.out.csv'))).rejects.toThrow(`${input}, line 4, column 'timestamp': unparsable timestamp (expected Unix seconds)`);
  });

  it('in skip mode, drops bad rows into the reject file and counts them', async () => {
    const input = tmp('skip.csv');
    await writeFile(input, '3,12,100,click,1511600020\n' + good + '4,13,100,pv\n');
    const rejectFile = tmp('skip.rejects.csv');
    const r = await importUserBehavior(input, tmp('skip.out.csv'), { onBadRow: 'skip', rejectFile });
    expect(r).toMatchObject({ skipped: 2, events: 3, rows: 2, clicks: 2, dactions: 1, carts: 1, favs: 0, buys: 0, rejectFile });
    expect(await readFile(rejectFile, 'utf8')).toBe(
      'where,column,reason,record\n' +
        'line 1,behavior,"unknown behavior (expected pv, cart, fav or buy)","3,12,100,click,1511600020"\n' +
        'line 5,timestamp,"expected 5 columns, found 4","4,13,100,pv"\n',
    );
  });

  it('reports an empty file', async () => {
    const input = tmp('empty.csv');
    await writeFile(input, '');
    await expect(importUserBehavior(input, tmp('empty.out.csv'))).rejects.toThrow(`${input}: empty file`);
  });
});
