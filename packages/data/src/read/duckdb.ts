import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * One in-process DuckDB for the whole program: it is only a parsing and SQL
 * engine here (all data lives in files), so sharing it avoids paying its
 * start-up per file. Each caller gets its own connection so streams do not
 * interleave.
 */
let instance: Promise<DuckDBInstance> | undefined;

export function duckdb(): Promise<DuckDBInstance> {
  // Insertion order must be preserved: row numbers map back to file lines.
  instance ??= DuckDBInstance.create(':memory:', { preserve_insertion_order: 'true' });
  return instance;
}

export async function connect(): Promise<DuckDBConnection> {
  return (await duckdb()).connect();
}

/** Runs `fn` on a fresh connection and always releases it. */
export async function withConnection<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  const con = await connect();
  try {
    return await fn(con);
  } finally {
    con.closeSync();
  }
}

/** SQL string literal; paths and names come from users. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** SQL identifier; column names come from users' headers. */
export function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}
