import cliProgress from 'cli-progress';

/**
 * A progress bar on stderr (stdout stays clean for results): a bar when
 * the total is known, a running row count when it is not (CSV streams).
 */
export class DataProgress {
  private bar: cliProgress.SingleBar | undefined;
  private lastTotal: number | undefined;

  constructor(private readonly label: string) {}

  rows(done: number, total?: number): void {
    if (total !== this.lastTotal) this.stop();
    this.lastTotal = total;
    if (!this.bar) {
      const format = total !== undefined ? `${this.label} [{bar}] {percentage}% | {value}/{total} rows` : `${this.label} {value} rows`;
      this.bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true, etaBuffer: 50 }, cliProgress.Presets.shades_classic);
      this.bar.start(total ?? 0, 0);
    }
    this.bar.update(done);
  }

  fraction(stage: string, f: number): void {
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar({ format: `${this.label} {stage} [{bar}] {percentage}%`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
      this.bar.start(100, 0, { stage });
    }
    this.bar.update(Math.round(f * 100), { stage });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
