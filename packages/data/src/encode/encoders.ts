import { featureSchemaSchema, parseFeatureSchema, zodProblems, type BaseRates, type FeatureSchema, type Field } from '@esm2/core';
import { z } from 'zod';
import type { Batch } from '../batch.js';
import { dataConfigSchema, fieldConfigSchema } from '../config.js';
import { BadValueError } from '../errors.js';
import { TRUTH_NAMES, type ResolvedConfig } from '../infer.js';
import { hashId } from './hash.js';
import { normalizer, type NumericStatsJSON } from './numeric.js';
import { encodeLabels } from './labels.js';
import type { FieldEncoder } from './field-encoder.js';
import { RowWriter } from './row-writer.js';
import { cellText, listItems, parseNumeric } from './values.js';
import { duplicateEntry, Vocabulary } from './vocabulary.js';

/** A cell that makes its row unusable; `row` is relative to the encoded block. */
export interface BadCell {
  row: number;
  column: string;
  reason: string;
}

/** Encoded rows before batching: a Batch plus raw user values (user numbering is per dataset). */
export interface EncodedBlock extends Batch {
  rawUsers?: unknown[];
}

/** Bounds on vocabularies that grow (extendEncoders), kept with the encoders so the next extension applies them too. */
export interface EncoderLimits {
  /** Ids per vocabulary field, the OOV row not counted. */
  maxIds?: Record<string, number>;
  /** An id unseen for this many days is evicted (its row freed). */
  evictAfterDays?: number;
}

/** What fitting learns; with the config it is everything scoring needs to encode as training did. */
export interface FittedState {
  /** Entry i is table row i + 1 (row 0 is OOV); null is a row freed by eviction (version 2 only). */
  vocabularies: Record<string, (string | null)[]>;
  numeric: Record<string, NumericStatsJSON>;
  maxLength: Record<string, number>;
  /** The day each vocabulary entry was last seen, aligned with `vocabularies[field]`; -1 for a freed row (version 2). */
  lastSeen?: Record<string, number[]>;
  /** The day of the data these encoders were last fitted or extended on (version 2). */
  day?: number;
  limits?: EncoderLimits;
}

/**
 * Version 1: vocabularies without freed rows and none of lastSeen, day and
 * limits. Version 2 (encoders fitted with a day or extended): any of them.
 * Encoders that need nothing of version 2 are written as version 1, so
 * artifacts of runs that never grew stay as they were.
 */
export interface EncodersJSON extends FittedState {
  format: 'esm2-encoders';
  version: 1 | 2;
  config: ResolvedConfig;
  schema: FeatureSchema;
}

const finite = z.number(); // zod 4 refuses NaN and ±Infinity

/**
 * The saved encoders, checked key by key when read back (from an artifact's
 * model.json or an ONNX file's metadata), so a damaged or hand-edited file
 * is refused naming the bad key instead of failing later in encoding.
 * Unknown keys are refused too: a misspelt key would otherwise be ignored.
 */
const jsonObject = z.strictObject({
  format: z.literal('esm2-encoders'),
  version: z.union([z.literal(1), z.literal(2)]),
  config: z.strictObject({
    csv: dataConfigSchema.shape.csv.unwrap(),
    labels: z.strictObject({ click: z.string(), daction: z.array(z.string()), buy: z.string() }),
    // Resolved fields always name their source column.
    fields: z.array(z.intersection(fieldConfigSchema, z.object({ column: z.string() }))).min(1),
    userField: z.string().optional(),
    keys: z.array(z.string()),
    truth: z.partialRecord(z.enum(TRUTH_NAMES), z.string()),
  }),
  // Derived from config and state when loaded; checked as a feature schema all the same.
  schema: featureSchemaSchema,
  vocabularies: z.record(z.string(), z.array(z.string().nullable())),
  numeric: z.record(
    z.string(),
    z.strictObject({ count: z.number().int().nonnegative(), mean: finite, std: finite.nonnegative(), min: finite, max: finite }),
  ),
  maxLength: z.record(z.string(), z.number().int().positive()),
  lastSeen: z.record(z.string(), z.array(z.number().int().min(-1))).optional(),
  day: z.number().int().nonnegative().optional(),
  limits: z
    .strictObject({
      maxIds: z.record(z.string(), z.number().int().positive()).optional(),
      evictAfterDays: z.number().int().positive().optional(),
    })
    .optional(),
});

