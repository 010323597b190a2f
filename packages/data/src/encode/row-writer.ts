import type { FieldEncoder } from './field-encoder.js';

/**
 * Batch-wide feature arrays by field name, laid out as a Batch's features
 * (a multi-valued field's rows are `maxLength` wide); a writer fills rows
 * [at, at + n) of each.
 */
export type FeatureArrays = Record<string, Int32Array | Float32Array>;

const CATEGORICAL = 0;
const MULTI = 1;
const NUMERIC = 2;

/** A row key that is allowed but feeds no field (key and truth columns): skipped. */
const IGNORED = -1;

/**
 * The scorer's fast path: JSON rows (or columns) of well-formed requests
 * written straight into batch-wide arrays, one pass over each row's keys,
 * with the very id and normalisation functions encodeRows uses, so the
 * values written are the ones encodeRows gives. It never refuses: when
 * anything is off (an unknown or label key, a missing field, a field given
 * twice, a wrong type, a non-finite number) it answers false, and the
 * caller runs encodeRows, which names the problem exactly as always (or
 * handles what only it handles: labels are checked when present). Rows
 * written before a false are garbage the caller overwrites.
 *
 * Built by `Encoders.rowWriter()`, which gives none for encoders whose
 * columns overlap (a label, key or truth column that is also a field's,
 * two fields reading one column): there encodeRows' order of reading
 * decides, and every request takes that path.
 */
export class RowWriter {
  private readonly kinds: Int8Array;
  private readonly names: string[];
  private readonly columns: string[];
  private readonly nameKeys: (string | undefined)[];
  private readonly ids: ((v: unknown) => number)[];
  private readonly norms: ((x: number) => number)[];
  private readonly widths: Int32Array;
  private readonly separators: string[];
  /** Row key → the field it gives (column or name), or IGNORED; absent: the row needs encodeRows. */
  private readonly slots: Map<string, number>;

  private constructor(fields: readonly FieldEncoder[], ignored: readonly string[]) {
    const F = fields.length;
    this.kinds = new Int8Array(F);
    this.widths = new Int32Array(F);
    this.names = [];
    this.columns = [];
    this.nameKeys = [];
    this.ids = [];
    this.norms = [];
    this.separators = [];
    this.slots = new Map();
    for (const c of ignored) this.slots.set(c, IGNORED);
    const none = () => 0;
    fields.forEach((e, f) => {
      this.names.push(e.name);
      this.columns.push(e.column);
      this.nameKeys.push(e.nameKey);
      this.slots.set(e.column, f);
      if (e.nameKey !== undefined) this.slots.set(e.nameKey, f);
      this.kinds[f] = e.kind === 'categorical' ? CATEGORICAL : e.kind === 'multiCategorical' ? MULTI : NUMERIC;
      this.widths[f] = e.kind === 'multiCategorical' ? e.maxLength : 1;
      this.ids.push(e.kind === 'numeric' ? none : e.id);
      this.norms.push(e.kind === 'numeric' ? e.norm : none);
      this.separators.push(e.kind === 'multiCategorical' ? e.separator : '');
    });
  }

  /**
   * The writer for these fields, or undefined when a key means more than
   * one thing to encodeRows: a field's key that is also a label column, a
   * truth column, another field's key, or an Object.prototype property
   * (`in` would find it on every row); a truth column that is a key
   * column; a key column that is the column of a field also given by name
   * (encodeRows reads the key column over the field's values).
   */
  static build(fields: readonly FieldEncoder[], labels: readonly string[], keys: readonly string[], truth: readonly string[]): RowWriter | undefined {
    const fieldKeys = new Set<string>();
    for (const e of fields) {
      for (const k of e.nameKey === undefined ? [e.column] : [e.column, e.nameKey]) {
        if (fieldKeys.has(k) || k in Object.prototype || labels.includes(k) || truth.includes(k)) return undefined;
        fieldKeys.add(k);
      }
      if (e.nameKey !== undefined && keys.includes(e.column)) return undefined;
    }
    if (truth.some((t) => keys.includes(t))) return undefined;
    return new RowWriter(fields, [...keys, ...truth].filter((k) => !fieldKeys.has(k)));
  }

  /** Fresh zeroed arrays for `n` rows of every field. */
  allocate(n: number): FeatureArrays {
    const out: FeatureArrays = {};
    this.names.forEach((name, f) => (out[name] = this.kinds[f] === NUMERIC ? new Float32Array(n * this.widths[f]!) : new Int32Array(n * this.widths[f]!)));
    return out;
  }

