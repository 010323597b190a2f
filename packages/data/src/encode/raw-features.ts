import { BadValueError } from '../errors.js';
import type { Encoders } from './encoders.js';
import { affineNormalization } from './numeric.js';
import { categoryKey, listItems, parseNumeric } from './values.js';

/** How a categorical field's ids are made: vocabulary ids 1..n (0 for unseen and missing), or hash buckets. */
export type RawIdEncoding = { kind: 'vocabulary'; values: readonly string[] } | { kind: 'hash'; buckets: number };

/**
 * What the encoders do to one field at scoring time, as plain data, so an
 * exporter can rebuild the same lookup and arithmetic elsewhere (the
 * raw-feature ONNX export puts it into the graph).
 */
export type RawFeatureEncoding =
  | { kind: 'categorical'; name: string; column: string; encoding: RawIdEncoding }
  /** Items split on `separator`, the first `maxLength` kept, the rest padded with id −1. */
  | { kind: 'multiCategorical'; name: string; column: string; encoding: RawIdEncoding; maxLength: number; separator: string }
  /** x ↦ (x − shift) · scale; a missing or non-finite value is refused, not imputed. */
  | { kind: 'numeric'; name: string; column: string; shift: number; scale: number };

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
 * An item inside a list that is empty (`"a||b"`, a null array element): the
 * encoders give it the OOV id 0, while "" in a raw list tensor means "no
 * item" (padding). A string no vocabulary holds keeps it OOV.
 */
export const EMPTY_LIST_ITEM = '\u0000';

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
      for (let i = 0; i < n; i++) {
        const items = listItems(cell(i), e.separator);
        for (let j = 0; j < Math.min(L, items.length); j++) data[i * L + j] = categoryKey(items[j]) ?? EMPTY_LIST_ITEM;
      }
      feeds[e.name] = { shape: [n, L], data };
    }
  }
  return feeds;
}
