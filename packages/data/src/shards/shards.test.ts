import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { treeDigest } from '@esm2/core/testing';
import { mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../batch.js';
import { openDataset } from '../dataset/open.js';
import { fitEncoders } from '../encode/fit.js';
import { writeSynthetic } from '../synthetic/generate.js';
import { tempDir } from '../testing/tmp.js';
import { MANIFEST_FILE, type ShardsManifest } from './manifest.js';
import { EncodedShards, openEncodedDataset } from './read.js';
import { checkEncodePaths, writeEncodedShards } from './write.js';
import { rowsOf } from '../testing/rows.js';

const tmp = await tempDir();
const ROWS = 5000;
const parquet = tmp('synthetic.parquet');
const data = await writeSynthetic(parquet, { rows: ROWS, seed: 5, truth: true });
const encoders = await fitEncoders(parquet, data.config);
const encoded = tmp('encoded');
const report = await writeEncodedShards(parquet, encoders, encoded, { shards: 3 });

async function all(source: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of source) out.push(b);
  return out;
}


/** A batch without its keys (shards do not store them), as plain arrays for a deep comparison. */
function comparable(b: Batch) {
  const plain = (r: Record<string, ArrayLike<number> | undefined>) => Object.fromEntries(Object.entries(r).map(([k, a]) => [k, Array.from(a!)]));
  return { size: b.size, features: plain(b.features), labels: plain(b.labels), truth: plain(b.truth ?? {}), userIds: Array.from(b.userIds ?? []) };
}

