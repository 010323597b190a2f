import { refuseSamePaths, withAtomicOutput, withAtomicOutputs } from '@esm2/core/node';
import { DataError } from './errors.js';
import { outputFormat } from './read/detect.js';
import { sqlIdent, sqlString, withConnection } from './read/duckdb.js';
import { fromClause, openTable } from './read/table.js';

export interface SplitOptions {
  /**
   * `random`: each row on its own; `group`: every row of one `column` value
   * (e.g. a user) on the same side, so test users are unseen; `time`: the
   * rows with the latest `column` values are the test set (no look-ahead).
   */
  by: 'random' | 'group' | 'time';
  column?: string;
  /** Share of rows (random, time) or of groups (group) in the test file. */
  testFraction: number;
  /** Seeds random and group splits. */
  seed: number;
}

export interface SplitReport {
  train: number;
  test: number;
}

function copyOptions(path: string): string {
  return outputFormat(path) === 'parquet'
    ? 'FORMAT parquet, COMPRESSION zstd'
    : `FORMAT csv, HEADER true, DELIMITER ${sqlString(path.toLowerCase().endsWith('.tsv') ? '\t' : ',')}`;
}

/** A uniform draw in [0, 1) from a hash of the given values and the seed: reproducible and independent of row order. */
const uniform = (exprs: string[], seed: number) => `(hash(${[...exprs, sqlString(`#${seed}`)].join(', ')}) % 1000000) / 1000000.0`;

/**
 * Splits a CSV or Parquet file into train and test files with DuckDB. Both
 * outputs appear together or not at all. Outputs that are the input or each
 * other (`--train` = `--in`, `--train` = `--test`) are refused before
 * anything is read or written.
 */
export async function splitFile(input: string, trainOut: string, testOut: string, options: SplitOptions): Promise<SplitReport> {
  const { by, column, testFraction: f, seed } = options;
  if (!(f > 0 && f < 1)) throw new Error(`test fraction must be between 0 and 1, got ${f}`);
  await refuseSamePaths([{ flag: '--in', path: input }], [{ flag: '--train', path: trainOut }, { flag: '--test', path: testOut }]);
  const table = await openTable(input);
  const src = fromClause(table);
  if (by !== 'random') {
    if (!column) throw new Error(`a '${by}' split needs a column (--column)`);
    if (!table.columns.some((c) => c.name === column)) throw new DataError({ file: input, column }, 'missing column');
  }
  return withConnection(async (con) => {
    let isTest: string;
    if (by === 'random') {
      // The whole row is the key (the same row always lands on the same side).
      isTest = `${uniform(table.columns.map((c) => sqlIdent(c.name)), seed)} < ${f}`;
    } else if (by === 'group') {
      isTest = `${uniform([sqlIdent(column!)], seed)} < ${f}`;
    } else {
      const t = `TRY_CAST(${sqlIdent(column!)} AS DOUBLE)`;
      const bad = await con.runAndReadAll(`SELECT count(*) AS n FROM ${src} WHERE ${t} IS NULL`);
      if (Number(bad.getRowObjectsJson()[0]!['n']) > 0) throw new DataError({ file: input, column }, 'a time split needs a number in every row');
      const q = await con.runAndReadAll(`SELECT quantile_disc(${t}, ${1 - f}) AS cut FROM ${src}`);
      isTest = `${t} > ${Number(q.getRowObjectsJson()[0]!['cut'])}`;
    }
    const labelled = `SELECT *, (${isTest}) AS __esm2_test FROM ${src}`;
    const side = (test: boolean) => `SELECT * EXCLUDE (__esm2_test) FROM (${labelled}) WHERE ${test ? '' : 'NOT '}__esm2_test`;
    await withAtomicOutputs([trainOut, testOut], async ([trainTmp, testTmp]) => {
      await con.run(`COPY (${side(false)}) TO ${sqlString(trainTmp!)} (${copyOptions(trainOut)})`);
      await con.run(`COPY (${side(true)}) TO ${sqlString(testTmp!)} (${copyOptions(testOut)})`);
    });
    const counts = await con.runAndReadAll(`SELECT count(*) FILTER (WHERE NOT __esm2_test) AS train, count(*) FILTER (WHERE __esm2_test) AS test FROM (${labelled})`);
    const r = counts.getRowObjectsJson()[0]!;
    return { train: Number(r['train']), test: Number(r['test']) };
  });
}

/** One day of a day column and its rows. */
export interface DayRows {
  day: number;
  rows: number;
}

/**
 * The days of `column` in `input` (a whole number in every row, e.g. the
 * `day` column of `data generate --days`) with their row counts, in
 * ascending order. A missing column, an empty cell or a value that is not
 * a whole number is refused naming the file and the column.
 */
export async function dayCounts(input: string, column: string): Promise<DayRows[]> {
  const table = await openTable(input);
  if (!table.columns.some((c) => c.name === column)) throw new DataError({ file: input, column }, `missing column (the file has ${table.columns.map((c) => c.name).join(', ')})`);
  const src = fromClause(table);
  const d = `TRY_CAST(${sqlIdent(column)} AS DOUBLE)`;
  return withConnection(async (con) => {
    const bad = await con.runAndReadAll(
      `SELECT CAST(${sqlIdent(column)} AS VARCHAR) AS v, count(*) OVER () AS n FROM ${src} WHERE ${d} IS NULL OR ${d} <> floor(${d}) OR abs(${d}) > 2147483647 LIMIT 1`,
    );
    const first = bad.getRowObjectsJson()[0];
    if (first !== undefined) {
      const v = typeof first['v'] === 'string' ? first['v'] : '';
      throw new DataError({ file: input, column }, `a day column needs a whole number in every row; found ${v === '' ? 'an empty cell' : `'${v}'`} (${Number(first['n'])} such row(s))`);
    }
    const r = await con.runAndReadAll(`SELECT CAST(${d} AS INTEGER) AS day, count(*) AS rows FROM ${src} GROUP BY 1 ORDER BY 1`);
    return r.getRowObjectsJson().map((x) => ({ day: Number(x['day']), rows: Number(x['rows']) }));
  });
}

/**
 * Writes the rows of `input` whose day (`column`, as dayCounts reads it)
 * lies in `from`…`to` to `out` (.csv, .tsv or .parquet; all at once or not
 * at all), in the input's order, without the day column (a day is not a
 * feature: every row of a slice would share it). With a Parquet input sorted
 * by day, DuckDB skips the row groups of other days. Returns the rows written.
 */
export async function writeDays(input: string, column: string, days: { from: number; to: number }, out: string): Promise<number> {
  await refuseSamePaths([{ flag: '--data', path: input }], [{ flag: '--out', path: out }]);
  const table = await openTable(input);
  if (!table.columns.some((c) => c.name === column)) throw new DataError({ file: input, column }, `missing column (the file has ${table.columns.map((c) => c.name).join(', ')})`);
  const d = `TRY_CAST(${sqlIdent(column)} AS DOUBLE)`;
  const query = `SELECT * EXCLUDE (${sqlIdent(column)}) FROM ${fromClause(table)} WHERE ${d} BETWEEN ${days.from} AND ${days.to}`;
  return withConnection((con) =>
    withAtomicOutput(out, async (tmp) => {
      // COPY answers with the number of rows it wrote.
      const written = await con.runAndReadAll(`COPY (${query}) TO ${sqlString(tmp)} (${copyOptions(out)})`);
      return Number(written.getRows()[0]![0]);
    }),
  );
}
