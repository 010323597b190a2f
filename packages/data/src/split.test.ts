import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { mountTinyTmpfs } from '@esm2/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { withConnection, sqlString } from './read/duckdb.js';
import { dayCounts, splitFile, writeDays } from './split.js';
import { writeSynthetic } from './synthetic/generate.js';
import { tempDir } from './testing/tmp.js';

const tmp = await tempDir();
const source = tmp('all.parquet');
await writeSynthetic(source, { rows: 20_000, seed: 3 });

async function rows(path: string, sql: string): Promise<Record<string, unknown>[]> {
  return withConnection(async (con) => (await con.runAndReadAll(sql.replaceAll('$F', path.endsWith('.csv') ? `read_csv(${sqlString(path)})` : `read_parquet(${sqlString(path)})`))).getRowObjectsJson());
}

describe('splitFile', () => {
  it('random: every row exactly once, about the asked share in test, reproducible by seed', async () => {
    const r = await splitFile(source, tmp('tr.parquet'), tmp('te.csv'), { by: 'random', testFraction: 0.2, seed: 1 });
    expect(r.train + r.test).toBe(20_000);
    expect(r.test / 20_000).toBeGreaterThan(0.18);
    expect(r.test / 20_000).toBeLessThan(0.22);
    const [back] = await rows(tmp('te.csv'), 'SELECT count(*) AS n FROM $F');
    expect(Number(back!['n'])).toBe(r.test);
    const again = await splitFile(source, tmp('tr2.parquet'), tmp('te2.parquet'), { by: 'random', testFraction: 0.2, seed: 1 });
    expect(again).toEqual(r);
    const other = await splitFile(source, tmp('tr3.parquet'), tmp('te3.parquet'), { by: 'random', testFraction: 0.2, seed: 2 });
    expect(other.test).not.toBe(r.test);
  });

  it('group: no user on both sides', async () => {
    await splitFile(source, tmp('g-tr.parquet'), tmp('g-te.parquet'), { by: 'group', column: 'user_id', testFraction: 0.3, seed: 5 });
    const [both] = await rows(
      tmp('g-tr.parquet'),
      `SELECT count(*) AS n FROM (SELECT DISTINCT user_id FROM $F) a JOIN (SELECT DISTINCT user_id FROM read_parquet(${sqlString(tmp('g-te.parquet'))})) b USING (user_id)`,
    );
    expect(Number(both!['n'])).toBe(0);
  });

  it('time: every test row is later than every train row', async () => {
    const csv = tmp('timed.csv');
    await withConnection((con) => con.run(`COPY (SELECT *, (hash(user_id, item_id) % 100000) AS ts FROM read_parquet(${sqlString(source)})) TO ${sqlString(csv)} (FORMAT csv, HEADER true)`));
    const r = await splitFile(csv, tmp('t-tr.csv'), tmp('t-te.csv'), { by: 'time', column: 'ts', testFraction: 0.25, seed: 0 });
    const [a] = await rows(tmp('t-tr.csv'), 'SELECT max(ts) AS m FROM $F');
    const [b] = await rows(tmp('t-te.csv'), 'SELECT min(ts) AS m FROM $F');
    expect(Number(b!['m'])).toBeGreaterThan(Number(a!['m']));
    expect(r.test / (r.train + r.test)).toBeCloseTo(0.25, 1);
  });

  it('names a missing column and leaves no output behind', async () => {
    await expect(splitFile(source, tmp('x-tr.parquet'), tmp('x-te.parquet'), { by: 'group', column: 'member', testFraction: 0.2, seed: 1 })).rejects.toThrow(
      `${source}, column 'member': missing column`,
    );
    await expect(splitFile(source, tmp('x-tr.parquet'), tmp('x-te.parquet'), { by: 'random', testFraction: 1.5, seed: 1 })).rejects.toThrow('test fraction must be between 0 and 1, got 1.5');
    expect(existsSync(tmp('x-tr.parquet')) || existsSync(tmp('x-te.parquet'))).toBe(false);
  });

  it('refuses outputs that are the input or each other before touching anything', async () => {
    const input = tmp('precious.parquet');
    await copyFile(source, input);
    const digest = async () => createHash('sha256').update(await readFile(input)).digest('hex');
    const before = await digest();
    const mtime = (await stat(input)).mtimeMs;
    await symlink(input, tmp('alias.parquet'));
    const opts = { by: 'random', testFraction: 0.2, seed: 1 } as const;
    const relative = `${dirname(input)}/./${basename(input)}`;
    for (const [train, test, message] of [
      [input, tmp('ok-te.csv'), `--train ${input} is the same file as --in ${input}: --train would overwrite the input --in`],
      [tmp('ok-tr.csv'), relative, `--test ${relative} is the same file as --in ${input}`],
      [tmp('alias.parquet'), tmp('ok-te.csv'), `--train ${tmp('alias.parquet')} is the same file as --in ${input}`],
      [tmp('same.csv'), tmp('same.csv'), `--train ${tmp('same.csv')} is the same file as --test ${tmp('same.csv')}: --train and --test would overwrite each other`],
    ] as const) {
      await expect(splitFile(input, train, test, opts)).rejects.toThrow(message);
    }
    expect(await digest()).toBe(before);
    expect((await stat(input)).mtimeMs).toBe(mtime);
    for (const f of ['ok-tr.csv', 'ok-te.csv', 'same.csv']) expect(existsSync(tmp(f))).toBe(false);
  });
});