describe('writeEncodedShards', () => {
  it('writes the manifest, the encoders and one file per column per shard: contiguous near-equal shards', async () => {
    expect(report.rows).toBe(ROWS);
    expect(report.shards).toEqual([1666, 1667, 1667]);
    const manifest = JSON.parse(await readFile(join(encoded, MANIFEST_FILE), 'utf8')) as ShardsManifest;
    expect(manifest).toMatchObject({ format: 'esm2-encoded-shards', version: 1, rows: ROWS, source: parquet, encoders: 'encoders.json' });
    expect(Object.keys(manifest.columns)).toEqual([
      ...encoders.schema.fields.map((f) => `features/${f.name}`),
      'labels/click',
      'labels/daction',
      'labels/buy',
      'userIds',
      'truth/pctr',
      'truth/pctavr',
      'truth/pcvr',
      'truth/pctcvr',
    ]);
    expect(manifest.shards[1]!.columns['features/user_tags']).toEqual({ file: 'shard-00001/features.user_tags.bin', dtype: '<i4', shape: [1667, encoders.state.maxLength['user_tags']] });
    expect(manifest.shards[2]!.columns['features/price']).toEqual({ file: 'shard-00002/features.price.bin', dtype: '<f4', shape: [1667] });
    expect(manifest.labelCounts.rows).toBe(ROWS);
    expect(JSON.parse(await readFile(join(encoded, 'encoders.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(encoders.toJSON())));
    expect((await readdir(encoded)).sort()).toEqual(['encoders.json', 'manifest.json', 'shard-00000', 'shard-00001', 'shard-00002']);
  });

  it('refuses to overwrite a non-empty directory that is not encoded shards, leaving it as it was', async () => {
    const other = tmp('other');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'keep me');
    await expect(writeEncodedShards(parquet, encoders, other)).rejects.toThrow(`refusing to overwrite ${other}: it is a non-empty directory without manifest.json, not an encoded-shards directory`);
    expect(await readdir(other)).toEqual(['notes.txt']);
    await expect(writeEncodedShards(parquet, encoders, dirname(parquet))).rejects.toThrow(`--out ${dirname(parquet)} holds the input --in ${parquet}`);
  });

  it('refuses an encoded directory holding anything it did not write, or whose manifest cannot be read, naming the file; nothing is touched', async () => {
    const dir = tmp('foreign');
    await writeEncodedShards(parquet, encoders, dir, { shards: 2 });
    const cases: [string, string][] = [
      ['history.json', 'history.json'],
      ['best/model.json', 'best'],
      ['shard-00000/notes.txt', 'shard-00000/notes.txt'],
      ['shard-00002/features.price.bin', 'shard-00002'],
      ['.hidden', '.hidden'],
    ];
    for (const [extra, named] of cases) {
      await mkdir(dirname(join(dir, extra)), { recursive: true });
      await writeFile(join(dir, extra), 'mine');
      const before = await treeDigest(dir);
      await expect(writeEncodedShards(parquet, encoders, dir), extra).rejects.toThrow(`refusing to overwrite ${dir}: it holds ${join(dir, named)}, which data encode did not write`);
      await expect(checkEncodePaths({ input: parquet, out: dir }), extra).rejects.toThrow(`it holds ${join(dir, named)}`);
      expect(await treeDigest(dir), extra).toEqual(before);
      await rm(join(dir, named), { recursive: true });
    }
    // A symlink where a listed file belongs: not what encode wrote either.
    const column = join(dir, 'shard-00000', 'labels.click.bin');
    await rm(column);
    await symlink(parquet, column);
    await expect(writeEncodedShards(parquet, encoders, dir)).rejects.toThrow(`it holds ${column}, which data encode did not write`);
    await rm(column);
    const manifest = await readFile(join(dir, MANIFEST_FILE), 'utf8');
    await writeFile(join(dir, MANIFEST_FILE), manifest.slice(0, 40));
    await expect(writeEncodedShards(parquet, encoders, dir)).rejects.toThrow(`refusing to overwrite ${dir}: its manifest.json is not a readable esm2-encoded-shards manifest`);
    await writeFile(join(dir, MANIFEST_FILE), manifest);
    expect((await writeEncodedShards(parquet, encoders, dir)).rows).toBe(ROWS);
  });

  it('refuses a reject file (skip mode) that is the input, when fitting and when encoding, before reading a row', async () => {
    const csv = tmp('with-bad-row.csv');
    await writeSynthetic(csv, { rows: 50, seed: 9 });
    await writeFile(csv, `${await readFile(csv, 'utf8')}1,1,1,1,1,1,1,1,1,t1,1.5,3.5,0,0,1\n`);
    const before = await treeDigest(csv);
    const alias = tmp('with-bad-row-link.csv');
    await symlink(csv, alias);
    await expect(fitEncoders(csv, undefined, { onBadRow: 'skip', rejectFile: alias })).rejects.toThrow(`--reject-file ${alias} is the same file as --in ${csv}`);
    await expect(writeEncodedShards(csv, encoders, tmp('with-bad-row.enc'), { onBadRow: 'skip', rejectFile: alias })).rejects.toThrow(`--reject-file ${alias} is the same file as --in ${csv}`);
    expect(await treeDigest(csv)).toEqual(before);
    expect(existsSync(tmp('with-bad-row.enc'))).toBe(false);
  });

  it('replaces an earlier encoded directory whole, and a failure leaves the old one and no temporary directory', async () => {
    const dir = tmp('replaced');
    await writeEncodedShards(parquet, encoders, dir, { shards: 2 });
    const r = await writeEncodedShards(parquet, encoders, dir, { shards: 1 });
    expect(r.shards).toEqual([ROWS]);
    expect((await readdir(dir)).sort()).toEqual(['encoders.json', 'manifest.json', 'shard-00000']);
    // Failures before and after rows were written.
    const bad = tmp('bad.csv');
    await writeFile(bad, 'user_id,click,daction,buy\nu1,1,0,0\n');
    await expect(writeEncodedShards(bad, encoders, dir)).rejects.toThrow(`${bad}, line 1 (header), column`);
    await expect(writeEncodedShards(parquet, encoders, dir, { shards: ROWS + 1 })).rejects.toThrow(`cannot cut ${ROWS} row(s) of ${parquet} into ${ROWS + 1} shards`);
    expect((await readdir(dir)).sort()).toEqual(['encoders.json', 'manifest.json', 'shard-00000']);
    expect((await readdir(dirname(dir))).filter((f) => f.startsWith('.replaced'))).toEqual([]);
    expect((await EncodedShards.load(dir)).rows).toBe(ROWS);
  });
});

describe('openEncodedDataset', () => {
  it('gives the batches openDataset gives for the same file, without a shuffle (keys aside)', async () => {
    for (const dropLast of [false, true]) {
      const want = await all(openDataset(parquet, { encoders, batchSize: 512, dropLast }));
      const got = await all(openEncodedDataset(encoded, { batchSize: 512, dropLast }));
      expect(got.map((b) => b.size)).toEqual(want.map((b) => b.size));
      expect(got.map(comparable)).toEqual(want.map(comparable));
      expect(got[0]!.features['user_tags']).toBeInstanceOf(Int32Array);
      expect(got[0]!.features['price']).toBeInstanceOf(Float32Array);
    }
  });

  it('reads a subset of shards: their rows, in file order', async () => {
    const ordered = rowsOf(await all(openDataset(parquet, { encoders, batchSize: 1000 })));
    const second = rowsOf(await all(openEncodedDataset(encoded, { batchSize: 1000, shards: [1] })));
    expect(second).toEqual(ordered.slice(1666, 1666 + 1667));
    const lastTwo = rowsOf(await all(openEncodedDataset(encoded, { batchSize: 700, shards: [1, 2] })));
    expect(lastTwo).toEqual(ordered.slice(1666));
  });

  it('shuffles by a full seeded permutation: every row once per epoch, another order each epoch, reproducible', async () => {
    const ordered = rowsOf(await all(openEncodedDataset(encoded, { batchSize: 512 })));
    const ds = openEncodedDataset(encoded, { batchSize: 512, shuffle: { seed: 1 } });
    const e0 = rowsOf(await all(ds));
    const e1 = rowsOf(await all(ds));
    expect(e0).not.toEqual(ordered);
    expect(e1).not.toEqual(e0);
    expect([...e0].sort()).toEqual([...ordered].sort());
    expect([...e1].sort()).toEqual([...ordered].sort());
    // The second epoch of seed 1 is the first of seed 2; a fresh dataset repeats both.
    expect(rowsOf(await all(openEncodedDataset(encoded, { batchSize: 512, shuffle: { seed: 2 } })))).toEqual(e1);
    const again = openEncodedDataset(encoded, { batchSize: 300, shuffle: { seed: 1 } });
    expect(rowsOf(await all(again))).toEqual(e0);
    expect(rowsOf(await all(again))).toEqual(e1);
    // User numbers travel with their rows.
    const byRow = new Map<string, number>();
    for (const b of await all(openEncodedDataset(encoded, { batchSize: 512 }))) rowsOf([b]).forEach((r, i) => byRow.set(r, b.userIds![i]!));
    for (const b of await all(openEncodedDataset(encoded, { batchSize: 512, shuffle: { seed: 9 } }))) rowsOf([b]).forEach((r, i) => expect(b.userIds![i]).toBe(byRow.get(r)));
  });

  it('refuses a damaged directory naming the file: no manifest, a bad manifest, a file of the wrong size, an unknown shard', async () => {
    const read = (dir: string, options: { shards?: number[] } = {}) => all(openEncodedDataset(dir, { batchSize: 100, ...options }));
    const empty = tmp('empty-dir');
    await mkdir(empty);
    await expect(read(empty)).rejects.toThrow(`${join(empty, 'manifest.json')}: no such file (not an encoded-shards directory: ${empty})`);

    const dir = tmp('damaged');
    await writeEncodedShards(parquet, encoders, dir, { shards: 2 });
    const manifestPath = join(dir, MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ShardsManifest;
    await expect(read(dir, { shards: [2] })).rejects.toThrow(`${dir}: no shard 2 (it has 2: 0–1)`);

    const file = join(dir, manifest.shards[1]!.columns['features/user_tags']!.file);
    const width = encoders.state.maxLength['user_tags']!;
    await truncate(file, 100);
    await expect(read(dir)).rejects.toThrow(`${file}: 100 bytes, expected ${2500 * width * 4} (<i4 [2500, ${width}] by ${manifestPath})`);
    // Shard 0 alone is intact and still reads.
    expect((await read(dir, { shards: [0] })).reduce((a, b) => a + b.size, 0)).toBe(2500);

    await writeFile(manifestPath, JSON.stringify({ ...manifest, rows: 4999 }));
    await expect(read(dir)).rejects.toThrow(`${manifestPath}: rows: 4999, but the shards hold 5000`);
    const { 'features/price': _, ...withoutPrice } = manifest.columns;
    await writeFile(manifestPath, JSON.stringify({ ...manifest, columns: withoutPrice }));
    await expect(read(dir)).rejects.toThrow(`${manifestPath}: columns: missing 'features/price'`);
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 2 }));
    await expect(read(dir)).rejects.toThrow(`${manifestPath}: not an esm2-encoded-shards v1 manifest: version:`);
    await writeFile(manifestPath, '{"format":');
    await expect(read(dir)).rejects.toThrow(`${manifestPath}: not valid JSON`);
  });
});

const python = '/usr/bin/python3';
const numpy = existsSync(python)
  ? await new Promise<string | undefined>((done) => execFile(python, ['-c', 'import numpy'], (err) => done(err ? `${python} has no numpy` : undefined)))
  : `${python} is absent`;
if (numpy) console.log(`skipping the numpy.memmap test: ${numpy}`);

describe.skipIf(numpy !== undefined)('the shards from Python', () => {
  it('numpy.memmap reads each column with the manifest dtype and shape, as the README shows', async () => {
    const script = [
      'import json, sys, numpy as np',
      "m = json.load(open(sys.argv[1] + '/manifest.json'))",
      "cols = {k: np.memmap(sys.argv[1] + '/' + c['file'], dtype=c['dtype'], mode='r', shape=tuple(c['shape'])) for k, c in m['shards'][1]['columns'].items()}",
      "print(json.dumps({k: [list(a.shape), a[:3].tolist()] for k, a in cols.items()}))",
    ].join('\n');
    const stdout = await new Promise<string>((done, fail) => execFile(python, ['-c', script, encoded], (err, out, errText) => (err ? fail(new Error(errText)) : done(out))));
    const got = JSON.parse(stdout) as Record<string, [number[], number[] | number[][]]>;
    const [shard1] = await all(openEncodedDataset(encoded, { batchSize: 3, shards: [1] }));
    const width = encoders.state.maxLength['user_tags']!;
    expect(got['features/user_tags']![0]).toEqual([1667, width]);
    expect(got['features/user_tags']![1]).toEqual([0, 1, 2].map((i) => Array.from(shard1!.features['user_tags']!.subarray(i * width, (i + 1) * width))));
    expect(got['features/price']).toEqual([[1667], Array.from(shard1!.features['price']!)]);
    expect(got['labels/click']).toEqual([[1667], Array.from(shard1!.labels.click)]);
    expect(got['userIds']).toEqual([[1667], Array.from(shard1!.userIds!)]);
  });
});