const jsonShape = jsonObject.superRefine((doc, ctx) => {
  const names = new Set<string>();
  for (const [i, f] of doc.config.fields.entries()) {
    if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['config', 'fields', i, 'name'], message: `field '${f.name}' is declared twice` });
    names.add(f.name);
    if (f.kind === 'numeric') {
      if (!doc.numeric[f.name]) ctx.addIssue({ code: 'custom', path: ['numeric', f.name], message: `missing: numeric field '${f.name}' needs its statistics` });
    } else if (f.encoding.kind === 'vocabulary' && !doc.vocabularies[f.name]) {
      ctx.addIssue({ code: 'custom', path: ['vocabularies', f.name], message: `missing: field '${f.name}' is vocabulary-encoded` });
    }
  }
  for (const [field, values] of Object.entries(doc.vocabularies)) {
    const twice = duplicateEntry(values);
    if (twice) ctx.addIssue({ code: 'custom', path: ['vocabularies', field, twice.second], message: twice.message });
  }
  if (doc.version === 1) {
    for (const [field, values] of Object.entries(doc.vocabularies)) {
      const freed = values.indexOf(null);
      if (freed >= 0) ctx.addIssue({ code: 'custom', path: ['vocabularies', field, freed], message: 'a freed row (null) needs encoders version 2' });
    }
    for (const key of ['lastSeen', 'day', 'limits'] as const) {
      if (doc[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only in encoders version 2' });
    }
  } else {
    version2Problems(doc, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
  }
  if (doc.config.userField !== undefined && !names.has(doc.config.userField)) {
    ctx.addIssue({ code: 'custom', path: ['config', 'userField'], message: `'${doc.config.userField}' is not a field` });
  }
});

/** What version 2 adds, checked against the fields: growth state only for vocabulary fields, aligned with their vocabularies. */
function version2Problems(doc: z.infer<typeof jsonObject>, problem: (path: (string | number)[], message: string) => void): void {
  const encodings = new Map(doc.config.fields.map((f) => [f.name, f.kind === 'numeric' ? 'numeric' : f.encoding.kind]));
  const notVocabulary = (field: string) => {
    const kind = encodings.get(field);
    return kind === undefined ? `no field '${field}'` : kind === 'vocabulary' ? undefined : `field '${field}' is not vocabulary-encoded (${kind})`;
  };
  for (const field of Object.keys(doc.vocabularies)) {
    const why = notVocabulary(field);
    if (why) problem(['vocabularies', field], why);
  }
  for (const field of Object.keys(doc.limits?.maxIds ?? {})) {
    const why = notVocabulary(field);
    if (why) problem(['limits', 'maxIds', field], why);
  }
  for (const [field, days] of Object.entries(doc.lastSeen ?? {})) {
    const values = doc.vocabularies[field];
    const why = notVocabulary(field) ?? (values ? undefined : `no vocabularies.${field} to go with it`);
    if (why) {
      problem(['lastSeen', field], why);
      continue;
    }
    if (days.length !== values!.length) {
      problem(['lastSeen', field], `${days.length} entries but vocabularies.${field} has ${values!.length}`);
      continue;
    }
    for (const [i, d] of days.entries()) {
      const v = values![i];
      if (v === null && d !== -1) problem(['lastSeen', field, i], `${d} but vocabularies.${field}.${i} is a freed row (null), which has -1`);
      else if (v !== null && d < 0) problem(['lastSeen', field, i], `-1 (a freed row) but vocabularies.${field}.${i} is ${JSON.stringify(v)}`);
      else if (doc.day !== undefined && d > doc.day) problem(['lastSeen', field, i], `day ${d} is after the encoders' day ${doc.day}`);
    }
  }
}


/**
 * Fitted encoders: turn raw columns (from files or JSON requests) into model
 * ids and normalised numbers. Unknown categories become the OOV id 0; bad
 * cells are reported, never guessed at.
 */
export class Encoders {
  readonly schema: FeatureSchema;
  private readonly encoders: FieldEncoder[];
  /**
   * The training file's base rates when these encoders were just fitted on
   * it (fitEncoders), for a calibrated start; not saved with the encoders
   * (a resumed run keeps its weights), so absent on encoders read back.
   */
  baseRates?: BaseRates;

  constructor(
    readonly config: ResolvedConfig,
    readonly state: FittedState,
  ) {
    const vocabs = new Map(Object.entries(state.vocabularies).map(([k, v]) => [k, new Vocabulary(v)]));
    const fields: Field[] = [];
    this.encoders = [];
    for (const f of config.fields) {
      if (f.kind === 'numeric') {
        const stats = state.numeric[f.name];
        if (!stats) throw new Error(`encoders: no statistics for numeric field '${f.name}'`);
        fields.push({ kind: 'numeric', name: f.name, normalization: f.normalization });
        this.encoders.push({ kind: 'numeric', name: f.name, column: f.column, norm: normalizer(f.normalization, stats) });
        continue;
      }
      let id: (v: unknown) => number;
      let encoding: { kind: 'vocabulary'; size: number } | { kind: 'hash'; buckets: number };
      if (f.encoding.kind === 'hash') {
        const buckets = f.encoding.buckets;
        id = (v) => hashId(v, buckets);
        encoding = { kind: 'hash', buckets };
      } else {
        const vocab = vocabs.get(f.name);
        if (!vocab) throw new Error(`encoders: no vocabulary for field '${f.name}'`);
        id = (v) => vocab.id(v);
        encoding = { kind: 'vocabulary', size: vocab.size };
      }
      const dim = f.embeddingDim !== undefined ? { embeddingDim: f.embeddingDim } : {};
      if (f.kind === 'categorical') {
        fields.push({ kind: 'categorical', name: f.name, encoding, ...dim });
        this.encoders.push({ kind: 'categorical', name: f.name, column: f.column, id });
      } else {
        const maxLength = state.maxLength[f.name] ?? f.maxLength;
        fields.push({ kind: 'multiCategorical', name: f.name, encoding, maxLength, pooling: f.pooling, ...dim });
        this.encoders.push({ kind: 'multiCategorical', name: f.name, column: f.column, id, maxLength, separator: f.separator });
      }
    }
    const labels = { click: config.labels.click, daction: config.labels.daction.join('|'), buy: config.labels.buy };
    this.schema = parseFeatureSchema({ fields, labels, userField: config.userField });
    // A name that is also a column (`x y` → field `x_y` beside a column `x_y`, which fitting now refuses but older
    // encoders may have) is that column's key only: a row keyed `x_y` must never be read as field `x_y`.
    const columns = new Set([...this.columns(true), ...this.extraColumns()]);
    for (const e of this.encoders) if (e.name !== e.column && !columns.has(e.name)) e.nameKey = e.name;
  }

  /** The keys a JSON row may give a field under: its source column, then its name when that names nothing else. */
  keysOf(field: string): string[] {
    const e = this.encoders.find((x) => x.name === field);
    if (!e) throw new Error(`encoders: no field '${field}'`);
    return e.nameKey === undefined ? [e.column] : [e.column, e.nameKey];
  }

  /** Source columns a file must have for `encodeColumns`, each once. */
  columns(withLabels = true): string[] {
    const cols = new Set<string>();
    if (withLabels) for (const c of [this.config.labels.click, ...this.config.labels.daction, this.config.labels.buy]) cols.add(c);
    for (const e of this.encoders) cols.add(e.column);
    return [...cols];
  }

  /** Optional extras a file may carry: true probabilities and key columns. */
  extraColumns(): string[] {
    return [...Object.values(this.config.truth), ...this.config.keys];
  }

  /**
   * The fast path: encode `n` rows given column arrays (from the readers).
   * Returns full-length arrays and the bad cells, first per row; the caller
   * stops or drops those rows.
   */
  encodeColumns(get: (column: string) => unknown[] | undefined, n: number): { block: EncodedBlock; bad: BadCell[] } {
    const badByRow = new Map<number, BadCell>();
    const flag = (row: number, column: string, reason: string) => {
      if (!badByRow.has(row)) badByRow.set(row, { row, column, reason });
    };
    const labels = encodeLabels(this.config.labels, get, n, flag);
    const features: Record<string, Int32Array | Float32Array> = {};
    for (const e of this.encoders) {
      const values = get(e.column);
      if (values === undefined) throw new Error(`no values for column '${e.column}'`);
      features[e.name] = encodeField(e, values, n, flag);
    }
    const block: EncodedBlock = { size: n, features, labels };
    const truthCols = Object.entries(this.config.truth);
    if (truthCols.length > 0) {
      block.truth = {};
      for (const [t, col] of truthCols) {
        const values = get(col);
        if (values === undefined) continue;
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const x = parseNumeric(values[i]);
          if (typeof x === 'string') flag(i, col, x);
          else out[i] = x;
        }
        block.truth[t as (typeof TRUTH_NAMES)[number]] = out;
      }
    }
    if (this.config.keys.length > 0) {
      block.keys = {};
      for (const k of this.config.keys) {
        const values = get(k) ?? [];
        block.keys[k] = Array.from({ length: n }, (_, i) => keyValue(values[i]));
      }
    }
    const user = this.config.fields.find((f) => f.name === this.config.userField);
    if (user) block.rawUsers = get(user.column);
    const bad = [...badByRow.values()].sort((a, b) => a.row - b.row);
    return { block, bad };
  }

  /**
   * Encodes JSON rows (the scorer's requests). Keys are source column names
   * (or field names, see keysOf). A missing key, a field given under both
   * keys or a wrong type is an Error naming the row and field; unknown
   * categories are fine (OOV). Labels are read when present, zero otherwise.
   */
  encodeRows(rows: Record<string, unknown>[]): Batch {
    const n = rows.length;
    const columns = new Map<string, unknown[]>();
    for (const e of this.encoders) {
      const values = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        const row = rows[i];
        if (row === null || typeof row !== 'object') throw new BadValueError(`row ${i}: expected an object`);
        const byColumn = e.column in row;
        const byName = e.nameKey !== undefined && e.nameKey in row;
        if (byColumn && byName) throw new BadValueError(`row ${i}, field '${e.name}': given twice, as '${e.column}' and as '${e.name}'`);
        if (!byColumn && !byName) throw new BadValueError(`row ${i}, field '${e.name}': missing${missingHint(e)}`);
        const key = byColumn ? e.column : e.name;
        const v = row[key];
        checkType(e, v, i);
        values[i] = v;
      }
      columns.set(e.column, values);
    }
    const labelCols = [this.config.labels.click, ...this.config.labels.daction, this.config.labels.buy];
    for (const c of labelCols) {
      if (rows.some((r) => c in r)) columns.set(c, rows.map((r) => r[c] ?? 0));
    }
    // A key column that is also a field's column already holds that field's values, read under whichever key the row
    // gave it (its column or its name): reading the column again would take null for a field sent by name.
    for (const c of this.config.keys) if (!columns.has(c)) columns.set(c, rows.map((r) => r[c] ?? null));
    const { block, bad } = this.encodeColumns((c) => columns.get(c), n);
    const first = bad[0];
    if (first) throw new BadValueError(`row ${first.row}, field '${first.column}': ${first.reason}`);
    const { rawUsers, ...batch } = block;
    if (rawUsers) batch.userIds = new UserNumbering().number(rawUsers);
    delete batch.truth;
    return batch;
  }

  /**
   * The fast path for the scorer's requests: rows or columns written
   * straight into batch-wide arrays, or a false that sends the request to
   * encodeRows (see RowWriter); undefined when these encoders' columns
   * overlap so that only encodeRows knows what a row means.
   */
  rowWriter(): RowWriter | undefined {
    const { labels, keys, truth } = this.config;
    return RowWriter.build(this.encoders, [labels.click, ...labels.daction, labels.buy], keys, Object.values(truth));
  }

  /** Version 1 unless something only version 2 holds is there (freed rows, lastSeen, day, limits). */
  toJSON(): EncodersJSON {
    const { vocabularies, numeric, maxLength, lastSeen, day, limits } = this.state;
    const { config, schema } = this;
    const v2 = lastSeen !== undefined || day !== undefined || limits !== undefined || Object.values(vocabularies).some((v) => v.includes(null));
    if (!v2) return { format: 'esm2-encoders', version: 1, config, schema, vocabularies, numeric, maxLength };
    return {
      format: 'esm2-encoders',
      version: 2,
      config,
      schema,
      vocabularies,
      numeric,
      maxLength,
      ...(lastSeen === undefined ? {} : { lastSeen }),
      ...(day === undefined ? {} : { day }),
      ...(limits === undefined ? {} : { limits }),
    };
  }

  /**
   * Encoders saved by `toJSON`, validated first: every problem is listed as
   * `key.path: what is wrong`, after `source` (the file it came from) when given.
   */
  static fromJSON(json: unknown, source?: string): Encoders {
    const r = jsonShape.safeParse(json);
    if (!r.success) {
      throw new Error(`${source === undefined ? '' : `${source}: `}invalid encoders JSON: ${zodProblems(r.error).join('; ')}`);
    }
    const doc = r.data;
    const { vocabularies, numeric, maxLength, lastSeen, day, limits } = doc;
    return new Encoders(doc.config, {
      vocabularies,
      numeric,
      maxLength,
      ...(lastSeen === undefined ? {} : { lastSeen }),
      ...(day === undefined ? {} : { day }),
      ...(limits === undefined ? {} : { limits }),
    });
  }
}

