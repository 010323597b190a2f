import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fitEncoders } from '../encode/fit.js';
import { inspectFile } from '../inspect.js';
import { withConnection, sqlString } from '../read/duckdb.js';
import { tempDir } from '../testing/tmp.js';
import { openDataset } from './open.js';

const tmp = await tempDir();
const HEADER = 'user_id,item_id,price,click,daction,buy';
const GOOD = ['u1,i1,1.5,1,0,0', 'u2,i2,2.5,0,0,0', 'u3,i1,3.5,1,1,1'];

async function write(name: string, lines: string[]): Promise<string> {
  const file = tmp(name);
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

/** Fits on clean data, then reads `file` with those encoders: the path scoring and evaluation take. */
async function readWith(file: string, onBadRow: 'error' | 'skip' = 'error', rejectFile?: string) {
  const clean = await write(`clean-${Math.random()}.csv`, [HEADER, ...GOOD]);
  const encoders = await fitEncoders(clean, { numeric: ['price'] });
  let rows = 0;
  for await (const b of openDataset(file, { encoders, batchSize: 2, onBadRow, rejectFile })) rows += b.size;
  return rows;
}

describe('bad input names file, line and column', () => {
  const cases: [string, string[], string][] = [
    ['an unparsable number', [HEADER, ...GOOD, 'u4,i2,cheap,0,0,0'], "line 5, column 'price': unparsable number 'cheap'"],
    ['NaN', [HEADER, 'u4,i2,NaN,0,0,0'], "line 2, column 'price': not a number (NaN)"],
    ['an infinite value', [HEADER, ...GOOD, 'u4,i2,inf,0,0,0'], "line 5, column 'price': infinite value (Infinity)"],
    ['a missing number', [HEADER, 'u4,i2,,0,0,0'], "line 2, column 'price': missing value"],
    ['a DAction without a click', [HEADER, ...GOOD, 'u4,i2,1,0,1,0'], "line 5, column 'daction': daction=1 but click=0"],
    ['a purchase without a click', [HEADER, '', ...GOOD, 'u4,i2,1,0,0,1'], "line 6, column 'buy': buy=1 but click=0"],
    ['a label that is not 0/1', [HEADER, 'u4,i2,1,2,0,0'], "line 2, column 'click': label must be 0 or 1, got '2'"],
    ['a short row', [HEADER, ...GOOD, 'u4,i2,1,0'], "line 5, column 'daction': expected 6 columns, found 4"],
  ];
  for (const [what, lines, message] of cases) {
    it(`stops at ${what}`, async () => {
      const file = await write(`${what.replace(/[^a-z0-9]+/gi, '-')}.csv`, lines);
      await expect(readWith(file)).rejects.toThrow(`${file}, ${message}`);
    });
  }

  it('stops at a missing column, naming the header', async () => {
    const file = await write('missing-col.csv', ['user_id,item_id,click,daction,buy', 'u1,i1,1,0,0']);
    await expect(readWith(file)).rejects.toThrow(`${file}, line 1 (header), column 'price': missing column`);
    await expect(fitEncoders(file, { labels: { buy: 'purchase' } })).rejects.toThrow(`${file}, line 1 (header), column 'purchase': missing column`);
  });

  it('stops at a directory given as the file, naming it (every reader: fitting, reading, inspecting)', async () => {
    const dir = tmp('a-directory.csv');
    await mkdir(dir);
    const message = `${dir}: it is a directory, not a CSV, TSV or Parquet file`;
    await expect(fitEncoders(dir)).rejects.toThrow(message);
    await expect(readWith(dir)).rejects.toThrow(message);
    await expect(inspectFile(dir)).rejects.toThrow(message);
  });

  it('stops at an empty file, and a header-only file', async () => {
    const empty = await write('empty.csv', []);
    await writeFile(empty, '');
    await expect(fitEncoders(empty)).rejects.toThrow(`${empty}: empty file`);
    const headerOnly = await write('header-only.csv', [HEADER]);
    await expect(fitEncoders(headerOnly)).rejects.toThrow(`${headerOnly}: empty file (no data rows)`);
  });

  it('stops at an unknown compression, and reads gzip', async () => {
    const xz = tmp('data.csv.xz');
    await writeFile(xz, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04]));
    await expect(fitEncoders(xz)).rejects.toThrow(`${xz}: unknown compression 'xz' (readable: none, gzip, zstd)`);
    const gz = tmp('data.csv.gz');
    await writeFile(gz, gzipSync([HEADER, ...GOOD, 'u4,i2,x,0,0,0'].join('\n') + '\n'));
    await expect(readWith(gz)).rejects.toThrow(`${gz}, line 5, column 'price': unparsable number 'x'`);
  });

  it('names the row group of a bad Parquet row', async () => {
    const file = tmp('bad.parquet');
    await withConnection((con) =>
      con.run(
        `COPY (SELECT 'u' || i AS user_id, 'i' || (i % 7) AS item_id, CASE WHEN i = 2100 THEN 'nan'::DOUBLE ELSE i * 0.5 END AS price, ` +
          `1 AS click, 0 AS daction, 0 AS buy FROM range(6000) t(i) ORDER BY i) TO ${sqlString(file)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`,
      ),
    );
    await expect(readWith(file)).rejects.toThrow(`${file}, row group 1, row 53, column 'price': not a number (NaN)`);
  });
});

describe("onBadRow: 'skip'", () => {
  it('reads the good rows, counts the bad ones and writes them to the reject file', async () => {
    const file = await write('skip.csv', [HEADER, GOOD[0]!, 'u4,i2,cheap,0,0,0', '', GOOD[1]!, 'u5,i2,1', 'u6,i2,1,0,0,1', GOOD[2]!]);
    const rejectFile = tmp('skip.rejects.csv');
    expect(await readWith(file, 'skip', rejectFile)).toBe(3);
    expect(await readFile(rejectFile, 'utf8')).toBe(
      'where,column,reason,record\n' +
        "line 3,price,unparsable number 'cheap',\"u4,i2,cheap,0,0,0\"\n" +
        'line 6,click,"expected 6 columns, found 3","u5,i2,1"\n' +
        'line 7,buy,buy=1 but click=0,"u6,i2,1,0,0,1"\n',
    );
  });

  it('writes no reject file when every row is good', async () => {
    const file = await write('all-good.csv', [HEADER, ...GOOD]);
    expect(await readWith(file, 'skip', tmp('none.rejects.csv'))).toBe(3);
    expect(existsSync(tmp('none.rejects.csv'))).toBe(false);
  });
});
