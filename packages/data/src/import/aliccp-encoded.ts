import { BadRows, type BadRowOptions, type BadRowReport } from '../bad-rows.js';
import { parseLabel, parseNumeric } from '../encode/values.js';
import { DataError } from '../errors.js';
import { TableScan } from '../read/scan.js';
import { openTable } from '../read/table.js';
import { writeTable, type OutputColumn } from '../write/table-writer.js';
import { refuseImportPaths } from './paths.js';

export interface AliccpEncodedReport extends BadRowReport {
  rows: number;
  clicks: number;
  buys: number;
}

/**
 * The common label-encoded Ali-CCP CSV (`click,purchase,101,...,D509,...`):
 * ids are already small integers, `D`-prefixed columns are scaled numbers.
 * Output uses this package's names: `buy`, and `f<field>` for numeric
 * field names (graph inputs cannot start with a digit).
 */
export async function importAliccpEncoded(
  input: string,
  output: string,
  options: BadRowOptions & { onProgress?: (rows: number) => void } = {},
): Promise<AliccpEncodedReport> {
  await refuseImportPaths(input, output, options);
  const table = await openTable(input);
  const names = table.columns.map((c) => c.name);
  const buyCol = names.includes('purchase') ? 'purchase' : 'buy';
  for (const c of ['click', buyCol]) {
    if (!names.includes(c)) throw new DataError({ file: input, where: 'line 1 (header)', column: c }, 'missing column');
  }
  const features = names.filter((n) => n !== 'click' && n !== buyCol);
  const numeric = new Set(features.filter((n) => /^D/.test(n)));
  const rename = (n: string) => (/^[A-Za-z_]/.test(n) ? n : `f${n}`);
  const columns: OutputColumn[] = [
    { name: 'click', type: 'TINYINT' },
    { name: 'buy', type: 'TINYINT' },
    ...features.map((n) => ({ name: rename(n), type: numeric.has(n) ? ('DOUBLE' as const) : ('VARCHAR' as const) })),
  ];
  const select = ['click', buyCol, ...features];
  const bad = await BadRows.open(table, options);
  const scan = new TableScan(table, select, bad.policy === 'skip');
  const totals = { rows: 0, clicks: 0, buys: 0 };
  let report: BadRowReport = { skipped: 0 };
  await writeTable(output, columns, async (w) => {
    for await (const chunk of scan.chunks()) {
      const n = chunk.length;
      const out: unknown[][] = select.map(() => []);
      const cells = [];
      for (let i = 0; i < n; i++) {
        const c = parseLabel(chunk.columns[0]![i]);
        const b = parseLabel(chunk.columns[1]![i]);
        let problem: { column: string; reason: string } | undefined;
        if (typeof c === 'string') problem = { column: 'click', reason: c };
        else if (typeof b === 'string') problem = { column: buyCol, reason: b };
        else if (b === 1 && c === 0) problem = { column: buyCol, reason: `${buyCol}=1 but click=0` };
        const row: unknown[] = [c, b];
        for (let k = 0; k < features.length && !problem; k++) {
          const v = chunk.columns[k + 2]![i];
          if (numeric.has(features[k]!)) {
            const x = parseNumeric(v);
            if (typeof x === 'string') problem = { column: features[k]!, reason: x };
            row.push(x);
          } else row.push(v);
        }
        if (problem) {
          cells.push({ row: i, ...problem });
          continue;
        }
        totals.rows++;
        totals.clicks += c as number;
        totals.buys += b as number;
        row.forEach((v, k) => out[k]!.push(v));
      }
      await bad.handle(chunk.start, cells);
      await w.writeColumns(out, out[0]!.length);
      options.onProgress?.(totals.rows);
    }
    if (scan.rows === 0) throw new DataError({ file: input }, 'empty file (no data rows)');
    report = await bad.finish(scan.engineRejects);
  });
  return { ...totals, ...report };
}
