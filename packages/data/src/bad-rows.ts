import { refuseSamePaths, writeFileAtomic } from '@esm2/core/node';
import { DataError, type OnBadRow } from './errors.js';
import type { BadCell } from './encode/encoders.js';
import { locateRows, type EngineReject } from './read/scan.js';
import type { Table } from './read/table.js';

export interface BadRowOptions {
  /** Default 'error': stop at the first bad row. */
  onBadRow?: OnBadRow;
  /** Skip mode: where rejected rows go (default `<input>.rejects.csv`). */
  rejectFile?: string;
}

export interface BadRowReport {
  skipped: number;
  rejectFile?: string;
}

/**
 * Applies the bad-row policy for one scan of one table. Errors are located
 * (file line or row group) before being thrown; in skip mode rows are
 * counted and written, with their reasons, to the reject file at the end.
 */
export class BadRows {
  private skippedRows: { index: number; cell: BadCell }[] = [];
  readonly policy: OnBadRow;

  /** The policy for a scan of `table`; in skip mode a reject file that is the input itself (by any spelling) is refused before anything is read. */
  static async open(table: Table, options: BadRowOptions): Promise<BadRows> {
    if (options.onBadRow === 'skip') await refuseSamePaths([{ flag: '--in', path: table.file }], [{ flag: '--reject-file', path: rejectFileFor(table.file, options) }]);
    return new BadRows(table, options);
  }

  private constructor(
    private readonly table: Table,
    options: BadRowOptions,
  ) {
    this.policy = options.onBadRow ?? 'error';
    this.rejectFile = rejectFileFor(table.file, options);
  }
  readonly rejectFile: string;

  /** `bad` rows are relative to a block starting at scan row `start`; returns the rows to drop. */
  async handle(start: number, bad: BadCell[]): Promise<Set<number>> {
    if (bad.length === 0) return new Set();
    const first = bad[0]!;
    if (this.policy === 'error') {
      const at = (await locateRows(this.table, [start + first.row])).get(start + first.row);
      throw new DataError({ file: this.table.file, where: at?.where, column: first.column }, first.reason);
    }
    for (const cell of bad) this.skippedRows.push({ index: start + cell.row, cell });
    return new Set(bad.map((c) => c.row));
  }

  /** Writes the reject file (only when something was rejected) and reports. */
  async finish(engineRejects: EngineReject[]): Promise<BadRowReport> {
    const skipped = this.skippedRows.length + engineRejects.length;
    if (this.policy === 'error' || skipped === 0) return { skipped: 0 };
    const located = await locateRows(
      this.table,
      this.skippedRows.map((r) => r.index),
      new Set(engineRejects.map((r) => r.line)),
    );
    const lines: { order: number; text: string }[] = [];
    for (const r of engineRejects) lines.push({ order: r.line, text: csvRow([`line ${r.line}`, r.column ?? '', r.reason, r.record]) });
    for (const { index, cell } of this.skippedRows) {
      const at = located.get(index);
      const order = Number(/^line (\d+)/.exec(at?.where ?? '')?.[1] ?? index);
      lines.push({ order, text: csvRow([at?.where ?? `row ${index + 1}`, cell.column, cell.reason, at?.record ?? '']) });
    }
    lines.sort((a, b) => a.order - b.order);
    await writeRejectFile(this.rejectFile, lines.map((l) => l.text));
    return { skipped, rejectFile: this.rejectFile };
  }
}

/** Where skipped rows of `input` go: the asked file, else `<input>.rejects.csv`. */
export function rejectFileFor(input: string, options: BadRowOptions): string {
  return options.rejectFile ?? `${input}.rejects.csv`;
}

/** One reject file layout for every reader and importer: where, column, reason, original record. */
export async function writeRejectFile(file: string, rows: string[]): Promise<void> {
  await writeFileAtomic(file, ['where,column,reason,record', ...rows].join('\n') + '\n');
}

export function csvRow(cells: string[]): string {
  return cells.map((c) => (/[",\n\r]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',');
}
