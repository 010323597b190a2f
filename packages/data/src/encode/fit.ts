import type { FeatureSchema } from '@esm2/core';
import { BadRows, type BadRowOptions, type BadRowReport } from '../bad-rows.js';
import { loadDataConfig, parseDataConfig, type DataConfig, type DataConfigInput } from '../config.js';
import { totalOf, type Progress } from '../dataset/encoded-stream.js';
import { DataError } from '../errors.js';
import { resolveConfig, type ResolvedConfig } from '../infer.js';
import { TableScan } from '../read/scan.js';
import { openTable, type CsvOptions, type Table } from '../read/table.js';
import { Encoders, type BadCell, type EncoderLimits } from './encoders.js';
import { baseRates, countLabels, emptyLabelCounts, encodeLabels, type LabelCounts } from './labels.js';
import { NumericAccumulator } from './numeric.js';
import { CategoryCounter } from './vocabulary.js';
import { listItems, parseNumeric } from './values.js';

/** How a file is read for fitting or extending encoders. */
export interface CountOptions extends BadRowOptions {
  csv?: CsvOptions;
  onProgress?: (p: Progress) => void;
  onDone?: (report: BadRowReport & { rows: number; labels: LabelCounts }) => void;
}

export interface FitOptions extends CountOptions {
  /**
   * The day of the data (for encoders that will grow, see extendEncoders):
   * recorded as the encoders' `day` and every entry's last-seen day, which
   * makes them version 2. Without it the encoders are version 1, as always.
   */
  day?: number;
  /** Ids per vocabulary field (a number for every one), also recorded in the encoders' limits (version 2). */
  maxIds?: number | Record<string, number>;
  /** Recorded in the encoders' limits for later extensions (version 2). */
  evictAfterDays?: number;
}

/**
 * Fits every encoder in one pass over the file: category counts (for
 * vocabularies with min-count and OOV), list lengths, numeric statistics,
 * and the label counts behind the towers' base rates (`encoders.baseRates`,
 * for a calibrated start).
 * Rows that fail validation are handled exactly as reading would, so the
 * statistics never include a row training will not see.
 */
export async function fitEncoders(
  source: string,
  schemaOrConfig?: string | DataConfigInput | DataConfig | FeatureSchema,
  options: FitOptions = {},
): Promise<Encoders> {
  if (options.day !== undefined && (!Number.isInteger(options.day) || options.day < 0)) throw new Error(`day: expected a whole number of at least 0, got ${options.day}`);
  const config = await toConfig(schemaOrConfig);
  const table = await openTable(source, { ...config.csv, ...options.csv });
  const resolved = await resolveConfig(table, config);
  const limits = encoderLimits(resolved, {}, options);
  const { counters, numeric, longest, labels } = await countTable(table, resolved, options);

  const vocabularies: Record<string, string[]> = {};
  const maxLength: Record<string, number> = {};
  for (const f of resolved.fields) {
    if (f.kind === 'numeric') continue;
    if (f.encoding.kind === 'vocabulary') {
      const cap = limits.maxIds?.[f.name];
      const maxSize = cap === undefined ? f.encoding.maxSize : Math.min(cap, f.encoding.maxSize ?? cap);
      vocabularies[f.name] = counters.get(f.name)!.build(f.encoding.minCount, maxSize);
    }
    if (f.kind === 'multiCategorical') maxLength[f.name] = Math.min(f.maxLength, longest.get(f.name)!);
  }
  const stats = Object.fromEntries([...numeric].map(([k, acc]) => [k, acc.stats()]));
  const grows = options.day === undefined ? {} : { lastSeen: Object.fromEntries(Object.entries(vocabularies).map(([k, v]) => [k, v.map(() => options.day!)])), day: options.day };
  const encoders = new Encoders(resolved, { vocabularies, numeric: stats, maxLength, ...grows, ...(Object.keys(limits).length > 0 ? { limits } : {}) });
  encoders.baseRates = baseRates(labels);
  return encoders;
}

