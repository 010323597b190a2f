/**
 * Cell parsing shared by fitting, encoding files and encoding JSON requests,
 * so a value means the same thing wherever it comes from. Failures return a
 * reason string (the caller knows the location) instead of throwing.
 */

/**
 * A cell as text, for categories and messages: strings as they are, numbers,
 * bigints and booleans as JavaScript writes them, objects that define their
 * own text (DuckDB's date, decimal and timestamp values) by it, anything
 * else as JSON — never "[object Object]".
 */
export function cellText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && v.toString !== Object.prototype.toString) return (v as { toString(): string }).toString();
  return JSON.stringify(v) ?? typeof v;
}

/** A categorical value's identity: `5`, `5n` and `"5"` are one category; empty means missing. */
export function categoryKey(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  return cellText(v);
}

/** A numeric cell as a finite number, or why it is not one. */
export function parseNumeric(v: unknown): number | string {
  let x: number;
  if (typeof v === 'number') x = v;
  else if (typeof v === 'bigint') x = Number(v);
  else if (typeof v === 'boolean') x = v ? 1 : 0;
  else if (v === null || v === undefined || v === '') return 'missing value';
  else if (typeof v === 'string') {
    x = Number(v);
    // Spellings other writers (DuckDB, numpy) use for the special values; Number() knows only "Infinity".
    if (Number.isNaN(x) && /^\s*[+-]?inf(inity)?\s*$/i.test(v)) x = v.includes('-') ? -Infinity : Infinity;
    else if (Number.isNaN(x) && !/^\s*[+-]?nan\s*$/i.test(v)) return `unparsable number '${v}'`;
  } else return `unparsable number '${cellText(v)}'`;
  if (Number.isNaN(x)) return 'not a number (NaN)';
  if (!Number.isFinite(x)) return `infinite value (${x})`;
  return x;
}

/** A label cell as 0 or 1, or why it is not one. */
export function parseLabel(v: unknown): 0 | 1 | string {
  const x = parseNumeric(v);
  if (typeof x === 'string') return x;
  if (x === 0 || x === 1) return x;
  return `label must be 0 or 1, got '${cellText(v)}'`;
}

/** A multi-valued cell's items: a list (Parquet LIST, JSON array) or text split on the separator. */
export function listItems(v: unknown, separator: string): unknown[] {
  if (v === null || v === undefined || v === '') return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'object' && 'items' in (v)) return (v as { items: unknown[] }).items;
  return cellText(v).split(separator);
}
