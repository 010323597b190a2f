/**
 * Bad input is reported with where it is, so a user with a 10 GB file can
 * open it at the right place: file, line (CSV) or row group (Parquet), column.
 */
export interface Location {
  file: string;
  /** e.g. `line 17` or `row group 3, row 12`; absent when the whole file is at fault. */
  where?: string;
  column?: string;
}

export class DataError extends Error {
  readonly location: Location;
  readonly reason: string;
  constructor(location: Location, reason: string) {
    super(formatLocation(location) + ': ' + reason);
    this.name = 'DataError';
    this.location = location;
    this.reason = reason;
  }
}

export function formatLocation(loc: Location): string {
  const parts = [loc.file];
  if (loc.where !== undefined) parts.push(loc.where);
  if (loc.column !== undefined) parts.push(`column '${loc.column}'`);
  return parts.join(', ');
}

/**
 * A value in an in-memory row (a scoring request) that cannot be encoded:
 * missing, of the wrong type, or an impossible label. It is the caller's
 * input that is wrong, never a bug, so a service answers it with a 400.
 */
export class BadValueError extends Error {
  override name = 'BadValueError';
}

/** What to do with a row that breaks the rules: stop (default) or skip it into a reject file. */
export type OnBadRow = 'error' | 'skip';
