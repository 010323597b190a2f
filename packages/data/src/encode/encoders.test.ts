import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/tmp.js';
import { Encoders, type EncodersJSON } from './encoders.js';
import type { FieldEncoder } from './field-encoder.js';
import { RowWriter } from './row-writer.js';
import { categoryKey } from './values.js';
import { Vocabulary } from './vocabulary.js';
import { fitEncoders } from './fit.js';

const tmp = await tempDir();

const CSV = [
  'user_id,item_id,tags,price,click,cart,fav,buy',
  'u1,i1,a|b,10.5,1,1,0,1',
  'u1,i2,a,20.0,0,0,0,0',
  'u2,i1,b|c|d,30.5,1,0,1,0',
  'u3,i3,,40.0,0,0,0,0',
  'u2,i1,a|b,50.5,1,0,0,0',
].join('\n') + '\n';

async function fitted(config: Parameters<typeof fitEncoders>[1] = {}) {
  const file = tmp(`data-${Math.random().toString(36).slice(2)}.csv`);
  await writeFile(file, CSV);
  return fitEncoders(file, config);
}

describe('fitEncoders', () => {
  it('infers labels (cart OR fav as DAction), kinds and vocabularies in one pass', async () => {
    const enc = await fitted();
    expect(enc.config.labels).toEqual({ click: 'click', daction: ['cart', 'fav'], buy: 'buy' });
    expect(enc.schema.userField).toBe('user_id');
    expect(enc.schema.fields.map((f) => [f.name, f.kind])).toEqual([
      ['user_id', 'categorical'], ['item_id', 'categorical'], ['tags', 'multiCategorical'], ['price', 'numeric'],
    ]);
    // u1 and u2 twice, u3 once: ids by descending count, ties by value; size counts the OOV row.
    expect(enc.state.vocabularies['user_id']).toEqual(['u1', 'u2', 'u3']);
    expect(enc.schema.fields[0]).toMatchObject({ encoding: { kind: 'vocabulary', size: 4 } });
    expect(enc.schema.fields[2]).toMatchObject({ maxLength: 3 });
    expect(enc.state.numeric['price']).toMatchObject({ count: 5, mean: 30.3, min: 10.5, max: 50.5 });
  });

  it('drops rare values to OOV with minCount, and hashes on request', async () => {
    const enc = await fitted({ minCount: 2, hash: { item_id: 16 } });
    expect(enc.state.vocabularies['user_id']).toEqual(['u1', 'u2']);
    expect(enc.schema.fields[1]).toMatchObject({ encoding: { kind: 'hash', buckets: 16 } });
    const b = enc.encodeRows([{ user_id: 'u3', item_id: 'i1', tags: ['a', 'zzz'], price: 30.3 }]);
    expect(b.features['user_id']).toEqual(Int32Array.from([0]));
    const item = b.features['item_id']![0]!;
    expect(item).toBeGreaterThanOrEqual(1);
    expect(item).toBeLessThan(16);
  });
});

