import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { requiresPythonModule, treeDigest } from '@esm2/core/testing';
import { mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../batch.js';
import { openDataset } from '../dataset/open.js';
import { fitEncoders } from '../encode/fit.js';
import { writeSynthetic } from '../synthetic/generate.js';
import { tempDir } from '../testing/tmp.js';
import { MANIFEST_FILE, type ShardsManifest } from './manifest.js';
import { EncodedShards, openEncodedDataset } from './read.js';
import { checkEncodePaths, writeEncodedShards } from './write.js';
import { rowsOf } from '../testing/rows.js';
import { editedShards } from '../testing/shards.js';

const tmp = await tempDir();
const ROWS = 5000;
const parquet = tmp('synthetic.parquet');
const data = await writeSynthetic(parquet, { rows: ROWS, seed: 5, truth: true });
const encoders = await fitEncoders(parquet, data.config);
const encoded = tmp('encoded');
const report = await writeEncodedShards(parquet, encoders, encoded, { shards: 3 });

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

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
    expect(manifest).toMatchObject({ format: 'esm2-encoded-shards', version: 2, rows: ROWS, source: parquet, encoders: 'encoders.json' });
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
    expect(manifest.shards[1]!.columns['features/user_tags']).toEqual({ file: 'shard-00001/features.user_tags.bin', dtype: '<i4', shape: [1667, encoders.state.maxLength['user_tags']], sha256: await sha256(join(encoded, 'shard-00001/features.user_tags.bin')) });
    expect(manifest.shards[2]!.columns['features/price']).toEqual({ file: 'shard-00002/features.price.bin', dtype: '<f4', shape: [1667], sha256: await sha256(join(encoded, 'shard-00002/features.price.bin')) });
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
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 3 }));
    await expect(read(dir)).rejects.toThrow(`${manifestPath}: not an esm2-encoded-shards v1–v2 manifest: version:`);
    await writeFile(manifestPath, '{"format":');
    await expect(read(dir)).rejects.toThrow(`${manifestPath}: not valid JSON`);
  });
});

const python = '/usr/bin/python3';
const numpy = requiresPythonModule(python, 'numpy');

