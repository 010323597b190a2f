import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { WriteStream } from 'node:fs';
import { liveTemps, WriteError } from '@esm2/core/node';
import { mountTinyTmpfs } from '@esm2/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { sqlString, withConnection } from '../read/duckdb.js';
import { writeSynthetic } from '../synthetic/generate.js';
import { tempDir } from '../testing/tmp.js';
import { writeTable, type OutputColumn } from './table-writer.js';

const tmp = await tempDir();
const columns: OutputColumn[] = [
  { name: 'id', type: 'VARCHAR' },
  { name: 'x', type: 'DOUBLE' },
];

function enospc(): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device, write');
  e.code = 'ENOSPC';
  e.syscall = 'write';
  return e;
}

/** The writer's file stream (private), to make it fail as a full disk does. */
const streamOf = (w: object) => (w as { out: WriteStream }).out;

describe('writeTable', () => {
  it('writes CSV and Parquet, leaving only the output', async () => {
    const dir = tmp('plain');
    await mkdir(dir);
    for (const name of ['t.csv', 't.parquet']) {
      await writeTable(join(dir, name), columns, async (w) => {
        await w.writeColumns([['a', 'b,c'], [1, 2.5]], 2);
        await w.writeRow(['d', 3]);
      });
    }
    expect((await readdir(dir)).sort()).toEqual(['t.csv', 't.parquet']);
    expect(await readFile(join(dir, 't.csv'), 'utf8')).toBe('id,x\na,1\n"b,c",2.5\nd,3\n');
    const rows = await withConnection(async (con) => (await con.runAndReadAll(`SELECT id, x FROM read_parquet(${sqlString(join(dir, 't.parquet'))}) ORDER BY id`)).getRowObjectsJson());
    expect(rows).toEqual([
      { id: 'a', x: 1 },
      { id: 'b,c', x: 2.5 },
      { id: 'd', x: 3 },
    ]);
  });

  it('a stream that fails while the writer waits for it to drain: the error surfaces, naming the output; old output kept, no temp left', async () => {
    const dir = tmp('inject');
    await mkdir(dir);
    const out = join(dir, 'scores.csv');
    await writeFile(out, 'old\n');
    const big = Array.from({ length: 50_000 }, (_, i) => `row-${i}`);
    const err = (await writeTable(out, columns, async (w) => {
      const pending = w.writeColumns([big, big.map((_, i) => i)], big.length); // past the high-water mark: waits for 'drain'
      streamOf(w).destroy(enospc());
      await pending;
    }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(WriteError);
    expect(err.message).toBe(`cannot write ${out}: no space left on device`);
    expect(await readFile(out, 'utf8')).toBe('old\n');
    expect(await readdir(dir)).toEqual(['scores.csv']);
    expect(liveTemps()).toEqual([]);
  });

  it('a failure after the last row is reported by commit', async () => {
    const dir = tmp('late');
    await mkdir(dir);
    const out = join(dir, 'o.parquet');
    await expect(
      writeTable(out, columns, async (w) => {
        await w.writeRow(['a', 1]);
        streamOf(w).destroy(enospc());
      }),
    ).rejects.toThrow(`cannot write ${out}: no space left on device`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a missing output directory or a directory at the output fails before any row is made, named as such', async () => {
    let rows = 0;
    const fill = async (w: { writeRow(v: unknown[]): Promise<void> }) => void (rows++, await w.writeRow(['a', 1]));
    const out = tmp('no/such/dir/o.csv');
    await expect(writeTable(out, columns, fill)).rejects.toThrow(`cannot write ${out}: directory ${dirname(out)} does not exist`);
    await mkdir(tmp('a-dir.parquet'));
    await expect(writeTable(tmp('a-dir.parquet'), columns, fill)).rejects.toThrow(`cannot write ${tmp('a-dir.parquet')}: it is a directory; give a file name`);
    expect(rows).toBe(0);
  });
});

const disk = await mountTinyTmpfs('1m');
if ('reason' in disk) console.warn(`skipping the full-disk tests: ${disk.reason}`);
else afterAll(() => disk.unmount());

describe.skipIf('reason' in disk)('a full disk (1 MiB tmpfs)', () => {
  const dir = 'dir' in disk ? disk.dir : '';
  for (const name of ['synthetic.csv', 'synthetic.parquet']) {
    it(`writeSynthetic to ${name} fails naming the path, keeps the old file, leaves no temp`, async () => {
      await mkdir(join(dir, name.replace('.', '-')));
      const out = join(dir, name.replace('.', '-'), name);
      await writeFile(out, 'old\n');
      // ~80 bytes a row: 60 000 rows are several times the disk.
      const sizes = { users: 500, items: 500, categories: 20, shops: 50, brands: 50, tags: 20, cities: 10 };
      const err = (await writeSynthetic(out, { rows: 60_000, seed: 1, sizes }).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(WriteError);
      expect(err.message).toBe(`cannot write ${out}: no space left on device`);
      expect(await readFile(out, 'utf8')).toBe('old\n');
      expect(await readdir(dirname(out))).toEqual([name]);
    });
  }
});
