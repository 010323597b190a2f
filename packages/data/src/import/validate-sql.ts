import { BadRows, type BadRowOptions, type BadRowReport } from '../bad-rows.js';
import { TableScan } from '../read/scan.js';
import type { Table } from '../read/table.js';

/** A row rule as SQL: when `when` holds, the row is bad for `reason` in `column`. */
export interface SqlRule {
  column: string;
  when: string;
  reason: string;
}

/** `CASE` yielding `column<TAB>reason` for the first broken rule, NULL for a good row. */
export function problemExpr(rules: SqlRule[]): string {
  const arms = rules.map((r) => `WHEN ${r.when} THEN ${sqlLiteral(`${r.column}\t${r.reason}`)}`);
  return `CASE ${arms.join(' ')} END`;
}

function sqlLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * Checks every row against the rules before an SQL import, so each bad row
 * is reported with its line and column (SQL alone cannot say where a row
 * came from). The import then filters with the very same expression.
 */
export async function validateRows(table: Table, rules: SqlRule[], options: BadRowOptions): Promise<BadRowReport> {
  const bad = await BadRows.open(table, options);
  const scan = new TableScan(table, ['problem'], bad.policy === 'skip', problemExpr(rules));
  for await (const chunk of scan.chunks()) {
    const problems = chunk.columns[0]!;
    const cells = [];
    for (let i = 0; i < chunk.length; i++) {
      const p = problems[i];
      if (typeof p !== 'string') continue; // NULL: a good row
      const [column, reason] = p.split('\t') as [string, string];
      cells.push({ row: i, column, reason });
    }
    await bad.handle(chunk.start, cells);
  }
  return bad.finish(scan.engineRejects);
}