describe('Encoders', () => {
  it('round-trips through JSON and encodes identically', async () => {
    const enc = await fitted();
    const json = JSON.parse(JSON.stringify(enc.toJSON())) as EncodersJSON;
    const back = Encoders.fromJSON(json);
    expect(back.schema).toEqual(enc.schema);
    const rows = [
      { user_id: 'u2', item_id: 'i9', tags: 'b|c', price: 30.3, click: 1, cart: 0, fav: 1, buy: 0 },
      { user_id: 'new', item_id: 'i1', tags: ['a', 'b', 'c', 'd', 'e'], price: 50.5 },
    ];
    expect(back.encodeRows(rows)).toEqual(enc.encodeRows(rows));
    expect(() => Encoders.fromJSON({ ...json, version: 3 })).toThrow('invalid encoders JSON: version');
  });

  it('refuses malformed encoders JSON naming the source and every bad key', async () => {
    const json = JSON.parse(JSON.stringify((await fitted()).toJSON())) as EncodersJSON;
    const bad = (edit: (j: EncodersJSON) => void) => {
      const copy = JSON.parse(JSON.stringify(json)) as EncodersJSON;
      edit(copy);
      return () => Encoders.fromJSON(copy, 'runs/x/model.json');
    };
    expect(bad((j) => ((j.config.fields[1] as { kind: string }).kind = 'categorial'))).toThrow(/^runs\/x\/model\.json: invalid encoders JSON: config\.fields\.1\.kind: /);
    expect(bad((j) => delete j.numeric.price)).toThrow("runs/x/model.json: invalid encoders JSON: numeric.price: missing: numeric field 'price' needs its statistics");
    expect(bad((j) => delete j.vocabularies.user_id)).toThrow("vocabularies.user_id: missing: field 'user_id' is vocabulary-encoded");
    expect(bad((j) => ((j.vocabularies.tags as unknown[])[1] = 7))).toThrow(/vocabularies\.tags\.1: Invalid input: expected string/);
    expect(bad((j) => (j.numeric.price!.std = -1))).toThrow(/numeric\.price\.std: /);
    expect(bad((j) => (j.maxLength.tags = 0))).toThrow(/maxLength\.tags: /);
    expect(bad((j) => (j.config.csv = { delimiter: ';;' }))).toThrow(/config\.csv\.delimiter: /);
    expect(bad((j) => delete (j.config.fields[0] as { column?: string }).column)).toThrow(/config\.fields\.0\.column: /);
    expect(bad((j) => (j.config.truth = { pctr: 'true_pctr', pcvr2: 'x' } as EncodersJSON['config']['truth']))).toThrow(/config\.truth/);
    expect(bad((j) => (j.config.userField = 'nobody'))).toThrow("config.userField: 'nobody' is not a field");
    expect(bad((j) => ((j as unknown as Record<string, unknown>).vocabulary = j.vocabularies))).toThrow(/vocabulary: unknown key/);
    expect(bad((j) => (j.schema.fields = []))).toThrow(/schema\.fields: /);
    expect(bad((j) => (j.vocabularies.user_id = ['u1', 'u2', 'u1']))).toThrow(
      'runs/x/model.json: invalid encoders JSON: vocabularies.user_id.2: "u1" is listed twice (entries 0 and 2); each category has one id',
    );
    expect(() => Encoders.fromJSON(json, 'runs/x/model.json')).not.toThrow();
  });

  it('refuses to build (and so to save) encoders whose vocabulary lists a category twice', async () => {
    const enc = await fitted();
    const state = { ...enc.state, vocabularies: { ...enc.state.vocabularies, user_id: ['u1', 'u2', 'u2'] } };
    expect(() => new Encoders(enc.config, state)).toThrow('vocabulary: "u2" is listed twice (entries 1 and 2); each category has one id');
  });

  it('encodes unknown values as OOV, pads lists with -1 and normalises numbers', async () => {
    const enc = await fitted();
    const b = enc.encodeRows([
      { user_id: 'nobody', item_id: 12345, tags: ['b', 'never-seen'], price: 30.3 },
      { user_id: 'u1', item_id: 'i1', tags: null, price: 30.3 + Math.sqrt(1000.3 / 5) }, // population std of the 5 prices
    ]);
    expect(b.size).toBe(2);
    expect(b.features['user_id']).toEqual(Int32Array.from([0, 1]));
    expect(b.features['item_id']).toEqual(Int32Array.from([0, 1]));
    // 'b' is the second most frequent tag (a: 3, b: 3 → tie broken by value; c, d: 1).
    expect(b.features['tags']).toEqual(Int32Array.from([2, 0, -1, -1, -1, -1]));
    const price = b.features['price'] as Float32Array;
    expect(price[0]).toBeCloseTo(0, 5);
    expect(price[1]).toBeCloseTo(1, 4);
    expect(b.labels.click).toEqual(new Float32Array(2));
    expect(b.userIds).toEqual(Int32Array.from([0, 1]));
  });

  it('names the row and field of a missing or mistyped value', async () => {
    const enc = await fitted();
    const ok = { user_id: 'u1', item_id: 'i1', tags: 'a', price: 1 };
    expect(() => enc.encodeRows([ok, { ...ok, price: undefined }])).toThrow("row 1, field 'price': expected a number, got undefined");
    const { item_id: _drop, ...noItem } = ok;
    expect(() => enc.encodeRows([ok, ok, noItem])).toThrow("row 2, field 'item_id': missing");
    expect(() => enc.encodeRows([{ ...ok, price: '3' }])).toThrow("row 0, field 'price': expected a number, got string");
    expect(() => enc.encodeRows([{ ...ok, user_id: { id: 1 } }])).toThrow("row 0, field 'user_id': expected a string or number, got object");
    expect(() => enc.encodeRows([{ ...ok, tags: [1, [2]] }])).toThrow("row 0, field 'tags': expected an array of strings or numbers, got array");
    expect(() => enc.encodeRows([{ ...ok, click: 0, buy: 1 }])).toThrow("row 0, field 'buy': buy=1 but click=0");
  });
});

