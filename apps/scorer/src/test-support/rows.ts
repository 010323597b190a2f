import { readFileSync } from 'node:fs';

/**
 * The rows of a small synthetic CSV as JSON request rows: numeric columns
 * as numbers (as a client would send them), everything else as in the file.
 */
export function csvRows(path: string, numeric: readonly string[] = ['price', 'item_rating']): Record<string, unknown>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const row: Record<string, unknown> = {};
    columns.forEach((c, i) => {
      const v = cells[i]!;
      row[c] = numeric.includes(c) ? Number(v) : /^-?\d+$/.test(v) ? Number(v) : v;
    });
    return row;
  });
}

/** Feature columns only: what a scoring client sends (no labels). */
export function requestRows(rows: Record<string, unknown>[], drop: readonly string[] = ['click', 'daction', 'buy']): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !drop.includes(k))));
}
