import { SingleBar } from 'cli-progress';

/**
 * A progress bar on stderr (only when it is a terminal). Parquet footers give
 * the row count up front, so the bar shows a percentage and ETA; CSV sizes
 * are unknown until the end, so it shows rows and speed only.
 */
export class ScoringProgress {
  private bar: SingleBar | undefined;
  private readonly started = performance.now();

  constructor(private readonly enabled = process.stderr.isTTY === true) {}

  update(rows: number, total: number | undefined): void {
    if (!this.enabled) return;
    if (!this.bar) {
      const format =
        total === undefined
          ? 'scoring {value} rows, {speed} rows/s'
          : 'scoring {bar} {percentage}% {value}/{total} rows, {speed} rows/s, eta {eta_formatted}';
      this.bar = new SingleBar({ format, stream: process.stderr, hideCursor: true });
      this.bar.start(total ?? 0, 0, { speed: 0 });
    }
    const seconds = (performance.now() - this.started) / 1000;
    this.bar.update(rows, { speed: seconds > 0 ? Math.round(rows / seconds) : 0 });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