describe('fitEncoders: base rates for a calibrated start', () => {
  it('counts the labels of the rows it keeps and gives Laplace-smoothed tower rates', async () => {
    const file = tmp(`rates-${Math.random().toString(36).slice(2)}.csv`);
    // CSV's 5 rows, plus one that breaks the funnel (cart without a click): skipped, so not counted.
    await writeFile(file, `${CSV}u4,i9,a,9.0,0,1,0,0\n`);
    let labels: unknown;
    const enc = await fitEncoders(file, {}, { onBadRow: 'skip', rejectFile: tmp(`rates-${Math.random().toString(36).slice(2)}.rejects.csv`), onDone: (r) => (labels = r.labels) });
    // clicks: rows 1, 3, 5; DAction (cart OR fav): rows 1, 3; the one purchase follows row 1's DAction.
    expect(labels).toEqual({ rows: 5, clicks: 3, dactions: 2, buys: 1, dactionBuys: 1, oactionBuys: 0 });
    const r = enc.baseRates!;
    expect(r.ctr).toBeCloseTo(4 / 7, 12);
    expect(r.dactionGivenClick).toBeCloseTo(3 / 5, 12);
    expect(r.buyGivenDAction).toBeCloseTo(2 / 4, 12);
    expect(r.buyGivenOAction).toBeCloseTo(1 / 3, 12); // no purchase after the one OAction: kept off 0
    expect(r.buyGivenClick).toBeCloseTo(2 / 5, 12);
  });
});

