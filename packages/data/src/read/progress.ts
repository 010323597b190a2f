import type { DuckDBConnection } from '@duckdb/node-api';

/** Runs a long statement, reporting DuckDB's own progress estimate (0..1) while it works. */
export async function runWithProgress(con: DuckDBConnection, sql: string, onProgress?: (fraction: number) => void): Promise<void> {
  if (!onProgress) {
    await con.run(sql);
    return;
  }
  await con.run(`SET enable_progress_bar = true`);
  await con.run(`SET enable_progress_bar_print = false`);
  const timer = setInterval(() => {
    const p = con.progress.percentage;
    if (p >= 0) onProgress(Math.min(1, p / 100));
  }, 200);
  try {
    await con.run(sql);
    onProgress(1);
  } finally {
    clearInterval(timer);
  }
}
