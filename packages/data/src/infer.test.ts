import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataConfig, type DataConfigInput } from './config.js';
import { fitEncoders } from './encode/fit.js';
import { inspectFile } from './inspect.js';
import { FIXTURES, fixturesRequired, tempDir } from './testing/tmp.js';

const tmp = await tempDir();

const fixtures = fixturesRequired();

describe.runIf(fixtures.run)('config inference on the real label-encoded Ali-CCP sample', () => {
  beforeAll(fixtures.check);
  it('finds click/purchase, no DAction, 23 id fields and 8 scaled numbers', async () => {
    const enc = await fitEncoders(join(FIXTURES, 'aliccp_torchrechub_train_sample.csv'));
    expect(enc.config.labels).toEqual({ click: 'click', daction: [], buy: 'purchase' });
    const kinds = enc.schema.fields.map((f) => f.kind);
    expect(kinds.filter((k) => k === 'categorical')).toHaveLength(23);
    expect(kinds.filter((k) => k === 'numeric')).toHaveLength(8);
    // Column `101` (the user id) becomes field f101, a valid graph input name.
    expect(enc.config.fields[0]).toMatchObject({ name: 'f101', column: '101' });
    expect(enc.schema.userField).toBe('f101');
  });
});

describe('loadDataConfig', () => {
  it('reads YAML and JSON with the same meaning', async () => {
    const yaml = tmp('c.yaml');
    const json = tmp('c.json');
    await writeFile(yaml, 'labels:\n  daction: [cart, wish]\nnumeric: [price]\nhash:\n  item_id: 1000\n');
    await writeFile(json, JSON.stringify({ labels: { daction: ['cart', 'wish'] }, numeric: ['price'], hash: { item_id: 1000 } }));
    expect(await loadDataConfig(yaml)).toEqual(await loadDataConfig(json));
    await writeFile(yaml, 'minCount: 0\n');
    await expect(loadDataConfig(yaml)).rejects.toThrow(`${yaml}: minCount: Too small`);
  });
});

describe('a numeric column with a few stray values', () => {
  /** 200 rows whose price has a fractional part, with `stray` put in at the given rows (0-based; line = row + 2). */
  async function withStrays(name: string, strays: Record<number, string>, price = (i: number) => `${(i % 17) + 0.5}`): Promise<string> {
    const lines = ['user_id,item_id,price,click,daction,buy'];
    for (let i = 0; i < 200; i++) lines.push(`u${i % 13},i${i % 7},${strays[i] ?? price(i)},${i % 2},0,0`);
    const file = tmp(name);
    await writeFile(file, lines.join('\n') + '\n');
    return file;
  }
  const kindOf = async (file: string, config?: DataConfigInput) => (await fitEncoders(file, config)).schema.fields.find((f) => f.name === 'price')?.kind;

  it('is refused, naming the file, the first stray line, the column, the value and how to pin the type', async () => {
    const na = await withStrays('na.csv', { 40: 'NA' });
    await expect(fitEncoders(na)).rejects.toThrow(
      `${na}, line 42, column 'price': 'NA' is not a number, yet 199 of the 200 values sampled from the start of the file are numbers: a numeric column with a stray value? ` +
        `Fix the value, or say what the column is in the data config (data encode/inspect --config, or the fit config's data section): ` +
        `'numeric: [price]' reads numbers (a row whose value is not one is a bad row, which --on-bad-row skip drops), 'categorical: [price]' reads categories, 'exclude: [price]' leaves it out`,
    );
    const three = await withStrays('three.csv', { 7: 'notanumber', 90: 'n/a', 150: '?' });
    await expect(inspectFile(three)).rejects.toThrow(`${three}, line 9, column 'price': 'notanumber' is not a number (and 2 more), yet 197 of the 200`);
  });

  it('pinned in the data config, it is read as asked: categories, or numbers with the stray row a bad row', async () => {
    const na = await withStrays('na-pinned.csv', { 40: 'NA' });
    expect(await kindOf(na, { categorical: ['price'] })).toBe('categorical');
    expect(await kindOf(na, { exclude: ['price'] })).toBeUndefined();
    await expect(fitEncoders(na, { numeric: ['price'] })).rejects.toThrow(`${na}, line 42, column 'price': unparsable number 'NA'`);
    const rejects = tmp('na-pinned.rejects.csv');
    const enc = await fitEncoders(na, { numeric: ['price'] }, { onBadRow: 'skip', rejectFile: rejects });
    expect(enc.schema.fields.find((f) => f.name === 'price')?.kind).toBe('numeric');
  });

  it('leaves other columns as they were: all numbers, integer ids with a stray, mostly text, more than a few strays', async () => {
    expect(await kindOf(await withStrays('clean.csv', {}))).toBe('numeric');
    expect(await kindOf(await withStrays('ints.csv', { 3: 'NA' }, (i) => `${i % 17}`))).toBe('categorical');
    // Codes that are mostly text, some looking like numbers.
    expect(await kindOf(await withStrays('text.csv', {}, (i) => (i % 3 === 0 ? `${i}.5` : `code${i % 5}`)))).toBe('categorical');
    // 25 of 200 (12.5 %) are not numbers: not "a few"; categorical as before.
    const many = Object.fromEntries(Array.from({ length: 25 }, (_, k) => [k * 8, 'x']));
    expect(await kindOf(await withStrays('many.csv', many))).toBe('categorical');
  });
});

describe('columns that are never features', () => {
  it('leaves out row ids, timestamps and the day (the log clock of data generate --days and replay --by)', async () => {
    const file = tmp('clock.csv');
    const lines = ['day,dt,sample_id,ts,user_id,item_id,click,buy'];
    for (let i = 0; i < 60; i++) lines.push(`${i % 3},2026-12-0${1 + (i % 3)},${i},${1700000000 + i},u${i % 5},i${i % 4},${i % 2},0`);
    await writeFile(file, lines.join('\n') + '\n');
    const enc = await fitEncoders(file);
    expect(enc.schema.fields.map((f) => f.name)).toEqual(['user_id', 'item_id']);
    // Named in the config, it is a feature all the same.
    const named = await fitEncoders(file, { categorical: ['day'] });
    expect(named.schema.fields.map((f) => f.name)).toContain('day');
  });
});
