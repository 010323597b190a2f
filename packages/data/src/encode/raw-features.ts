import type { RawFeatureEncoding, RawIdEncoding } from '@esm2/core';
import { BadValueError } from '../errors.js';
import type { Encoders } from './encoders.js';
import { affineNormalization } from './numeric.js';
import { categoryKey, listItems, parseNumeric } from './values.js';

/** The encodings are core's types (RawFeatureEncoding, RawIdEncoding): exporters read them without depending on this package. */
export type { RawFeatureEncoding, RawIdEncoding } from '@esm2/core';

/** The encoders' per-field encodings, in schema order (the model's input order). */
export function rawFeatureEncodings(encoders: Encoders): RawFeatureEncoding[] {
  return encoders.config.fields.map((f): RawFeatureEncoding => {
    if (f.kind === 'numeric') {
      const stats = encoders.state.numeric[f.name];
      if (!stats) throw new Error(`encoders: no statistics for numeric field '${f.name}'`);
      return { kind: 'numeric', name: f.name, column: f.column, ...affineNormalization(f.normalization, stats) };
    }
    let encoding: RawIdEncoding;
    if (f.encoding.kind === 'hash') encoding = { kind: 'hash', buckets: f.encoding.buckets };
    else {
      const values = encoders.state.vocabularies[f.name];
      if (!values) throw new Error(`encoders: no vocabulary for field '${f.name}'`);
      encoding = { kind: 'vocabulary', values };
    }
    if (f.kind === 'categorical') return { kind: 'categorical', name: f.name, column: f.column, encoding };
    const field = encoders.schema.fields.find((s) => s.name === f.name);
    const maxLength = field?.kind === 'multiCategorical' ? field.maxLength : f.maxLength;
    return { kind: 'multiCategorical', name: f.name, column: f.column, encoding, maxLength, separator: f.separator };
  });
}

/** One raw-feature tensor: strings for categories (row-major), float32 for numerics. */
export type RawFeed = { shape: number[]; data: string[] } | { shape: number[]; data: Float32Array };

/**
 * What an empty item inside a list (`"a||b"`, a null array element) becomes
 * in a raw list tensor: the encoders give it the OOV id 0, while "" there
 * means "no item" (padding), so it is sent as a string the field's
 * vocabulary does not hold. (Not NUL: onnxruntime reads strings as C strings.)
 */
export function emptyListItem(e: RawFeatureEncoding & { encoding: RawIdEncoding }): string {
  const values = e.encoding.kind === 'vocabulary' ? e.encoding.values : [];
  let key = '\u0001';
  while (values.includes(key)) key += '\u0001';
  return key;
}

/**
 * JSON rows (as the scorer takes them) as the raw-feature ONNX model's
 * inputs, one per field named after it: categorical `[n]` strings ("" for
 * missing), multi-valued `[n, maxLength]` strings (the row's items split and
 * truncated as the encoders do, padded with ""), numeric `[n]` float32. A
 * missing key or bad number is a BadValueError naming the row and field.
 */
export function rawFeeds(encodings: readonly RawFeatureEncoding[], rows: readonly Record<string, unknown>[]): Record<string, RawFeed> {
  const n = rows.length;
  const feeds: Record<string, RawFeed> = {};
  for (const e of encodings) {
    const cell = (i: number): unknown => {
      const row = rows[i];
      if (row === null || typeof row !== 'object') throw new BadValueError(`row ${i}: expected an object`);
      const key = e.column in row ? e.column : e.name in row ? e.name : undefined;
      if (key === undefined) throw new BadValueError(`row ${i}, field '${e.name}': missing`);
      return row[key];
    };
    if (e.kind === 'numeric') {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = parseNumeric(cell(i));
        if (typeof x === 'string') throw new BadValueError(`row ${i}, field '${e.name}': ${x}`);
        data[i] = x;
      }
      feeds[e.name] = { shape: [n], data };
    } else if (e.kind === 'categorical') {
      feeds[e.name] = { shape: [n], data: Array.from({ length: n }, (_, i) => categoryKey(cell(i)) ?? '') };
    } else {
      const L = e.maxLength;
      const data = new Array<string>(n * L).fill('');
      let empty: string | undefined;
      for (let i = 0; i < n; i++) {
        const items = listItems(cell(i), e.separator);
        for (let j = 0; j < Math.min(L, items.length); j++) data[i * L + j] = categoryKey(items[j]) ?? (empty ??= emptyListItem(e));
      }
      feeds[e.name] = { shape: [n, L], data };
    }
  }
  return feeds;
}

/**
 * `n` JSON rows (keyed by source column) that exercise every encoder: each
 * vocabulary value in turn, an unseen value and a missing one per
 * categorical field; lists from empty to longer than maxLength, with unseen
 * and empty items; numbers across about ±1 of the normalised range. For checking an
 * export against the encoders.
 */
export function sampleRawRows(encodings: readonly RawFeatureEncoding[], n: number): Record<string, unknown>[] {
  const values = (e: RawFeatureEncoding & { encoding: RawIdEncoding }) =>
    e.encoding.kind === 'vocabulary' ? e.encoding.values.filter((v): v is string => v !== null) : [];
  return Array.from({ length: n }, (_, i) => {
    const row: Record<string, unknown> = {};
    for (const [f, e] of encodings.entries()) {
      if (e.kind === 'numeric') {
        row[e.column] = e.scale > 0 ? e.shift + ((i % 9) - 4) / (4 * e.scale) : e.shift + i;
      } else if (e.kind === 'categorical') {
        const v = values(e);
        const k = (i + f) % (v.length + 2);
        row[e.column] = k < v.length ? v[k] : k === v.length ? `unseen-${i}` : null;
      } else {
        const v = values(e);
        const item = (j: number) => ((i + j) % 7 === 6 ? '' : v.length === 0 || (i + j) % 4 === 3 ? `unseen-${i}-${j}` : v[(i + j) % v.length]);
        const items = Array.from({ length: (i + f) % (e.maxLength + 2) }, (_, j) => item(j));
        row[e.column] = items.join(e.separator);
      }
    }
    return row;
  });
}
