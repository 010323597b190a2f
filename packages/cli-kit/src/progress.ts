import cliProgress from 'cli-progress';
import { performance } from 'node:perf_hooks';

/** Where progress goes: stderr by default (stdout stays clean for results). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** First word(s) of every bar and line, e.g. `scoring` or `epoch 2/5`. */
  label: string;
  /** What is counted (default `rows`). */
  unit?: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** false: print nothing at all (`--no-progress`). */
  enabled?: boolean;
  /** On a pipe, at most one line per this many milliseconds (default 5000). */
  intervalMs?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** On a terminal, erase the bar when it stops (for progress followed by its own summary line). */
  clearOnStop?: boolean;
}

export interface ProgressUpdate {
  /** Known total (a percentage and ETA are shown); absent while unknown (CSV streams). */
  total?: number;
  /** A phase within the task, shown after the label (`scan`, `join`…). */
  stage?: string;
  /** Extra figures shown after the speed, e.g. `{ loss: '0.4213' }` → `loss 0.4213`. */
  info?: Record<string, string | number>;
}

/**
 * Progress of one task on stderr: a cli-progress bar on a terminal, and on
 * a pipe or file a plain line every few seconds plus one at the end, so logs
 * stay readable. Counts done, the total when known, and the speed.
 */
export class Progress {
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly enabled: boolean;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private bar: cliProgress.SingleBar | undefined;
  private barKey = '';
  private lastLine: number;
  private last: { done: number; update: ProgressUpdate; fraction: boolean } | undefined;
  private printedLast = true;

  constructor(private readonly options: ProgressOptions) {
    this.unit = options.unit ?? 'rows';
    this.stream = options.stream ?? process.stderr;
    this.enabled = options.enabled ?? true;
    this.tty = this.stream.isTTY === true;
    this.intervalMs = options.intervalMs ?? 5000;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.lastLine = this.started;
  }

  /** `done` units finished so far. */
  update(done: number, update: ProgressUpdate = {}): void {
    this.render(done, update, false);
  }

  /** A share of the work (0..1) where nothing countable is known, e.g. a database join. */
  fraction(f: number, stage?: string): void {
    this.render(Math.round(Math.min(1, Math.max(0, f)) * 100), { total: 100, ...(stage !== undefined ? { stage } : {}) }, true);
  }

  private render(done: number, update: ProgressUpdate, fraction: boolean): void {
    if (!this.enabled) return;
    this.last = { done, update, fraction };
    this.printedLast = false;
    const speed = this.speed(done);
    const info = formatInfo(update.info);
    if (this.tty) {
      const key = `${update.stage ?? ''}|${update.total === undefined}|${fraction}`;
      if (this.bar && key !== this.barKey) this.stopBar();
      if (!this.bar) {
        this.barKey = key;
        const head = [this.options.label, update.stage].filter(Boolean).join(' ');
        const format = fraction
          ? `${head} [{bar}] {percentage}%`
          : update.total === undefined
            ? `${head} {value} ${this.unit} | {speed} ${this.unit}/s{info}`
            : `${head} [{bar}] {percentage}% | {value}/{total} ${this.unit} | {speed} ${this.unit}/s | eta {eta_formatted}{info}`;
        this.bar = new cliProgress.SingleBar(
          { format, stream: this.stream as NodeJS.WritableStream, hideCursor: true, etaBuffer: 50, clearOnComplete: this.options.clearOnStop ?? false },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(update.total ?? 0, 0, { speed, info });
      }
      if (update.total !== undefined) this.bar.setTotal(update.total);
      this.bar.update(done, { speed, info });
      return;
    }
    const t = this.now();
    if (t - this.lastLine >= this.intervalMs) {
      this.lastLine = t;
      this.printLine();
    }
  }

  /** Ends the bar; on a pipe, prints the last state unless it was just printed. Safe to call twice. */
  stop(): void {
    if (this.tty) this.stopBar();
    else if (this.enabled && !this.printedLast) this.printLine();
  }

  private stopBar(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private speed(done: number): number {
    const seconds = (this.now() - this.started) / 1000;
    return seconds > 0 ? Math.round(done / seconds) : 0;
  }

  private printLine(): void {
    if (!this.last) return;
    const { done, update, fraction } = this.last;
    const head = [this.options.label, update.stage].filter(Boolean).join(' ');
    if (fraction) {
      this.stream.write(`${head}: ${done}%\n`);
      this.printedLast = true;
      return;
    }
    const count = update.total !== undefined ? `${done}/${update.total} ${this.unit} (${update.total > 0 ? Math.floor((done / update.total) * 100) : 100}%)` : `${done} ${this.unit}`;
    this.stream.write(`${head}: ${count}, ${this.speed(done)} ${this.unit}/s${formatInfo(update.info, ', ')}\n`);
    this.printedLast = true;
  }
}

function formatInfo(info: Record<string, string | number> | undefined, sep = ' | '): string {
  if (!info) return '';
  const parts = Object.entries(info).map(([k, v]) => `${k} ${v}`);
  return parts.length > 0 ? `${sep}${parts.join(sep === ' | ' ? ' | ' : ', ')}` : '';
}
