import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/tmp.js';
import { Encoders, type EncodersJSON } from './encoders.js';
import { extendEncoders, type ExtendOptions } from './extend.js';
import { encodersExtensionProblems, vocabularyRowChanges } from './extension.js';
import { encodersForSchema } from './schema-match.js';
import { fitEncoders } from './fit.js';

const tmp = await tempDir();

/** user_id is hashed (a field that never grows), item_id and tags are vocabularies, price numeric. */
const CONFIG = { hash: { user_id: 8 } };

let files = 0;
/** A day's file: one row per [item, tags, price]. */
async function day(rows: [item: string, tags: string, price: number][]): Promise<string> {
  const file = tmp(`day-${files++}.csv`);
  const lines = rows.map(([item, tags, price], i) => `u${i % 3},${item},${tags},${price}.5,${i % 2},0,0,0`);
  await writeFile(file, ['user_id,item_id,tags,price,click,cart,fav,buy', ...lines].join('\n') + '\n');
  return file;
}

const DAY0: [string, string, number][] = [
  ['i1', 'a|b', 1],
  ['i1', 'a', 2],
  ['i1', 'b', 3],
  ['i2', 'c', 4],
  ['i2', 'a', 5],
  ['i3', '', 6],
];

/** Day 0 fitted with its day; day 1 and day 2 extended, evicting ids unseen for 2 days. */
async function evictionChain() {
  const d0 = await fitEncoders(await day(DAY0), CONFIG, { day: 0 });
  const d1 = await extendEncoders(d0, await day([['i2', '', 1], ['i4', '', 2], ['i4', '', 3]]), { day: 1, evictAfterDays: 2 });
  const d2 = await extendEncoders(d1.encoders, await day([['i4', '', 1], ['i5', '', 2], ['i6', '', 3], ['i6', '', 4]]), { day: 2 });
  return { d0, d1, d2 };
}

const json = (e: Encoders) => JSON.parse(JSON.stringify(e.toJSON())) as EncodersJSON;
const item = (e: Encoders, ids: string[]) => [...e.encodeRows(ids.map((id) => ({ user_id: 'u1', item_id: id, tags: '', price: 1 }))).features['item_id']!];

