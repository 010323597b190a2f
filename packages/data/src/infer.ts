import type { DataConfig, FieldConfig } from './config.js';
import { DataError } from './errors.js';
import { locateRows, TableScan } from './read/scan.js';
import type { CsvOptions, Table } from './read/table.js';
import { cellText } from './encode/values.js';

export const TRUTH_NAMES = ['pctr', 'pctavr', 'pcvr', 'pctcvr'] as const;
export type TruthName = (typeof TRUTH_NAMES)[number];

/** A config bound to one table's columns: every name here exists in the file. */
export interface ResolvedConfig {
  csv: CsvOptions;
  labels: { click: string; daction: string[]; buy: string };
  fields: (FieldConfig & { column: string })[];
  userField?: string;
  keys: string[];
  truth: Partial<Record<TruthName, string>>;
}

const CLICK = ['click', 'clk', 'is_click', 'clicked'];
const BUY = ['buy', 'purchase', 'conversion', 'is_buy', 'is_purchase', 'pay'];
/** ESM2's best DAction is cart OR wish; these are the names such columns go by. */
const DACTION_PARTS = ['cart', 'wish', 'fav', 'favorite', 'favourite', 'add_to_cart'];
const USER = ['user_id', 'user', 'uid', 'userid', 'f101'];
/**
 * Row ids and raw timestamps are (nearly) unique: as categories they only ever map to OOV at test time.
 * A `day` column (data generate --days, a replay's --by) or a Hive partition `dt` is the log's clock: every new day is an id no model has seen.
 */
const NEVER_FEATURES = new Set(['sample_id', 'ts', 'timestamp', 'day', 'dt']);

export async function resolveConfig(table: Table, config: DataConfig): Promise<ResolvedConfig> {
  const file = table.file;
  const where = table.kind.format === 'csv' && table.header ? 'line 1 (header)' : undefined;
  const names = table.columns.map((c) => c.name);
  const has = new Set(names);
  const need = (column: string): string => {
    if (!has.has(column)) throw new DataError({ file, where, column }, `missing column (the file has ${names.join(', ')})`);
    return column;
  };
  const pick = (explicit: string | undefined, candidates: string[], what: string): string => {
    if (explicit !== undefined) return need(explicit);
    const found = candidates.find((c) => has.has(c));
    if (found === undefined) throw new DataError({ file, where, column: candidates[0] }, `missing column (no ${what} label; looked for ${candidates.join(', ')})`);
    return found;
  };
  const click = pick(config.labels.click, CLICK, 'click');
  const buy = pick(config.labels.buy, BUY, 'purchase');
  let daction: string[];
  if (config.labels.daction === null) daction = [];
  else if (config.labels.daction !== undefined) daction = config.labels.daction.map(need);
  else daction = has.has('daction') ? ['daction'] : DACTION_PARTS.filter((c) => has.has(c));

  const truth: Partial<Record<TruthName, string>> = {};
  for (const t of TRUTH_NAMES) if (has.has(`true_${t}`)) truth[t] = `true_${t}`;
  const keys = config.keys.map(need);

  let fields: ResolvedConfig['fields'];
  if (config.fields) {
    fields = config.fields.map((f) => ({ ...f, column: need(f.column ?? f.name) }));
  } else {
    // Every post-click column is a label, chosen as DAction or not: `daction: [cart]` must not make fav a feature.
    const named = [...config.numeric, ...config.multi, ...config.categorical, ...Object.keys(config.hash)];
    // A clock or row-id column the config names as a feature is one: only inference leaves them out.
    const never = [...NEVER_FEATURES].filter((c) => !named.includes(c));
    const taken = new Set([click, buy, ...daction, 'daction', ...DACTION_PARTS, ...Object.values(truth), ...config.exclude, ...never]);
    for (const c of named) need(c);
    const candidates = names.filter((n) => !taken.has(n));
    const kinds = await inferKinds(table, candidates, config);
    fields = candidates.map((column) => inferField(column, kinds.get(column)!, config, fieldName(column)));
  }
  if (fields.length === 0) throw new DataError({ file }, 'no feature columns');
  refuseAmbiguousNames(fields, names, { file, where }, config.fields !== undefined);

  let userField: string | undefined;
  if (config.userField !== undefined) {
    const f = fields.find((x) => x.name === config.userField || x.column === config.userField);
    if (!f) throw new DataError({ file, column: config.userField }, 'userField is not a feature column');
    userField = f.name;
  } else {
    userField = USER.map((u) => fields.find((f) => (f.column === u || f.name === u) && f.kind === 'categorical')).find((f) => f)?.name;
  }
  return { csv: config.csv, labels: { click, daction, buy }, fields, userField, keys, truth };
}

type Kind = 'categorical' | 'multiCategorical' | 'numeric';

function inferField(column: string, kind: Kind, config: DataConfig, name: string): FieldConfig & { column: string } {
  const buckets = config.hash[column];
  const encoding = buckets !== undefined ? { kind: 'hash' as const, buckets } : { kind: 'vocabulary' as const, minCount: config.minCount };
  if (kind === 'numeric') return { kind, name, column, normalization: 'zscore' };
  if (kind === 'multiCategorical') return { kind, name, column, encoding, separator: '|', maxLength: config.maxLength, pooling: 'mean' };
  return { kind, name, column, encoding };
}

/** Column names become graph input names, which must look like identifiers (Ali-CCP's are numbers: `101` → `f101`). */
function fieldName(column: string): string {
  const n = column.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(n) ? n : 'f' + n;
}