  /** The values per row each field takes in `out` (1, or a list's maxLength). */
  width(field: string): number | undefined {
    const f = this.names.indexOf(field);
    return f < 0 ? undefined : this.widths[f];
  }

  /**
   * Request rows (objects, as parseRows passed them) → rows [at, at + n) of
   * `out`; false when any row needs encodeRows (see the class).
   */
  writeRows(rows: readonly unknown[], out: FeatureArrays, at: number): boolean {
    const { slots, columns, nameKeys } = this;
    const F = this.names.length;
    const targets = this.targets(out);
    // The keys of the last row checked, in order: a row with the very same keys (the usual case) passes without lookups.
    let known: string[] | undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Record<string, unknown>;
      // Not an object of fields (for-in would read an array's or a string's indices as keys): parseRows refuses it.
      if (typeof row !== 'object' || row === null || Array.isArray(row)) return false;
      let same = known !== undefined;
      if (same) {
        let j = 0;
        for (const key in row) {
          if (key !== known![j]) {
            same = false;
            break;
          }
          j++;
        }
        same &&= j === known!.length;
      }
      if (!same) {
        // Every own key is known (JSON.parse makes no inherited enumerable ones) and exactly F of them give fields:
        // with each field found below, none was given twice.
        const keys: string[] = [];
        let given = 0;
        for (const key in row) {
          const slot = slots.get(key);
          if (slot === undefined) return false;
          if (slot !== IGNORED) given++;
          keys.push(key);
        }
        if (given !== F) return false;
        known = keys;
      }
      for (let f = 0; f < F; f++) {
        let v = row[columns[f]!];
        if (v === undefined) {
          const alias = nameKeys[f];
          if (alias === undefined) return false;
          v = row[alias];
          if (v === undefined) return false;
        }
        if (!this.write(f, v, targets[f]!, at + i)) return false;
      }
    }
    return true;
  }

  /**
   * Columns by source column (`get(column)`, `n` values each) → rows
   * [at, at + n) of `out`; false when any value needs encodeRows.
   */
  writeColumns(get: (column: string) => ArrayLike<unknown> | undefined, n: number, out: FeatureArrays, at: number): boolean {
    const targets = this.targets(out);
    for (let f = 0; f < this.names.length; f++) {
      const values = get(this.columns[f]!);
      if (values === undefined || values.length !== n) return false;
      const target = targets[f]!;
      for (let i = 0; i < n; i++) if (!this.write(f, values[i], target, at + i)) return false;
    }
    return true;
  }

  private targets(out: FeatureArrays): (Int32Array | Float32Array)[] {
    return this.names.map((name) => {
      const t = out[name];
      if (t === undefined) throw new Error(`RowWriter: no array for field '${name}'`);
      return t;
    });
  }

  /** One value as encodeRows would check (checkType, parseNumeric) and encode it (encodeField), or false. */
  private write(f: number, v: unknown, out: Int32Array | Float32Array, row: number): boolean {
    const kind = this.kinds[f];
    if (kind === NUMERIC) {
      if (typeof v !== 'number' || !Number.isFinite(v)) return false;
      out[row] = this.norms[f]!(v);
      return true;
    }
    if (kind === CATEGORICAL) {
      if (v !== null && typeof v !== 'string' && typeof v !== 'number') return false;
      out[row] = this.ids[f]!(v);
      return true;
    }
    // A list: null, '' and [] are empty; text is split on the separator; an array's items must be strings or numbers.
    const L = this.widths[f]!;
    const id = this.ids[f]!;
    const start = row * L;
    let m = 0;
    if (typeof v === 'string') {
      if (v !== '') {
        const items = v.split(this.separators[f]!, L);
        m = items.length;
        for (let j = 0; j < m; j++) out[start + j] = id(items[j]);
      }
    } else if (Array.isArray(v)) {
      for (const x of v as unknown[]) if (typeof x !== 'string' && typeof x !== 'number') return false;
      m = Math.min(L, v.length);
      for (let j = 0; j < m; j++) out[start + j] = id(v[j]);
    } else if (v !== null) {
      return false;
    }
    for (let j = m; j < L; j++) out[start + j] = -1;
    return true;
  }
}
