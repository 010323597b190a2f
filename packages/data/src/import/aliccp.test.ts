import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TableScan } from '../read/scan.js';
import { openTable } from '../read/table.js';
import { FIXTURES, fixturesRequired, tempDir } from '../testing/tmp.js';
import { importAliccp } from './aliccp.js';

const tmp = await tempDir();
const PADDLE = join(FIXTURES, 'aliccp_paddlerec_esmm_small_train.txt');
const ENCODED = join(FIXTURES, 'aliccp_torchrechub_train_sample.csv');

async function readAll(file: string) {
  const table = await openTable(file);
  const names = table.columns.map((c) => c.name);
  const rows: Record<string, unknown>[] = [];
  for await (const chunk of new TableScan(table, names, false).chunks()) {
    for (let i = 0; i < chunk.length; i++) rows.push(Object.fromEntries(names.map((n, k) => [n, chunk.columns[k]![i]])));
  }
  return { names, rows };
}

const fixtures = fixturesRequired();

describe.runIf(fixtures.run)('importAliccp on the real fixtures', () => {
  beforeAll(fixtures.check);
  it('imports the PaddleRec raw lines: 10 samples, 2 clicks, 1 purchase', async () => {
    // Counted with: awk -F, '{c+=$2; b+=$3; n++} END {print n, c, b}' → 10 2 1
    const out = tmp('paddle.parquet');
    const r = await importAliccp(PADDLE, out);
    expect(r).toMatchObject({ variant: 'lines', rows: 10, clicks: 2, buys: 1, droppedFeatures: 0, skipped: 0 });
    const { names, rows } = await readAll(out);
    expect(names.slice(0, 4)).toEqual(['sample_id', 'click', 'buy', 'f101']);
    // Row 1 repeats field 109_14 117 times and 150_14 191 times (awk over its field:id tokens).
    expect(String(rows[0]!['f109_14']).split('|')).toHaveLength(117);
    expect(String(rows[0]!['f150_14']).split('|')).toHaveLength(191);
    // Field 126 never occurs in this sample; 508 is missing on 2 of the 10 rows.
    expect(rows.every((x) => x['f126'] === null)).toBe(true);
    expect(rows.filter((x) => x['f508'] === null)).toHaveLength(2);
  });

  it('imports the label-encoded CSV: 100 rows, 7 clicks, 1 purchase', async () => {
    // Counted with: awk -F, 'NR>1 {c+=$1; b+=$2; n++} END {print n, c, b}' → 100 7 1
    const out = tmp('encoded.csv');
    const r = await importAliccp(ENCODED, out);
    expect(r).toMatchObject({ variant: 'encoded', rows: 100, clicks: 7, buys: 1 });
    const { names } = await readAll(out);
    expect(names).toContain('f101');
    expect(names).toContain('D109_14');
    expect(names).not.toContain('purchase');
  });

  it('joins the raw skeleton with its common features', async () => {
    const f = (field: string, id: string) => `${field}\x02${id}\x031.0`;
    const skeleton = tmp('sample_skeleton_train.csv');
    const common = tmp('common_features_train.csv');
    await writeFile(common, [`c1,2,${[f('101', 'u1'), f('121', 'g1')].join('\x01')}`, `c2,1,${f('101', 'u2')}`].join('\n') + '\n');
    await writeFile(
      skeleton,
      [
        `s1,1,1,c1,2,${[f('205', 'i1'), f('210', 'n1')].join('\x01')}`,
        `s2,0,0,c1,2,${[f('205', 'i2'), f('210', 'n2')].join('\x01')}\x01${f('210', 'n3')}`,
        `s3,1,0,c2,1,${f('205', 'i1')}`,
      ].join('\n') + '\n',
    );
    const out = tmp('joined.csv');
    const r = await importAliccp(skeleton, out, { common });
    expect(r).toMatchObject({ variant: 'skeleton', rows: 3, clicks: 2, buys: 1 });
    const { rows } = await readAll(out);
    expect(rows.map((x) => [x['sample_id'], x['f101'], x['f121'], x['f205'], x['f210']])).toEqual([
      ['s1', 'u1', 'g1', 'i1', 'n1'],
      ['s2', 'u1', 'g1', 'i2', 'n2|n3'],
      ['s3', 'u2', null, 'i1', null],
    ]);
    const missing = tmp('skeleton-missing.csv');
    await writeFile(missing, `s1,1,0,c1,1,${f('205', 'i1')}\ns2,1,0,c9,1,${f('205', 'i1')}\n`);
    await expect(importAliccp(missing, tmp('x.csv'), { common })).rejects.toThrow(
      `${missing}, line 2, column 'common_feature_index': 'c9' is not in the common features file`,
    );
    await expect(importAliccp(skeleton, tmp('y.csv'))).rejects.toThrow('pass its common_features file (--common)');
  });
});

describe('importAliccp bad input', () => {
  it.runIf(fixtures.run)('refuses a common_features file for a form that does not use it, before writing anything', async () => {
    fixtures.check();
    const out = tmp('unused-common.csv');
    await expect(importAliccp(PADDLE, out, { common: ENCODED })).rejects.toThrow(`${PADDLE}: this is the per-line Ali-CCP form, which carries its own features; --common (${ENCODED}) is only for the raw skeleton file`);
    await expect(importAliccp(ENCODED, out, { common: PADDLE })).rejects.toThrow(/encoded CSV Ali-CCP form.*--common/);
    expect(existsSync(out)).toBe(false);
  });

  it('stops at a purchase without a click, naming line and column, and writes nothing', async () => {
    const input = tmp('nobuy.txt');
    await writeFile(input, '1,1,1,101:5,205:7\n2,0,1,101:6,205:8\n');
    const out = tmp('nobuy.csv');
    await expect(importAliccp(input, out)).rejects.toThrow(`${input}, line 2, column 'buy': buy=1 but click=0`);
    expect(existsSync(out)).toBe(false);
  });

  it('names a malformed feature token by its column', async () => {
    const input = tmp('token.txt');
    await writeFile(input, '1,1,0,101:5,205-7\n');
    await expect(importAliccp(input, tmp('token.csv'))).rejects.toThrow(`${input}, line 1, column 'column 5': expected field:feature_id, got '205-7'`);
  });

  it('in skip mode writes the reject file and counts', async () => {
    const input = tmp('skip.txt');
    await writeFile(input, '1,1,0,101:5,205:7\n2,0,1,101:6,205:8\n3,2,0,101:6,205:8\n4,0,0,101:6,205:9\n');
    const rejectFile = tmp('skip.rejects.csv');
    const r = await importAliccp(input, tmp('skip.csv'), { onBadRow: 'skip', rejectFile });
    expect(r).toMatchObject({ rows: 2, clicks: 1, buys: 0, skipped: 2 });
    expect(await readFile(rejectFile, 'utf8')).toBe(
      'where,column,reason,record\n' +
        'line 2,buy,buy=1 but click=0,"2,0,1,101:6,205:8"\n' +
        'line 3,click,"label must be 0 or 1, got \'2\'","3,2,0,101:6,205:8"\n',
    );
  });

  it('rejects an unsupported compression', async () => {
    const input = tmp('data.txt.bz2');
    await writeFile(input, Buffer.from('BZh91AY&SY'));
    await expect(importAliccp(input, tmp('bz.csv'))).rejects.toThrow(`${input}: unknown compression 'bzip2' (readable: none, gzip, zstd)`);
  });
});
