import { artifactFromModel, buildModel, initWeights } from '@esm2/core';
import { writeArtifact } from '@esm2/core/node';
import { treeDigest } from '@esm2/core/testing';
import { Encoders, encodersExtensionProblems, vocabularyRowChanges, type EncodersJSON, type ShardsManifest } from '@esm2/data';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTrainer } from '../test-support/cli.js';

/**
 * `data encode --warm-start RUN`: a day's file encoded with a model's
 * encoders extended on it (what `fit --warm-start RUN --data DIR` trains
 * from). Day 0 is encoded as always; a run is made from its encoders; day 1
 * brings new items and users.
 */
let dir: string;
const HEADER = 'user_id,item_id,price,click,cart,fav,buy';
// Day 0: items i1 ×3, i2 ×2, i3 ×1; users u1 ×3, u2 ×2, u3 ×1.
const DAY0 = ['u1,i1,1.5,1,0,0,0', 'u1,i1,2.5,0,0,0,0', 'u1,i2,3.5,1,1,0,1', 'u2,i1,4.5,0,0,0,0', 'u2,i2,5.5,1,0,0,0', 'u3,i3,6.5,0,0,0,0'];
// Day 1: i2 known; i5 ×2 and i4 ×2 new (ties by key: i4, i5), i6 ×1; u1 known, u9 new.
const DAY1 = ['u1,i5,10.5,1,0,0,0', 'u9,i4,11.5,0,0,0,0', 'u9,i5,12.5,1,0,0,0', 'u1,i2,13.5,0,0,0,0', 'u9,i4,14.5,1,1,0,1', 'u1,i6,15.5,0,0,0,0'];

const encodersOf = async (enc: string) => JSON.parse(await readFile(join(dir, enc, 'encoders.json'), 'utf8')) as EncodersJSON;

