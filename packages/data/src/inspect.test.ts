import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fitEncoders } from './encode/fit.js';
import { DataError } from './errors.js';
import { inspectFile } from './inspect.js';
import { withConnection, sqlString } from './read/duckdb.js';
import { writeSynthetic } from './synthetic/generate.js';
import { tempDir } from './testing/tmp.js';

const tmp = await tempDir();
const HEADER = 'user_id,item_id,price,click,daction,buy';
const GOOD = ['u1,i1,1.5,1,0,0', 'u2,i2,2.5,0,0,0', 'u3,i1,3.5,1,1,1', 'u1,i2,4.5,1,0,1'];

async function write(name: string, lines: string[]): Promise<string> {
  const file = tmp(name);
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

describe('inspectFile', () => {
  it('counts the funnel of a clean file', async () => {
    const r = await inspectFile(await write('good.csv', [HEADER, ...GOOD]), { numeric: ['price'] });
    expect({ rows: r.rows, clicks: r.clicks, dactions: r.dactions, buys: r.buys }).toEqual({ rows: 4, clicks: 3, dactions: 1, buys: 2 });
    expect(r.ctr).toBe(0.75);
    expect(r.buyPerClick).toBeCloseTo(2 / 3, 12);
  });

  it('agrees with DuckDB on a generated Parquet file', async () => {
    const file = tmp('gen.parquet');
    const data = await writeSynthetic(file, { rows: 5000, seed: 4 });
    const r = await inspectFile(file, data.config);
    const [sums] = await withConnection(async (con) =>
      (await con.runAndReadAll(`SELECT count(*) AS n, sum(click) AS c, sum(daction) AS d, sum(buy) AS b FROM read_parquet(${sqlString(file)})`)).getRowObjectsJson(),
    );
    expect([r.rows, r.clicks, r.dactions, r.buys]).toEqual([sums!['n'], sums!['c'], sums!['d'], sums!['b']].map(Number));
  });

  // The labels `fit` refuses; inspect used to print rates from them (negative, above 100 %).
  const cases: [string, string, string][] = [
    ['click=yes', 'u4,i2,1,yes,0,0', "line 4, column 'click': unparsable number 'yes'"],
    ['click=2', 'u4,i2,1,2,0,0', "line 4, column 'click': label must be 0 or 1, got '2'"],
    ['buy=-1', 'u4,i2,1,1,0,-1', "line 4, column 'buy': label must be 0 or 1, got '-1'"],
    ['buy without click', 'u4,i2,1,0,0,1', "line 4, column 'buy': buy=1 but click=0"],
    ['daction without click', 'u4,i2,1,0,1,0', "line 4, column 'daction': daction=1 but click=0"],
  ];
  for (const [what, row, message] of cases) {
    it(`refuses ${what}, naming file, line and column, as fit does`, async () => {
      const file = await write(`${what.replaceAll(' ', '-')}.csv`, [HEADER, GOOD[0]!, GOOD[1]!, row, GOOD[2]!]);
      const err = await inspectFile(file, { numeric: ['price'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toBe(`${file}, ${message}`);
      await expect(fitEncoders(file, { numeric: ['price'] })).rejects.toThrow((err as Error).message);
    });
  }
});