describe('column names that collide once made field names', () => {
  const lines = (header: string) => [header, 'a,p,u,1,1', 'b,q,v,0,0', 'a,q,u,1,0'].join('\n') + '\n';
  const fitOn = async (header: string, config: Parameters<typeof fitEncoders>[1] = {}) => {
    const file = tmp(`collide-${Math.random().toString(36).slice(2)}.csv`);
    await writeFile(file, lines(header));
    return { file, fit: () => fitEncoders(file, config) };
  };

  it('are refused when fitting, naming both columns', async () => {
    // `x y` becomes field x_y, which is also the column x_y; `x-y` stays as it is.
    const both = await fitOn('x y,x_y,x-y,click,buy');
    await expect(both.fit()).rejects.toThrow(`${both.file}, line 1 (header), column 'x_y': columns 'x y' and 'x_y' both become field 'x_y'`);
    const two = await fitOn('a b,a?b,c,click,buy');
    await expect(two.fit()).rejects.toThrow("columns 'a b' and 'a?b' both become field 'a_b'");
    // Not a feature, but still a key a row may carry: x_y would mean either.
    const excluded = await fitOn('x y,x_y,c,click,buy', { exclude: ['x_y'] });
    await expect(excluded.fit()).rejects.toThrow("column 'x y' becomes field 'x_y', which is also the name of column 'x_y': a request row keyed 'x_y' would mean either");
    const declared = await fitOn('x y,x_y,c,click,buy', { fields: [{ kind: 'categorical', name: 'x_y', column: 'x y' }, { kind: 'categorical', name: 'c' }] });
    await expect(declared.fit()).rejects.toThrow("column 'x y' is read by field 'x_y', which is also the name of column 'x_y'");
    // Sanitised names that collide with nothing are fine.
    const fine = await fitOn('x y,q,x-y,click,buy');
    expect((await fine.fit()).config.fields.map((f) => [f.name, f.column])).toEqual([['x_y', 'x y'], ['q', 'q'], ['x-y', 'x-y']]);
  });

  /** Encoders as fitting numbered such columns before: field x_y reads `x y`, field x_y_2 reads `x_y`. */
  async function numberedEncoders(): Promise<Encoders> {
    const json = (await (await fitOn('x y,q,x-y,click,buy')).fit()).toJSON();
    const rename = <T extends { name: string }>(f: T): T => (f.name === 'q' ? { ...f, name: 'x_y_2', column: 'x_y' } : f);
    json.config.fields = json.config.fields.map(rename);
    json.schema.fields = json.schema.fields.map(rename);
    json.vocabularies = { x_y: json.vocabularies['x_y']!, x_y_2: json.vocabularies['q']!, 'x-y': json.vocabularies['x-y']! };
    return Encoders.fromJSON(JSON.parse(JSON.stringify(json)));
  }

  it("score a field sent under its name the same when its column is also a key column (the key is not taken for the field's value)", async () => {
    const enc = await (await fitOn('user id,item,x,click,buy', { keys: ['user id'] })).fit();
    expect(enc.keysOf('user_id')).toEqual(['user id', 'user_id']);
    const byColumn = enc.encodeRows([{ 'user id': 'a', item: 'p', x: 'u' }, { 'user id': 'b', item: 'p', x: 'u' }]);
    const byName = enc.encodeRows([{ user_id: 'a', item: 'p', x: 'u' }, { user_id: 'b', item: 'p', x: 'u' }]);
    expect([...byColumn.features['user_id']!].every((id) => id > 0)).toBe(true);
    expect(byName.features['user_id']).toEqual(byColumn.features['user_id']);
    expect(byName.keys).toEqual(byColumn.keys);
  });

  it('are read by column only in encoders saved before: a name that is another column is never taken for its field', async () => {
    const enc = await numberedEncoders();
    expect(enc.keysOf('x_y')).toEqual(['x y']);
    expect(enc.keysOf('x_y_2')).toEqual(['x_y', 'x_y_2']);
    expect(enc.keysOf('x-y')).toEqual(['x-y']);
    // Keyed by columns, each field gets its own column.
    const b = enc.encodeRows([{ 'x y': 'b', x_y: 'p', 'x-y': 'u' }]);
    expect(b.features['x_y']).toEqual(Int32Array.from([enc.state.vocabularies['x_y']!.indexOf('b') + 1]));
    expect(b.features['x_y_2']).toEqual(Int32Array.from([enc.state.vocabularies['x_y_2']!.indexOf('p') + 1]));
    // A row keyed x_y meant for field x_y is refused, not scored with column x_y's value.
    expect(() => enc.encodeRows([{ x_y: 'b', 'x-y': 'u' }])).toThrow("row 0, field 'x_y': missing (send it as 'x y': 'x_y' is the name of another column)");
    // Keyed by field names: x_y would be read for both x_y and x_y_2 (and x_y_2's value dropped); refused.
    expect(() => enc.encodeRows([{ x_y: 'b', x_y_2: 'p', 'x-y': 'u' }])).toThrow("row 0, field 'x_y': missing");
    // A field given under both of its keys is refused rather than one value dropped.
    expect(() => enc.encodeRows([{ 'x y': 'b', x_y: 'p', x_y_2: 'q', 'x-y': 'u' }])).toThrow("row 0, field 'x_y_2': given twice, as 'x_y' and as 'x_y_2'");
  });
});