/** What one pass over a file counts: categories of vocabulary fields, numeric statistics, longest lists, labels. */
export interface TableCounts {
  counters: Map<string, CategoryCounter>;
  numeric: Map<string, NumericAccumulator>;
  longest: Map<string, number>;
  rows: number;
  labels: LabelCounts;
}

/**
 * The one pass behind fitEncoders and extendEncoders. Rows that fail
 * validation are handled exactly as reading would, so the counts never
 * include a row training will not see.
 */
export async function countTable(table: Table, resolved: ResolvedConfig, options: CountOptions): Promise<TableCounts> {
  const source = table.file;
  const select = [...new Set([resolved.labels.click, ...resolved.labels.daction, resolved.labels.buy, ...resolved.fields.map((f) => f.column)])];
  const index = new Map(select.map((c, i) => [c, i]));
  const counters = new Map<string, CategoryCounter>();
  const numeric = new Map<string, NumericAccumulator>();
  const longest = new Map<string, number>();
  for (const f of resolved.fields) {
    if (f.kind === 'numeric') numeric.set(f.name, new NumericAccumulator());
    else if (f.encoding.kind === 'vocabulary') counters.set(f.name, new CategoryCounter());
    if (f.kind === 'multiCategorical') longest.set(f.name, 1);
  }
  const bad = await BadRows.open(table, options);
  const numericCols = new Set([resolved.labels.click, ...resolved.labels.daction, resolved.labels.buy, ...resolved.fields.filter((f) => f.kind === 'numeric').map((f) => f.column)]);
  const scan = new TableScan(table, select, bad.policy === 'skip', undefined, numericCols);
  const totalRows = totalOf(table);
  let rows = 0;
  const labelCounts = emptyLabelCounts();
  for await (const chunk of scan.chunks()) {
    const n = chunk.length;
    const get = (c: string) => chunk.columns[index.get(c)!];
    const cells = new Map<number, BadCell>();
    const flag = (row: number, column: string, reason: string) => void (cells.has(row) || cells.set(row, { row, column, reason }));
    const labels = encodeLabels(resolved.labels, get, n, flag);
    const parsed = new Map<string, (number | string)[]>();
    for (const f of resolved.fields) {
      if (f.kind !== 'numeric') continue;
      const values = get(f.column)!;
      const xs = values.map((v) => parseNumeric(v));
      xs.forEach((x, i) => typeof x === 'string' && flag(i, f.column, x));
      parsed.set(f.name, xs);
    }
    const drop = await bad.handle(chunk.start, [...cells.values()].sort((a, b) => a.row - b.row));
    for (const f of resolved.fields) {
      const values = get(f.column)!;
      if (f.kind === 'numeric') {
        const acc = numeric.get(f.name)!;
        const xs = parsed.get(f.name)!;
        for (let i = 0; i < n; i++) if (!drop.has(i)) acc.add(xs[i] as number);
      } else if (f.kind === 'categorical') {
        const counter = counters.get(f.name);
        if (counter) for (let i = 0; i < n; i++) if (!drop.has(i)) counter.add(values[i]);
      } else {
        const counter = counters.get(f.name);
        let max = longest.get(f.name)!;
        for (let i = 0; i < n; i++) {
          if (drop.has(i)) continue;
          const items = listItems(values[i], f.separator);
          if (items.length > max) max = items.length;
          if (counter) for (const it of items) counter.add(it);
        }
        longest.set(f.name, max);
      }
    }
    rows += n - drop.size;
    countLabels(labelCounts, labels, n, drop);
    options.onProgress?.({ rows: chunk.start + n, totalRows });
  }
  if (scan.rows === 0 && scan.engineRejects.length === 0) throw new DataError({ file: source }, 'empty file (no data rows)');
  const report = await bad.finish(scan.engineRejects);
  options.onDone?.({ ...report, rows, labels: labelCounts });
  return { counters, numeric, longest, rows, labels: labelCounts };
}