describe.runIf(numpy.run)('the shards from Python', () => {
  beforeAll(numpy.check);
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

describe('opening shards for training checks them (EncodedShards.load, and EncodedShards.check for the torch backend)', () => {
  let copies = 0;
  /** A copy of the 3-shard directory with column `key` of shard `k` edited in place (editedShards: the manifest's sha256 follows unless `rehash` is false). */
  const edited = (k: number, key: string, edit: (a: Int32Array | Float32Array) => void, rehash = true) => editedShards(encoded, tmp(`edited-${copies++}`), k, key, edit, rehash);
  const labelsOf = async (k: number) => {
    const [b] = await all(openEncodedDataset(encoded, { batchSize: 10_000, shards: [k] }));
    return b!.labels;
  };
  /** Both readers refuse `dir` with `message`, and leave its files as they were. */
  async function refused(dir: string, message: string) {
    const before = await treeDigest(dir);
    await expect(EncodedShards.load(dir)).rejects.toThrow(message);
    await expect(EncodedShards.check(dir)).rejects.toThrow(message);
    expect(await treeDigest(dir)).toEqual(before);
  }

  it('reads intact shards whole: check passes and load gives every row', async () => {
    await expect(EncodedShards.check(encoded)).resolves.toMatchObject({ manifest: { rows: ROWS } });
    expect((await EncodedShards.load(encoded)).rows).toBe(ROWS);
  });

  it('refuses a label that is not 0/1 (2, NaN), naming the file, the row in its shard and the column', async () => {
    const two = await edited(1, 'labels/click', (a) => (a[7] = 2));
    await refused(two.dir, `${two.file}, row 7, column 'labels/click': label must be 0 or 1, got '2'`);
    const nan = await edited(2, 'labels/daction', (a) => (a[1666] = NaN));
    await refused(nan.dir, `${nan.file}, row 1666, column 'labels/daction': not a number (NaN)`);
  });

  it('refuses a broken funnel as the CSV path does: buy or DAction without a click', async () => {
    const { click, daction } = await labelsOf(0);
    const unclicked = click.findIndex((c, i) => c === 0 && i > 10);
    const buy = await edited(0, 'labels/buy', (a) => (a[unclicked] = 1));
    await refused(buy.dir, `${buy.file}, row ${unclicked}, column 'labels/buy': buy=1 but click=0`);
    expect(daction[unclicked]).toBe(0);
    const action = await edited(0, 'labels/daction', (a) => (a[unclicked] = 1));
    await refused(action.dir, `${action.file}, row ${unclicked}, column 'labels/daction': daction=1 but click=0`);
  });

  it('refuses ids outside their table (negative, ≥ its size), list ids after padding, and numbers that are not finite', async () => {
    const size = (name: string) => {
      const f = encoders.schema.fields.find((x) => x.name === name)!;
      return f.kind !== 'numeric' && f.encoding.kind === 'vocabulary' ? f.encoding.size : NaN;
    };
    const big = await edited(1, 'features/user_id', (a) => (a[3] = size('user_id')));
    await refused(big.dir, `${big.file}, row 3, column 'features/user_id': id ${size('user_id')} outside field 'user_id's vocabulary's [0, ${size('user_id')})`);
    const negative = await edited(0, 'features/item_id', (a) => (a[0] = -1));
    await refused(negative.dir, `${negative.file}, row 0, column 'features/item_id': id -1 outside field 'item_id's vocabulary's [0, ${size('item_id')})`);
    const width = encoders.state.maxLength['user_tags']!;
    const list = await edited(2, 'features/user_tags', (a) => (a[5 * width + 1] = -7));
    await refused(list.dir, `${list.file}, row 5, item 1, column 'features/user_tags': id -7 outside field 'user_tags's vocabulary's [0, ${size('user_tags')}) (−1 pads)`);
    const gap = await edited(2, 'features/user_tags', (a) => {
      a[9 * width] = -1;
      a[9 * width + 1] = 1;
    });
    await refused(gap.dir, `${gap.file}, row 9, item 1, column 'features/user_tags': id 1 after padding −1`);
    const inf = await edited(1, 'features/price', (a) => (a[11] = Infinity));
    await refused(inf.dir, `${inf.file}, row 11, column 'features/price': infinite value (Infinity)`);
    const truth = await edited(1, 'truth/pcvr', (a) => (a[12] = NaN));
    await refused(truth.dir, `${truth.file}, row 12, column 'truth/pcvr': not a number (NaN)`);
    const user = await edited(0, 'userIds', (a) => (a[2] = -3));
    await refused(user.dir, `${user.file}, row 2, column 'userIds': id -3 outside`);
  });

  it('refuses a flipped byte by its checksum, before any value check', async () => {
    const flipped = await edited(1, 'features/price', (a) => new Uint8Array(a.buffer, a.byteOffset)[41]! ^= 0x10, false);
    await refused(flipped.dir, `${flipped.file} is corrupt: checksum sha256 `);
    const label = await edited(0, 'labels/click', (a) => (a[0] = 2), false);
    await refused(label.dir, `${label.file} is corrupt: checksum sha256 `);
  });

  it('refuses a manifest that lists a shard twice, and label counts the rows do not hold', async () => {
    const { dir, manifestPath, manifest } = await edited(0, 'labels/click', () => {});
    await writeFile(manifestPath, JSON.stringify({ ...manifest, rows: ROWS + manifest.shards[0]!.rows, shards: [...manifest.shards, manifest.shards[0]] }));
    await refused(dir, `${manifestPath}: shards.3.columns.features/user_id.file: 'shard-00000/features.user_id.bin' is also shards.0.columns.features/user_id's file`);
    const dotted = structuredClone(manifest);
    dotted.shards[1]!.columns['labels/buy']!.file = 'shard-00000/./labels.buy.bin';
    await writeFile(manifestPath, JSON.stringify(dotted));
    await refused(dir, `${manifestPath}: shards.1.columns.labels/buy.file: 'shard-00000/./labels.buy.bin' is also shards.0.columns.labels/buy's file`);
    await writeFile(manifestPath, JSON.stringify({ ...manifest, labelCounts: { ...manifest.labelCounts, buys: manifest.labelCounts.buys + 1 } }));
    await refused(dir, `${manifestPath}: labelCounts buys ${manifest.labelCounts.buys + 1}, but the shards hold buys ${manifest.labelCounts.buys}`);
  });

  it('refuses the rows of a version-1 manifest (no checksums) for training, and still gives its encoders', async () => {
    const { dir, manifestPath, manifest } = await edited(0, 'labels/click', () => {});
    for (const shard of manifest.shards) for (const c of Object.values(shard.columns)) delete c.sha256;
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 1 }));
    await refused(dir, `${manifestPath}: version 1, written before shard checksums, so its rows cannot be checked; encode the data again: esm2-train data encode --in ${parquet} --out NEW_DIR --encoders ${dir}`);
    expect((await EncodedShards.describe(dir)).encoders.toJSON()).toEqual(encoders.toJSON());
    manifest.shards[0]!.columns['labels/click']!.sha256 = 'a'.repeat(64);
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 1 }));
    await expect(EncodedShards.describe(dir)).rejects.toThrow(`${manifestPath}: shards.0.columns.labels/click.sha256: not part of a version-1 manifest`);
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 2 }));
    await expect(EncodedShards.describe(dir)).rejects.toThrow(`${manifestPath}: shards.0.columns.features/user_id.sha256: missing`);
  });
});