/** A column of an encoded directory's first shard, as numbers. */
async function column(enc: string, key: string): Promise<number[]> {
  const manifest = JSON.parse(await readFile(join(dir, enc, 'manifest.json'), 'utf8')) as ShardsManifest;
  const bytes = await readFile(join(dir, enc, manifest.shards[0]!.columns[key]!.file));
  return [...new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-encode-warm-'));
  await writeFile(join(dir, 'day0.csv'), [HEADER, ...DAY0].join('\n') + '\n');
  await writeFile(join(dir, 'day1.csv'), [HEADER, ...DAY1].join('\n') + '\n');
  const r = await runTrainer('data', 'encode', '--in', join(dir, 'day0.csv'), '--out', join(dir, 'day0.enc'));
  expect(r.err).toBe('');
  // A run as fit leaves it (its checkpoint/ and best/), with day 0's encoders; the weights do not matter here.
  const encoders = Encoders.fromJSON(await encodersOf('day0.enc'));
  const model = buildModel(encoders.schema, { towers: [4] });
  const artifact = artifactFromModel(model, encoders.schema, initWeights(model.graph, 1), { encoders: encoders.toJSON() });
  await writeArtifact(join(dir, 'run', 'checkpoint'), artifact);
  await writeArtifact(join(dir, 'run', 'best'), artifact);
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

describe('data encode --warm-start', () => {
  it('encodes day 1 with the run\'s encoders extended: old ids keep theirs, new ids get new rows, and says how each field grew', async () => {
    const day0 = await encodersOf('day0.enc');
    // An ordinary encode writes version 1, as before.
    expect(day0.version).toBe(1);
    expect(day0.vocabularies).toEqual({ user_id: ['u1', 'u2', 'u3'], item_id: ['i1', 'i2', 'i3'] });
    const r = await runTrainer('data', 'encode', '--in', join(dir, 'day1.csv'), '--out', join(dir, 'day1.enc'), '--warm-start', join(dir, 'run'), '--evict-after', '5');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // Day 0's encoders recorded no day: day 1's defaults to 0.
    expect(r.out).toContain(`vocabularies on day 0, extended from ${join(dir, 'run')}:`);
    expect(r.out).toContain('user_id  1 known, 1 added (0 in freed rows), 0 evicted; 5 rows');
    expect(r.out).toContain('item_id  1 known, 3 added (0 in freed rows), 0 evicted; 7 rows');
    const day1 = await encodersOf('day1.enc');
    expect(day1).toMatchObject({ version: 2, day: 0, limits: { evictAfterDays: 5 } });
    expect(day1.vocabularies).toEqual({ user_id: ['u1', 'u2', 'u3', 'u9'], item_id: ['i1', 'i2', 'i3', 'i4', 'i5', 'i6'] });
    expect(encodersExtensionProblems(day0, day1)).toEqual([]);
    expect(vocabularyRowChanges(day0, day1)).toEqual(
      new Map([
        ['user_id', { rows: 5, fresh: Int32Array.from([4]) }],
        ['item_id', { rows: 7, fresh: Int32Array.from([4, 5, 6]) }],
      ]),
    );
    // The rows are encoded with them: i5 → 5, i4 → 4, i2 → 2 (as on day 0), i6 → 6.
    expect(await column('day1.enc', 'features/item_id')).toEqual([5, 4, 5, 2, 4, 6]);
    expect(await column('day1.enc', 'features/user_id')).toEqual([1, 4, 4, 1, 4, 1]);
    // Numeric scaling stays the run's.
    expect(day1.numeric).toEqual(day0.numeric);

    // An artifact directory works too, and --day sets the day (the limits kept from nowhere: the run has none).
    const again = await runTrainer('data', 'encode', '--in', join(dir, 'day1.csv'), '--out', join(dir, 'day1b.enc'), '--warm-start', join(dir, 'run', 'best'), '--day', '3', '--max-ids', 'item_id=4');
    expect(again.err).toBe('');
    const b = await encodersOf('day1b.enc');
    expect(b).toMatchObject({ day: 3, limits: { maxIds: { item_id: 4 } } });
    // Room for 4 items: i1, i3 (unseen on day 3) go, i1 first; the 3 new ids take rows 1 and 3, then one is appended.
    expect(b.vocabularies['item_id']).toEqual(['i4', 'i2', 'i5', 'i6']);
    expect(again.out).toContain('item_id  1 known, 3 added (2 in freed rows), 2 evicted (i1, i3); 5 rows');
  });

  it('refuses a missing RUN, conflicting flags and a bad limit, naming them, with nothing written', async () => {
    const refused = async (message: string, ...args: string[]) => {
      const before = await treeDigest(dir);
      const r = await runTrainer('data', 'encode', '--in', join(dir, 'day1.csv'), '--out', join(dir, 'new.enc'), ...args);
      process.exitCode = undefined;
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toContain(message);
      expect(await treeDigest(dir), args.join(' ')).toEqual(before);
    };
    await refused(`--warm-start ${join(dir, 'nowhere')}: no such directory`, '--warm-start', join(dir, 'nowhere'));
    const encoded = join(dir, 'day0.enc');
    await refused(`--warm-start ${encoded}: neither a run directory (with checkpoint/model.json) nor a model artifact (with model.json)`, '--warm-start', encoded);
    await refused("maxIds: no field 'nobody' (vocabulary fields: user_id, item_id)", '--warm-start', join(dir, 'run'), '--max-ids', 'nobody=3');
    await refused('give one of --config', '--warm-start', join(dir, 'run'), '--encoders', join(dir, 'day0.enc'));
    await refused('--day, --max-ids and --evict-after grow encoders: not with --encoders', '--encoders', join(dir, 'day0.enc'), '--day', '2');
    await refused("option '--max-ids <n>' argument 'item_id=0' is invalid", '--warm-start', join(dir, 'run'), '--max-ids', 'item_id=0');
    await refused(`--out ${join(dir, 'run')} is the same directory as --warm-start ${join(dir, 'run')}`, '--warm-start', join(dir, 'run'), '--out', join(dir, 'run'));
  });
});
