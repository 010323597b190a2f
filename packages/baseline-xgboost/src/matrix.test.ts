import { describe, expect, it } from 'vitest';
import { batchMatrix, gbdtColumns } from './matrix.js';
import { batchOf, SCHEMA } from './test-support/xgboost.js';

describe('the feature matrix XGBoost is fed', () => {
  const columns = gbdtColumns(SCHEMA);

  it('is row-major in schema order: ids as categories, numbers as they are, list padding as missing', () => {
    const batch = batchOf([
      { item: 3, price: -0.5, tags: [7, -1], click: 1, buy: 0 },
      { item: 0, price: NaN, tags: [15, 2], click: 0, buy: 0 },
    ]);
    expect(Array.from(batchMatrix(columns, batch))).toEqual([3, -0.5, 7, NaN, 0, NaN, 15, 2]);
  });

  it('refuses a batch that does not fit the layout, naming the feature', () => {
    const good = batchOf([{ item: 1, price: 0, tags: [1, 2], click: 0, buy: 0 }]);
    expect(() => batchMatrix(columns, { ...good, features: { ...good.features, item: Int32Array.of(2 ** 24) } })).toThrow(
      "feature 'item': id 16777216 in row 0 is out of range for XGBoost's categories [0, 2^24)",
    );
    expect(() => batchMatrix(columns, { ...good, features: { ...good.features, tags: Int32Array.of(1) } })).toThrow(
      "feature 'tags': 1 values for 1 rows, expected 2",
    );
    expect(() => batchMatrix(columns, { ...good, features: { ...good.features, price: Int32Array.of(1) } })).toThrow(
      "feature 'price': numeric, expected a Float32Array, got Int32Array",
    );
    const { item: _item, ...withoutItem } = good.features;
    expect(() => batchMatrix(columns, { ...good, features: withoutItem })).toThrow("batch has no feature 'item' needed by the GBDT model");
  });
});
