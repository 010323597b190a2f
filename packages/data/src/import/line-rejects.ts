import { csvRow, rejectFileFor, writeRejectFile, type BadRowOptions, type BadRowReport } from '../bad-rows.js';
import { DataError, type OnBadRow } from '../errors.js';

/** Bad-row policy for importers that read lines themselves (and so know each line's number). */
export class LineRejects {
  private rows: string[] = [];
  readonly policy: OnBadRow;
  readonly rejectFile: string;

  constructor(
    private readonly file: string,
    options: BadRowOptions,
  ) {
    this.policy = options.onBadRow ?? 'error';
    this.rejectFile = rejectFileFor(file, options);
  }

  /** Throws in stop mode; records the line in skip mode. */
  reject(line: number, column: string, reason: string, record: string): void {
    if (this.policy === 'error') throw new DataError({ file: this.file, where: `line ${line}`, column }, reason);
    this.rows.push(csvRow([`line ${line}`, column, reason, record]));
  }

  async finish(): Promise<BadRowReport> {
    if (this.rows.length === 0) return { skipped: 0 };
    await writeRejectFile(this.rejectFile, this.rows);
    return { skipped: this.rows.length, rejectFile: this.rejectFile };
  }
}