/**
 * The limits encoders keep: `recorded` (the encoders' own) with what is
 * `given` laid over it (a number sets every vocabulary field; a record sets
 * the fields it names). A field that is not vocabulary-encoded, or a bound
 * that is not a positive whole number, is refused naming it.
 */
export function encoderLimits(config: ResolvedConfig, recorded: EncoderLimits, given: { maxIds?: number | Record<string, number>; evictAfterDays?: number }): EncoderLimits {
  const vocabularyFields = config.fields.filter((f) => f.kind !== 'numeric' && f.encoding.kind === 'vocabulary').map((f) => f.name);
  const whole = (x: number, what: string) => {
    if (!Number.isInteger(x) || x < 1) throw new Error(`${what}: expected a whole number of at least 1, got ${x}`);
    return x;
  };
  let maxIds = recorded.maxIds;
  if (typeof given.maxIds === 'number') {
    const n = whole(given.maxIds, 'maxIds');
    maxIds = Object.fromEntries(vocabularyFields.map((f) => [f, n]));
  } else if (given.maxIds !== undefined) {
    for (const [field, n] of Object.entries(given.maxIds)) {
      if (!vocabularyFields.includes(field)) {
        const f = config.fields.find((x) => x.name === field);
        throw new Error(`maxIds: ${f ? `field '${field}' is not vocabulary-encoded (${f.kind === 'numeric' ? 'numeric' : f.encoding.kind})` : `no field '${field}' (vocabulary fields: ${vocabularyFields.join(', ') || 'none'})`}`);
      }
      whole(n, `maxIds.${field}`);
    }
    maxIds = { ...maxIds, ...given.maxIds };
  }
  const evictAfterDays = given.evictAfterDays === undefined ? recorded.evictAfterDays : whole(given.evictAfterDays, 'evictAfterDays');
  return { ...(maxIds === undefined || Object.keys(maxIds).length === 0 ? {} : { maxIds }), ...(evictAfterDays === undefined ? {} : { evictAfterDays }) };
}

async function toConfig(input: string | DataConfigInput | DataConfig | FeatureSchema | undefined): Promise<DataConfig> {
  if (typeof input === 'string') return loadDataConfig(input);
  if (input && isFeatureSchema(input)) return fromFeatureSchema(input);
  return parseDataConfig(input ?? {});
}

function isFeatureSchema(x: object): x is FeatureSchema {
  const fields = (x as { fields?: unknown }).fields;
  return Array.isArray(fields) && fields.some((f) => typeof f === 'object' && f !== null && 'encoding' in f && 'size' in ((f as { encoding: object }).encoding ?? {}));
}

/** A core schema's fixed table sizes become vocabulary caps (its OOV row excluded). */
function fromFeatureSchema(s: FeatureSchema): DataConfig {
  const fields = s.fields.map((f) => {
    if (f.kind === 'numeric') return { kind: 'numeric' as const, name: f.name, normalization: f.normalization };
    const encoding =
      f.encoding.kind === 'hash'
        ? { kind: 'hash' as const, buckets: f.encoding.buckets }
        : { kind: 'vocabulary' as const, minCount: 1, maxSize: f.encoding.size - 1 };
    if (f.kind === 'categorical') return { kind: 'categorical' as const, name: f.name, encoding, embeddingDim: f.embeddingDim };
    return { kind: 'multiCategorical' as const, name: f.name, encoding, embeddingDim: f.embeddingDim, maxLength: f.maxLength, pooling: f.pooling, separator: '|' };
  });
  const daction = s.labels.daction === '' ? null : s.labels.daction.split('|');
  return parseDataConfig({ fields, labels: { click: s.labels.click, daction, buy: s.labels.buy }, userField: s.userField });
}