/**
 * A scoring request keys a field by its source column or by its name, so
 * a field may not share its name with another field, nor be named like
 * another column of the file (`x y` becomes field `x_y` beside a column
 * `x_y`): a row keyed `x_y` would mean either. Refused, naming the
 * columns, rather than numbering one of them silently.
 */
function refuseAmbiguousNames(fields: ResolvedConfig['fields'], columns: readonly string[], at: { file: string; where: string | undefined }, declared: boolean): void {
  const fix = declared ? 'rename the field' : 'rename or exclude one of the columns, or declare `fields` with names of your own in the data config';
  const byName = new Map<string, string>();
  const all = new Set(columns);
  for (const f of fields) {
    const before = byName.get(f.name);
    if (before !== undefined) {
      const what = declared ? `the fields of columns '${before}' and '${f.column}' are both named '${f.name}'` : `columns '${before}' and '${f.column}' both become field '${f.name}' (field names are letters, digits, _ . -)`;
      throw new DataError({ ...at, column: f.column }, `${what}: ${fix}`);
    }
    byName.set(f.name, f.column);
  }
  for (const f of fields) {
    if (f.name !== f.column && all.has(f.name)) {
      throw new DataError(
        { ...at, column: f.column },
        `column '${f.column}' ${declared ? 'is read by' : 'becomes'} field '${f.name}', which is also the name of column '${f.name}': a request row keyed '${f.name}' would mean either; ${fix}`,
      );
    }
  }
}

/**
 * Kinds from declarations first, then from the data: Parquet's float types
 * and CSV columns whose sampled values are all numbers with a fractional
 * part are numeric; lists (or text with `|`) are multi-valued; the rest,
 * integer ids included, is categorical. A column of such numbers with a
 * few values that are not numbers (`NA`, a typo) is refused (see
 * strayValues) rather than quietly read as categories.
 */
async function inferKinds(table: Table, columns: string[], config: DataConfig): Promise<Map<string, Kind>> {
  const kinds = new Map<string, Kind>();
  const undecided: string[] = [];
  for (const c of columns) {
    if (config.numeric.includes(c)) kinds.set(c, 'numeric');
    else if (config.multi.includes(c)) kinds.set(c, 'multiCategorical');
    else if (config.categorical.includes(c)) kinds.set(c, 'categorical');
    else undecided.push(c);
  }
  if (undecided.length === 0) return kinds;
  const types = new Map(table.columns.map((c) => [c.name, c.type]));
  const scan = new TableScan(table, undecided, true);
  let sample: unknown[][] = undecided.map(() => []);
  for await (const chunk of scan.chunks()) {
    sample = chunk.columns;
    break;
  }
  for (const [i, c] of undecided.entries()) {
    const type = types.get(c) ?? 'VARCHAR';
    const values = sample[i] ?? [];
    const shape = type === 'VARCHAR' ? numberShape(values) : undefined;
    if (/^(FLOAT|DOUBLE|REAL|DECIMAL)/.test(type)) kinds.set(c, 'numeric');
    else if (type.endsWith('[]')) kinds.set(c, 'multiCategorical');
    else if (shape?.fractional && shape.strays.length === 0) kinds.set(c, 'numeric');
    else if (shape?.fractional && strayValues(shape)) throw await strayValueError(table, c, shape);
    else if (type === 'VARCHAR' && values.some((v) => typeof v === 'string' && v.includes('|'))) kinds.set(c, 'multiCategorical');
    else kinds.set(c, 'categorical');
  }
  return kinds;
}

interface NumberShape {
  /** Non-empty values. */
  values: number;
  /** Whether some number has a fractional part or an exponent (integers alone are ids). */
  fractional: boolean;
  /** The values that are not numbers: their index in the sample and text. */
  strays: { index: number; text: string }[];
}

function numberShape(values: unknown[]): NumberShape {
  const shape: NumberShape = { values: 0, fractional: false, strays: [] };
  for (const [index, v] of values.entries()) {
    if (v === null || v === '') continue;
    shape.values++;
    const s = cellText(v);
    if (Number.isNaN(Number(s)) && !/^nan$/i.test(s)) shape.strays.push({ index, text: s });
    else if (/[.eE]/.test(s)) shape.fractional = true;
  }
  return shape;
}

/**
 * Numbers in all but a few values: at most STRAY_MIN of them or
 * STRAY_SHARE of the sample, whichever allows more, and never more than a
 * tenth. A column that is mostly text (genuinely categorical, with some
 * number-like codes) stays categorical.
 */
const STRAY_MIN = 3;
const STRAY_SHARE = 0.01;
function strayValues(shape: NumberShape): boolean {
  const n = shape.strays.length;
  return n > 0 && n <= Math.max(STRAY_MIN, Math.floor(shape.values * STRAY_SHARE)) && n * 10 <= shape.values;
}

async function strayValueError(table: Table, column: string, shape: NumberShape): Promise<DataError> {
  const first = shape.strays[0]!;
  const at = (await locateRows(table, [first.index])).get(first.index);
  const others = shape.strays.length > 1 ? ` (and ${shape.strays.length - 1} more)` : '';
  const numbers = shape.values - shape.strays.length;
  return new DataError(
    { file: table.file, where: at?.where, column },
    `'${first.text}' is not a number${others}, yet ${numbers} of the ${shape.values} values sampled from the start of the file are numbers: a numeric column with a stray value? ` +
      `Fix the value, or say what the column is in the data config (data encode/inspect --config, or the fit config's data section): ` +
      `'numeric: [${column}]' reads numbers (a row whose value is not one is a bad row, which --on-bad-row skip drops), 'categorical: [${column}]' reads categories, 'exclude: [${column}]' leaves it out`,
  );
}