describe('rowWriter (the scorer\'s fast path)', () => {
  it('writes what encodeRows encodes, and answers false for anything encodeRows would refuse or must read itself', async () => {
    const enc = await fitted();
    const writer = enc.rowWriter()!;
    expect(writer).toBeDefined();
    const rows = [
      { user_id: 'u2', item_id: 'i9', tags: 'b|c', price: 30.3 },
      { user_id: 'new', item_id: 3, tags: ['a', 'b', 7, 'd', 'e'], price: 50.5 },
      { user_id: null, item_id: 'i1', tags: '', price: -1 },
      { user_id: 'u1', item_id: 'i1', tags: null, price: 0 },
    ];
    // Written at row 1 of arrays for 6 rows: the rows around are left alone.
    const out = writer.allocate(6);
    expect(writer.writeRows(rows, out, 1)).toBe(true);
    const { features } = enc.encodeRows(rows);
    for (const [name, values] of Object.entries(features)) {
      const width = writer.width(name)!;
      expect(out[name]!.subarray(width, 5 * width), name).toEqual(values);
      expect([...out[name]!.subarray(0, width), ...out[name]!.subarray(5 * width)].every((x) => x === 0), name).toBe(true);
    }
    const columns = writer.allocate(4);
    expect(writer.writeColumns((c) => rows.map((r) => (r as Record<string, unknown>)[c]), 4, columns, 0)).toBe(true);
    expect(columns).toEqual(features);
    const good = rows[0]!;
    for (const bad of [
      { ...good, click: 1 },
      { ...good, colour: 'red' },
      { user_id: 'u1', item_id: 'i1', tags: 'a' },
      { ...good, price: '30' },
      { ...good, user_id: true },
      { ...good, tags: 3 },
      { ...good, tags: [{}] },
      JSON.parse('{"user_id": "u1", "item_id": "i1", "tags": "a", "price": 1, "__proto__": 2}') as object,
    ]) {
      expect(writer.writeRows([good, bad], writer.allocate(2), 0), JSON.stringify(bad)).toBe(false);
    }
    expect(writer.writeColumns((c) => (c === 'price' ? [1, NaN] : ['a', 'b']), 2, writer.allocate(2), 0)).toBe(false);
    // Rows that are not objects, even where the fields' columns are indices: encodeRows' caller refuses them.
    const indexed = new Encoders({ ...enc.config, fields: enc.config.fields.map((f, i) => ({ ...f, column: String(i) })) }, enc.state).rowWriter()!;
    const asObject = { 0: 'u1', 1: 'i1', 2: 'a', 3: 1 };
    expect(indexed.writeRows([asObject], indexed.allocate(1), 0)).toBe(true);
    for (const bad of [['u1', 'i1', 'a', 1], 'u1a1', 1, null]) expect(indexed.writeRows([asObject, bad], indexed.allocate(2), 0), JSON.stringify(bad)).toBe(false);
  });

  it('is not built for encoders whose keys mean more than one thing to encodeRows', () => {
    const id = () => 0;
    const cat = (name: string, column = name, nameKey?: string): FieldEncoder => ({ kind: 'categorical', name, column, id, ...(nameKey ? { nameKey } : {}) });
    const labels = ['click', 'cart', 'buy'];
    expect(RowWriter.build([cat('a'), cat('b_c', 'b c', 'b_c')], labels, ['a'], ['p'])).toBeDefined();
    expect(RowWriter.build([cat('click')], labels, [], [])).toBeUndefined();
    expect(RowWriter.build([cat('constructor')], labels, [], [])).toBeUndefined();
    expect(RowWriter.build([cat('a'), cat('a2', 'a')], labels, [], [])).toBeUndefined();
    expect(RowWriter.build([cat('b_c', 'b c', 'b_c')], labels, ['b c'], [])).toBeUndefined();
    expect(RowWriter.build([cat('a')], labels, ['k'], ['k'])).toBeUndefined();
    expect(RowWriter.build([cat('a')], labels, [], ['a'])).toBeUndefined();
  });
});

describe('Vocabulary', () => {
  it('gives integer cells the id of their text, through the table of small integers or not', () => {
    const values = ['7', '007', '0', 'x', null, '12', '1.5', '-3', '1000000', '99'];
    const vocab = new Vocabulary(values);
    // The id by the definition: the category's text, looked up among the entries (categoryKey).
    const byText = (v: unknown) => {
      const key = categoryKey(v);
      const i = key === null ? -1 : values.indexOf(key);
      return i < 0 ? 0 : i + 1;
    };
    const cells = [7, 0, -0, 12, 99, 100, 3, 1.5, -3, 1_000_000, 2 ** 40, NaN, Infinity, 7.000001, null, undefined, 5n, 12n, true];
    const texts = ['7', '007', '0', '00', '12', '99', '100', '', '-3', '1.5', '1000000', '999999999', '1000000000', '12a', ' 7', 'x'];
    for (const v of [...cells, ...texts]) expect(vocab.id(v), JSON.stringify(String(v))).toBe(byText(v));
    for (let k = 0; k < 200; k++) expect([vocab.id(k), vocab.id(String(k))]).toEqual([byText(k), byText(String(k))]);
  });
});
