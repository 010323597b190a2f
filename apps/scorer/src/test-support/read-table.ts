import { TableScan, openTable } from '@esm2/data';

/** A whole (small) CSV/Parquet file as column name → values, read through the data package. */
export async function readTable(path: string): Promise<{ columns: string[]; types: string[]; values: Record<string, unknown[]> }> {
  const table = await openTable(path);
  const columns = table.columns.map((c) => c.name);
  const values: Record<string, unknown[]> = Object.fromEntries(columns.map((c) => [c, []]));
  for await (const chunk of new TableScan(table, columns, false).chunks()) {
    columns.forEach((c, i) => values[c]!.push(...chunk.columns[i]!));
  }
  return { columns, types: table.columns.map((c) => c.type), values };
}
