import { describe, expect, it } from 'vitest';
import { Encoders } from './encoders.js';
import { emptyListItem, rawFeatureEncodings, rawFeeds, sampleRawRows } from './raw-features.js';

function encoders(hashItem = false): Encoders {
  const config = {
    csv: {},
    labels: { click: 'click', daction: ['cart'], buy: 'buy' },
    fields: [
      { kind: 'categorical' as const, name: 'user', column: 'user_id', encoding: { kind: 'vocabulary' as const, minCount: 1 } },
      {
        kind: 'categorical' as const,
        name: 'item',
        column: 'item_id',
        encoding: hashItem ? { kind: 'hash' as const, buckets: 16 } : { kind: 'vocabulary' as const, minCount: 1 },
      },
      { kind: 'multiCategorical' as const, name: 'tags', column: 'tags', encoding: { kind: 'vocabulary' as const, minCount: 1 }, separator: '|', maxLength: 8, pooling: 'mean' as const },
      { kind: 'numeric' as const, name: 'price', column: 'price', normalization: 'zscore' as const },
      { kind: 'numeric' as const, name: 'age', column: 'age', normalization: 'minmax' as const },
    ],
    keys: [],
    truth: {},
  };
  const state = {
    vocabularies: { user: ['u1', 'u2'], item: ['7', 'i2'], tags: ['a', 'b', 'c'] },
    numeric: { price: { count: 4, mean: 30, std: 4, min: 20, max: 40 }, age: { count: 4, mean: 40, std: 9, min: 20, max: 70 } },
    maxLength: { tags: 3 },
  };
  return new Encoders(config, state);
}

describe('rawFeatureEncodings', () => {
  it('describes each field as the encoders apply it: vocabulary, fitted list length, normalisation as shift and scale', () => {
    const enc = encoders();
    const described = rawFeatureEncodings(enc);
    expect(described).toEqual([
      { kind: 'categorical', name: 'user', column: 'user_id', encoding: { kind: 'vocabulary', values: ['u1', 'u2'] } },
      { kind: 'categorical', name: 'item', column: 'item_id', encoding: { kind: 'vocabulary', values: ['7', 'i2'] } },
      { kind: 'multiCategorical', name: 'tags', column: 'tags', encoding: { kind: 'vocabulary', values: ['a', 'b', 'c'] }, maxLength: 3, separator: '|' },
      { kind: 'numeric', name: 'price', column: 'price', shift: 30, scale: 0.25 },
      { kind: 'numeric', name: 'age', column: 'age', shift: 20, scale: 1 / 50 },
    ]);
    // The affine form is the encoders' own arithmetic.
    const price = described[3] as { shift: number; scale: number };
    const batch = enc.encodeRows([{ user_id: 'u1', item_id: 'i2', tags: 'a', price: 37, age: 45 }]);
    expect(batch.features.price![0]).toBe(Math.fround((37 - price.shift) * price.scale));
    expect(rawFeatureEncodings(encoders(true))[1]).toEqual({ kind: 'categorical', name: 'item', column: 'item_id', encoding: { kind: 'hash', buckets: 16 } });
  });
});

describe('rawFeeds', () => {
  it('turns JSON rows into string and float tensors: lists split, truncated and padded with "", missing categories ""', () => {
    const feeds = rawFeeds(rawFeatureEncodings(encoders()), [
      { user_id: 'u2', item_id: 7, tags: 'a|b|c|d', price: 31, age: 20 },
      { user: null, item_id: 'i9', tags: ['c', 5], price: '12.5', age: 1 },
      { user_id: '', item_id: 'i2', tags: 'a||b', price: 0, age: 2 },
      { user_id: 'u1', item_id: 'i2', tags: '', price: 0, age: 3 },
    ]);
    expect(feeds.user).toEqual({ shape: [4], data: ['u2', '', '', 'u1'] });
    expect(feeds.item).toEqual({ shape: [4], data: ['7', 'i9', 'i2', 'i2'] });
    expect(feeds.tags).toEqual({ shape: [4, 3], data: ['a', 'b', 'c', 'c', '5', '', 'a', '\u0001', 'b', '', '', ''] });
    expect(feeds.price).toEqual({ shape: [4], data: Float32Array.of(31, 12.5, 0, 0) });
    // The empty item's stand-in is never a vocabulary value (it must stay OOV).
    const tags = { kind: 'multiCategorical' as const, name: 't', column: 't', separator: '|', maxLength: 2 };
    expect(emptyListItem({ ...tags, encoding: { kind: 'vocabulary', values: ['\u0001', 'x'] } })).toBe('\u0001\u0001');
  });

  it('refuses a missing key or a missing number, naming the row and field, as the encoders do', () => {
    const e = rawFeatureEncodings(encoders());
    expect(() => rawFeeds(e, [{ user_id: 'u1', item_id: 'i2', tags: 'a', age: 1 }])).toThrow("row 0, field 'price': missing");
    expect(() => rawFeeds(e, [{ user_id: 'u1', item_id: 'i2', tags: 'a', price: 1, age: 1 }, { user_id: 'u1', item_id: 'i2', tags: 'a', price: null, age: 1 }])).toThrow(
      "row 1, field 'price': missing value",
    );
  });
});

describe('sampleRawRows', () => {
  it('covers every vocabulary value, unseen and missing categories, and lists past maxLength; the encoders take every row', () => {
    const enc = encoders();
    const rows = sampleRawRows(rawFeatureEncodings(enc), 24);
    const batch = enc.encodeRows(rows);
    expect(new Set(batch.features.user)).toEqual(new Set([0, 1, 2]));
    expect(rows.some((r) => r.user_id === null)).toBe(true);
    expect(rows.some((r) => String(r.user_id).startsWith('unseen'))).toBe(true);
    const tags = batch.features.tags!;
    expect(new Set(tags)).toEqual(new Set([-1, 0, 1, 2, 3]));
    expect(rows.some((r) => String(r.tags).split('|').length > 3)).toBe(true);
    expect(rows.some((r) => String(r.tags).split('|').slice(0, 3).includes('') && r.tags !== '')).toBe(true);
    const price = [...batch.features.price!];
    expect(Math.min(...price)).toBeCloseTo(-1, 5);
    expect(Math.max(...price)).toBeCloseTo(1, 5);
  });
});