describe('extendEncoders', () => {
  it('keeps every known id at its index, appends new ids (count desc, ties by key) and leaves unseen ids OOV', async () => {
    const base = await fitEncoders(await day(DAY0), CONFIG);
    expect(base.toJSON().version).toBe(1);
    const file = await day([['i2', 'd', 100], ['i4', 'd|a', 101], ['i5', '', 102], ['i4', '', 103], ['i6', '', 104], ['i5', '', 105]]);
    const { encoders, growth } = await extendEncoders(base, file, { day: 1 });
    expect(encoders.state.vocabularies['item_id']).toEqual(['i1', 'i2', 'i3', 'i4', 'i5', 'i6']);
    expect(encoders.state.vocabularies['tags']).toEqual(['a', 'b', 'c', 'd']);
    // Base had no last-seen days: its entries count as seen the day before.
    expect(encoders.state.lastSeen).toEqual({ item_id: [0, 1, 0, 1, 1, 1], tags: [1, 0, 0, 1] });
    expect(growth).toEqual({
      item_id: { size: 7, known: 1, added: 3, reused: 0, evicted: 0, evictedIds: [] },
      tags: { size: 5, known: 1, added: 1, reused: 0, evicted: 0, evictedIds: [] },
    });
    expect(item(encoders, ['i1', 'i2', 'i3', 'i4', 'i6', 'never'])).toEqual([1, 2, 3, 4, 6, 0]);
    expect(item(base, ['i1', 'i2', 'i3', 'i4'])).toEqual([1, 2, 3, 0]);
    // Numeric statistics and hash fields as base had them, though day 1's prices differ; base untouched.
    expect(encoders.state.numeric).toEqual(base.state.numeric);
    expect(encoders.schema.fields.find((f) => f.name === 'user_id')).toEqual(base.schema.fields.find((f) => f.name === 'user_id'));
    expect(base.state.vocabularies['item_id']).toEqual(['i1', 'i2', 'i3']);
    const saved = json(encoders);
    expect(saved).toMatchObject({ version: 2, day: 1 });
    expect('limits' in saved).toBe(false);
    expect(JSON.stringify(Encoders.fromJSON(saved).toJSON())).toBe(JSON.stringify(saved));
    // The weights a warm start keeps: rows 1-3 of item_id, rows 1-3 of tags.
    const changes = vocabularyRowChanges(base.toJSON(), saved);
    expect([...changes.keys()]).toEqual(['item_id', 'tags']);
    expect(changes.get('item_id')).toEqual({ rows: 7, fresh: Int32Array.from([4, 5, 6]) });
    expect(changes.get('tags')).toEqual({ rows: 5, fresh: Int32Array.from([4]) });
    expect(encodersExtensionProblems(base.toJSON(), saved)).toEqual([]);
  });

  it('evicts ids unseen for evictAfterDays, deterministically, reusing freed rows lowest first, and records it', async () => {
    const { d0, d1, d2 } = await evictionChain();
    expect(json(d0)).toMatchObject({ version: 2, day: 0, lastSeen: { item_id: [0, 0, 0], tags: [0, 0, 0] } });
    expect(d1.encoders.state.vocabularies['item_id']).toEqual(['i1', 'i2', 'i3', 'i4']);
    expect(d1.encoders.state.lastSeen!['item_id']).toEqual([0, 1, 0, 1]);
    expect(d1.growth['item_id']!.evicted).toBe(0);
    expect(d1.encoders.state.limits).toEqual({ evictAfterDays: 2 });
    // Day 2 (the limit kept from day 1): i1 and i3 were last seen on day 0 and go (oldest first, ties by key);
    // i6 (twice) and i5 take their rows 1 and 3; tags a, b, c unseen since day 0 are freed.
    const e = d2.encoders;
    expect(e.state.vocabularies).toEqual({ item_id: ['i6', 'i2', 'i5', 'i4'], tags: [null, null, null] });
    expect(e.state.lastSeen).toEqual({ item_id: [2, 1, 2, 2], tags: [-1, -1, -1] });
    expect(d2.growth).toEqual({
      item_id: { size: 5, known: 1, added: 2, reused: 2, evicted: 2, evictedIds: ['i1', 'i3'] },
      tags: { size: 4, known: 0, added: 0, reused: 0, evicted: 3, evictedIds: ['a', 'b', 'c'] },
    });
    expect(item(e, ['i1', 'i2', 'i3', 'i4', 'i5', 'i6'])).toEqual([0, 2, 0, 4, 3, 1]);
    expect(e.encodeRows([{ user_id: 'u', item_id: 'i2', tags: 'a|c', price: 1 }]).features['tags']).toEqual(Int32Array.from([0, 0]));
    // Freed rows stay in the table (indices never shift): the schema's sizes do not shrink.
    expect(e.schema.fields.find((f) => f.name === 'tags')).toMatchObject({ encoding: { kind: 'vocabulary', size: 4 } });
    const changes = vocabularyRowChanges(json(d1.encoders), json(e));
    expect(changes.get('item_id')).toEqual({ rows: 5, fresh: Int32Array.from([1, 3]) });
    expect(changes.get('tags')).toEqual({ rows: 4, fresh: Int32Array.from([1, 2, 3]) });
    expect(encodersExtensionProblems(json(d1.encoders), json(e))).toEqual([]);
    // Checked against a model's schema, freed rows count as rows (and are named as such when the sizes differ).
    expect(encodersForSchema(json(e), e.schema, 'm.json').schema).toEqual(e.schema);
    const wider = { ...e.schema, fields: e.schema.fields.map((f) => (f.name === 'tags' ? { ...f, encoding: { kind: 'vocabulary' as const, size: 5 } } : f)) };
    expect(() => encodersForSchema(json(e), wider, 'm.json')).toThrow(
      "field 'tags': the encoders give a vocabulary of 0 value(s) and 3 freed row(s), 4 rows with OOV (encoders.vocabularies.tags) but its embedding table has 5 rows (vocabulary)",
    );
    // The same inputs give the same encoders, byte for byte.
    const again = await evictionChain();
    expect(JSON.stringify(again.d2.encoders.toJSON())).toBe(JSON.stringify(e.toJSON()));
    expect(again.d2.growth).toEqual(d2.growth);
  });

  it('bounds a field by maxIds: least recently seen freed first (ties by key), never ids seen that day', async () => {
    const d0 = await fitEncoders(await day(DAY0), CONFIG, { day: 0 });
    // i1 seen on day 1, so on day 2 i2 and i3 (day 0) are older; i2 goes first by key.
    const d1 = await extendEncoders(d0, await day([['i1', '', 1]]), { day: 1 });
    const next: [string, string, number][] = [['j1', '', 1], ['i3', '', 2]];
    const d2 = await extendEncoders(d1.encoders, await day(next), { day: 2, maxIds: { item_id: 3 } });
    expect(d2.encoders.state.vocabularies['item_id']).toEqual(['i1', 'j1', 'i3']);
    expect(d2.encoders.state.lastSeen!['item_id']).toEqual([1, 2, 2]);
    expect(d2.growth['item_id']).toEqual({ size: 4, known: 1, added: 1, reused: 1, evicted: 1, evictedIds: ['i2'] });
    expect(d2.encoders.state.limits).toEqual({ maxIds: { item_id: 3 } });

    // Day 1 from day 0 with 3 new ids and room for 4: the two old ids go (i1, i2 by key), i8 (twice) and i7 reuse rows 1, 2.
    const file = await day([['i3', '', 1], ['i7', '', 2], ['i8', '', 3], ['i8', '', 4], ['i9', '', 5]]);
    const four = await extendEncoders(d0, file, { day: 1, maxIds: 4 });
    expect(four.encoders.state.vocabularies['item_id']).toEqual(['i8', 'i7', 'i3', 'i9']);
    expect(four.growth['item_id']).toEqual({ size: 5, known: 1, added: 3, reused: 2, evicted: 2, evictedIds: ['i1', 'i2'] });
    expect(four.encoders.state.limits).toEqual({ maxIds: { item_id: 4, tags: 4 } });
    // Room for 3: the day's ids alone are 4, so i3 (seen) stays and the lowest-count new id, i9 (ties by key), is not added.
    const three = await extendEncoders(d0, file, { day: 1, maxIds: { item_id: 3 } });
    expect(three.encoders.state.vocabularies['item_id']).toEqual(['i8', 'i7', 'i3']);
    expect(three.growth['item_id']).toEqual({ size: 4, known: 1, added: 2, reused: 2, evicted: 2, evictedIds: ['i1', 'i2'] });
    expect(item(three.encoders, ['i9'])).toEqual([0]);
    // Room for 5: one old id goes, i1 (tied with i2 on day 0, first by key).
    const five = await extendEncoders(d0, file, { day: 1, maxIds: { item_id: 5 } });
    expect(five.encoders.state.vocabularies['item_id']).toEqual(['i8', 'i2', 'i3', 'i7', 'i9']);
    expect(five.growth['item_id']).toMatchObject({ evictedIds: ['i1'], reused: 1, added: 3, size: 6 });
    // A fresh fit with maxIds keeps that many (the most frequent) and records it.
    const capped = await fitEncoders(await day(DAY0), CONFIG, { maxIds: { item_id: 2 } });
    expect(capped.state.vocabularies['item_id']).toEqual(['i1', 'i2']);
    expect(capped.toJSON()).toMatchObject({ version: 2, limits: { maxIds: { item_id: 2 } } });
    expect('day' in capped.toJSON()).toBe(false);
  });

  it('names the first 20 evicted ids (oldest first, ties by key) and counts them all', async () => {
    const ids = (prefix: string) => Array.from({ length: 25 }, (_, i): [string, string, number] => [`${prefix}${String(i).padStart(2, '0')}`, '', i]);
    const d0 = await fitEncoders(await day(ids('a')), CONFIG, { day: 0 });
    const { encoders, growth } = await extendEncoders(d0, await day(ids('b')), { day: 1, maxIds: { item_id: 25 } });
    expect(growth['item_id']).toEqual({ size: 26, known: 0, added: 25, reused: 25, evicted: 25, evictedIds: ids('a').slice(0, 20).map(([k]) => k) });
    expect(encoders.state.vocabularies['item_id']).toEqual(ids('b').map(([k]) => k));
  });

  it('refuses bad limits, a day before the encoders\' day and a file without a column, naming them', async () => {
    const file = await day(DAY0);
    const d1 = await fitEncoders(file, CONFIG, { day: 1 });
    const extend = (o: ExtendOptions, f = file) => extendEncoders(d1, f, o);
    await expect(extend({ day: 0 })).rejects.toThrow("day 0 is before the encoders' day 1");
    await expect(extend({ day: 1.5 })).rejects.toThrow('day: expected a whole number of at least 0, got 1.5');
    await expect(extend({ day: 2, maxIds: { user_id: 3 } })).rejects.toThrow("maxIds: field 'user_id' is not vocabulary-encoded (hash)");
    await expect(extend({ day: 2, maxIds: { price: 3 } })).rejects.toThrow("maxIds: field 'price' is not vocabulary-encoded (numeric)");
    await expect(extend({ day: 2, maxIds: { nobody: 3 } })).rejects.toThrow("maxIds: no field 'nobody' (vocabulary fields: item_id, tags)");
    await expect(extend({ day: 2, maxIds: 0 })).rejects.toThrow('maxIds: expected a whole number of at least 1, got 0');
    await expect(extend({ day: 2, evictAfterDays: 0 })).rejects.toThrow('evictAfterDays: expected a whole number of at least 1, got 0');
    const noTags = tmp('no-tags.csv');
    await writeFile(noTags, 'user_id,item_id,price,click,cart,fav,buy\nu1,i1,1,0,0,0,0\n');
    await expect(extend({ day: 2 }, noTags)).rejects.toThrow(`${noTags}, line 1 (header), column 'tags': missing column`);
    await expect(fitEncoders(file, CONFIG, { day: -1 })).rejects.toThrow('day: expected a whole number of at least 0, got -1');
  });
});