describe('dayCounts and writeDays', () => {
  const days = tmp('days.parquet');
  const ready = withConnection((con) => con.run(`COPY (SELECT (hash(user_id, item_id, price) % 3)::INTEGER AS day, * FROM read_parquet(${sqlString(source)}) ORDER BY 1) TO ${sqlString(days)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`));

  it('counts each day, and writes a range of days without the day column, the rows of those days in order', async () => {
    await ready;
    const counts = await dayCounts(days, 'day');
    const [all] = await rows(days, 'SELECT count(*) FILTER (WHERE day = 0) AS a, count(*) FILTER (WHERE day = 1) AS b, count(*) FILTER (WHERE day = 2) AS c FROM $F');
    expect(counts).toEqual([0, 1, 2].map((day, i) => ({ day, rows: Number(Object.values(all!)[i]) })));
    expect(counts.reduce((s, c) => s + c.rows, 0)).toBe(20_000);
    const written = await writeDays(days, 'day', { from: 1, to: 2 }, tmp('d12.parquet'));
    expect(written).toBe(counts[1]!.rows + counts[2]!.rows);
    const [shape] = await rows(tmp('d12.parquet'), 'SELECT count(*) AS n, count(DISTINCT user_id) AS u FROM $F');
    expect(Number(shape!['n'])).toBe(written);
    const columns = await rows(tmp('d12.parquet'), 'DESCRIBE SELECT * FROM $F');
    expect(columns.map((c) => c['column_name'])).not.toContain('day');
    // The same rows, in the same order, as the input's days 1 and 2.
    const [same] = await rows(
      tmp('d12.parquet'),
      `SELECT count(*) AS n FROM (SELECT row_number() OVER () AS i, * EXCLUDE (day) FROM read_parquet(${sqlString(days)}) WHERE day >= 1) a JOIN (SELECT row_number() OVER () AS i, * FROM $F) b ON a.i = b.i AND a.user_id = b.user_id AND a.item_id = b.item_id AND a.price = b.price`,
    );
    expect(Number(same!['n'])).toBe(written);
  });

  it('refuses a column that is missing, empty somewhere, or not whole numbers, naming the file and the column', async () => {
    await ready;
    await expect(dayCounts(days, 'date')).rejects.toThrow(`${days}, column 'date': missing column (the file has day, user_id`);
    await expect(dayCounts(days, 'price')).rejects.toThrow(new RegExp(`^${days}, column 'price': a day column needs a whole number in every row; found '[0-9.]+' \\(\\d+ such row\\(s\\)\\)$`));
    const gap = tmp('gap.csv');
    await writeFile(gap, 'day,user_id,click,buy\n0,a,0,0\n,b,0,0\n1,c,1,0\n');
    await expect(dayCounts(gap, 'day')).rejects.toThrow(`${gap}, column 'day': a day column needs a whole number in every row; found an empty cell (1 such row(s))`);
    expect(existsSync(tmp('nothing.csv'))).toBe(false);
    await expect(writeDays(days, 'date', { from: 0, to: 0 }, tmp('nothing.csv'))).rejects.toThrow(`column 'date': missing column`);
    expect(existsSync(tmp('nothing.csv'))).toBe(false);
  });
});

const disk = await mountTinyTmpfs('256k');
if ('reason' in disk) console.warn(`skipping the full-disk split test: ${disk.reason}`);
else afterAll(() => disk.unmount());

describe.skipIf('reason' in disk)('splitFile onto a full disk (256 KiB tmpfs)', () => {
  it("DuckDB's write error names the output, not its temp file; old outputs kept, no temp left", async () => {
    const dir = 'dir' in disk ? disk.dir : '';
    const [train, test] = [`${dir}/train.csv`, `${dir}/test.csv`];
    await writeFile(train, 'old train\n');
    const err = (await splitFile(source, train, test, { by: 'random', testFraction: 0.2, seed: 1 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(new RegExp(`^cannot write ${train}: .*${train}`));
    expect(err.message).not.toContain('.tmp-');
    expect(await readFile(train, 'utf8')).toBe('old train\n');
    expect(await readdir(dir)).toEqual(['train.csv']);
  });
});