function encodeField(e: FieldEncoder, values: unknown[], n: number, flag: (r: number, c: string, why: string) => void): Int32Array | Float32Array {
  if (e.kind === 'numeric') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = parseNumeric(values[i]);
      if (typeof x === 'string') flag(i, e.column, x);
      else out[i] = e.norm(x);
    }
    return out;
  }
  if (e.kind === 'categorical') {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = e.id(values[i]);
    return out;
  }
  const L = e.maxLength;
  const out = new Int32Array(n * L).fill(-1);
  for (let i = 0; i < n; i++) {
    const items = listItems(values[i], e.separator);
    const m = Math.min(L, items.length);
    for (let j = 0; j < m; j++) out[i * L + j] = e.id(items[j]);
  }
  return out;
}

/** Where a missing field is sent, when its name alone would not say: its column, and why its name does not do. */
function missingHint(e: FieldEncoder): string {
  if (e.name === e.column) return '';
  return e.nameKey === undefined ? ` (send it as '${e.column}': '${e.name}' is the name of another column)` : ` (send it as '${e.column}' or '${e.name}')`;
}

const isScalar = (x: unknown) => typeof x === 'string' || typeof x === 'number';

function describeType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Called once per request cell on the scorer's hot path: no closures allocated per call. */
function checkType(e: FieldEncoder, v: unknown, row: number): void {
  let want: string | undefined;
  if (e.kind === 'numeric') {
    if (typeof v !== 'number') want = 'a number';
  } else if (e.kind === 'categorical') {
    if (v !== null && !isScalar(v)) want = 'a string or number';
  } else if (v !== null && typeof v !== 'string' && !(Array.isArray(v) && v.every(isScalar))) {
    want = 'an array of strings or numbers';
  }
  if (want) throw new BadValueError(`row ${row}, field '${e.name}': expected ${want}, got ${describeType(v)}`);
}

function keyValue(v: unknown): string | number {
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  return cellText(v);
}

/**
 * Numbers users by first appearance. GAUC needs distinct users kept apart,
 * and the vocabulary would lump every unseen test user into OOV id 0.
 */
export class UserNumbering {
  private ids = new Map<string, number>();
  number(values: unknown[]): Int32Array {
    const out = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const key = values[i] === null || values[i] === undefined ? '' : String(values[i]);
      let id = this.ids.get(key);
      if (id === undefined) {
        id = this.ids.size;
        this.ids.set(key, id);
      }
      out[i] = id;
    }
    return out;
  }
}