describe('encoders JSON versions', () => {
  it('writes version 1, key for key as before, when nothing of version 2 is there, and reads it back unchanged', async () => {
    const enc = await fitEncoders(await day(DAY0), CONFIG);
    const saved = json(enc);
    expect(Object.keys(saved)).toEqual(['format', 'version', 'config', 'schema', 'vocabularies', 'numeric', 'maxLength']);
    expect(saved.version).toBe(1);
    expect(JSON.stringify(Encoders.fromJSON(saved).toJSON())).toBe(JSON.stringify(saved));
    const bad = (edit: (j: Record<string, unknown>) => void) => {
      const copy = JSON.parse(JSON.stringify(saved)) as Record<string, unknown>;
      edit(copy);
      return () => Encoders.fromJSON(copy, 'm.json');
    };
    expect(bad((j) => ((j as unknown as EncodersJSON).vocabularies['item_id']![1] = null))).toThrow('m.json: invalid encoders JSON: vocabularies.item_id.1: a freed row (null) needs encoders version 2');
    expect(bad((j) => (j.day = 3))).toThrow('day: only in encoders version 2');
    expect(bad((j) => (j.version = 3))).toThrow(/invalid encoders JSON: version/);
  });

  it('refuses a damaged version 2 naming the key', async () => {
    const saved = json((await evictionChain()).d2.encoders);
    expect(() => Encoders.fromJSON(saved)).not.toThrow();
    const bad = (edit: (j: EncodersJSON) => void) => {
      const copy = JSON.parse(JSON.stringify(saved)) as EncodersJSON;
      edit(copy);
      return () => Encoders.fromJSON(copy, 'm.json');
    };
    expect(bad((j) => j.lastSeen!['item_id']!.pop())).toThrow('m.json: invalid encoders JSON: lastSeen.item_id: 3 entries but vocabularies.item_id has 4');
    expect(bad((j) => (j.vocabularies['user_id'] = [null]))).toThrow("vocabularies.user_id: field 'user_id' is not vocabulary-encoded (hash)");
    expect(bad((j) => (j.lastSeen!['user_id'] = [-1]))).toThrow("lastSeen.user_id: field 'user_id' is not vocabulary-encoded (hash)");
    expect(bad((j) => (j.vocabularies['item_id']![2] = 'i6'))).toThrow('vocabularies.item_id.2: "i6" is listed twice (entries 0 and 2); each category has one id');
    expect(bad((j) => (j.lastSeen!['item_id']![0] = -1))).toThrow('lastSeen.item_id.0: -1 (a freed row) but vocabularies.item_id.0 is "i6"');
    expect(bad((j) => (j.lastSeen!['tags']![1] = 0))).toThrow('lastSeen.tags.1: 0 but vocabularies.tags.1 is a freed row (null), which has -1');
    expect(bad((j) => (j.lastSeen!['item_id']![1] = 5))).toThrow("lastSeen.item_id.1: day 5 is after the encoders' day 2");
    expect(bad((j) => (j.limits = { maxIds: { tagz: 3 } }))).toThrow("limits.maxIds.tagz: no field 'tagz'");
  });

  it('encodersExtensionProblems names a moved id, a changed field and changed numeric statistics', async () => {
    const { d1, d2 } = await evictionChain();
    const before = json(d1.encoders);
    const after = json(d2.encoders);
    expect(encodersExtensionProblems(before, after)).toEqual([]);
    const edited = (edit: (j: EncodersJSON) => void) => {
      const copy = JSON.parse(JSON.stringify(after)) as EncodersJSON;
      edit(copy);
      return encodersExtensionProblems(before, copy);
    };
    // Day 2 evicted i1 and i3 and reused their rows (0 and 2): fine. Moving an id, dropping a row, or a reuse without limits is not.
    expect(edited((j) => (j.vocabularies['item_id'] = ['i6', 'i4', 'i5', 'i2']))).toEqual([
      'vocabularies.item_id.1: "i2" moved to entry 3; an id keeps its row',
      'vocabularies.item_id.3: "i4" moved to entry 1; an id keeps its row',
    ]);
    expect(edited((j) => ((j.vocabularies['item_id'] = ['i6', 'i2']), (j.lastSeen!['item_id'] = [2, 1])))).toEqual([
      'vocabularies.item_id.2: "i3" is gone with its row (2 entries, were 4); a freed row stays, as null',
      'vocabularies.item_id.3: "i4" is gone with its row (2 entries, were 4); a freed row stays, as null',
    ]);
    expect(edited((j) => delete j.limits)).toEqual([
      'vocabularies.item_id.0: "i1" is gone (row now "i6"), but the encoders have no limits that evict',
      'vocabularies.item_id.2: "i3" is gone (row now "i5"), but the encoders have no limits that evict',
      'vocabularies.tags.0: "a" is gone (row now null), but the encoders have no limits that evict',
      'vocabularies.tags.1: "b" is gone (row now null), but the encoders have no limits that evict',
      'vocabularies.tags.2: "c" is gone (row now null), but the encoders have no limits that evict',
    ]);
    expect(edited((j) => (j.lastSeen!['item_id']![0] = 0))).toEqual([
      `vocabularies.item_id.0: "i1" is gone and its row holds "i6", last seen on day 0, before the base's day 1`,
    ]);
    expect(edited((j) => (j.numeric['price']!.mean = 99))).toEqual([`numeric.price.mean: was ${before.numeric['price']!.mean}, now 99`]);
    expect(
      edited((j) => {
        const f = j.config.fields.find((x) => x.name === 'tags')! as { encoding: { minCount: number } };
        f.encoding.minCount = 5;
      }),
    ).toEqual(['config.fields.tags.encoding: was {"kind":"vocabulary","minCount":1}, now {"kind":"vocabulary","minCount":5}']);
    expect(edited((j) => (j.maxLength['tags'] = 1))).toEqual([`maxLength.tags: was ${before.maxLength['tags']}, now 1`]);
    expect(encodersExtensionProblems({ ...after, day: 3 }, after)).toEqual(['day: was 3, now 2; an extension is on the same or a later day']);
    expect(encodersExtensionProblems(before, { ...after, day: 'x' })[0]).toMatch(/^after: invalid encoders JSON: day: /);
    // The other way round is no extension: ids of day 2 are not in day 1's rows.
    expect(encodersExtensionProblems(after, before)).toEqual([
      `vocabularies.item_id.0: "i6" is gone and its row holds "i1", last seen on day 0, before the base's day 2`,
      `vocabularies.item_id.2: "i5" is gone and its row holds "i3", last seen on day 0, before the base's day 2`,
      'day: was 2, now 1; an extension is on the same or a later day',
    ]);
  });
});
