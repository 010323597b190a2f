import { constants } from 'node:os';
import { nameList, oneOf, positiveInt, Progress, userPath } from '@esm2/cli-kit';
import type { OnBadRow } from '@esm2/data';
import type { Command } from 'commander';
import { scoreFile } from '../batch-score.js';
import { loadScoringModel } from '../model.js';
import { ScoringPool } from '../pool.js';
import { STREAM_FORMATS, readStdin, streamSink, type StdinData, type StreamFormat } from '../stdio.js';
import { addSessionOptions, type SessionFlags } from './options.js';

interface BatchFlags extends SessionFlags {
  model?: string;
  data?: string;
  out?: string;
  batchSize: number;
  keys?: string[];
  onBadRow: OnBadRow;
  progress: boolean;
  progressInterval: number;
  format?: StreamFormat;
}

/** Scoring stopped by a signal: answered with exit 128 + its number. */
class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
  }
}

/**
 * `esm2-score score --model M --data in.csv --out preds.parquet`. It is the
 * default command, so `esm2-score --model M --data … --out …` (no command
 * name) runs it too.
 */
export function registerBatchCommand(program: Command): void {
  addSessionOptions(
    program.command('score', { isDefault: true }).description('Score a file of rows into a file of predictions (the default command: its name may be left out)'),
  )
    .option('--model <path>', 'required: model artifact directory (runs/NAME), exported .onnx file or Triton model folder (DIR/NAME)')
    .option('--data <file>', "required: rows to score (.csv, .tsv, .parquet; compressed CSV too); '-' reads standard input (CSV or JSON lines, see --format)")
    .option('--out <file>', "required: predictions (.csv or .parquet): key columns, then pctr, pctavr, pcvr, pctcvr; '-' writes standard output")
    .option('--format <format>', "of '-' streams: csv (a header line) or jsonl (one JSON object per line); default: stdin's first character ('{' is jsonl), and stdout as stdin, else csv", oneOf<StreamFormat>([...STREAM_FORMATS]))
    .option('--batch-size <n>', 'rows per session run', positiveInt, 4096)
    .option(
      '--keys <columns>',
      "comma-separated input columns to copy next to the scores (default: the training data config's keys, else the model's user and item id columns, e.g. user_id,item_id)",
      nameList,
    )
    .option('--on-bad-row <policy>', "'error' stops at the first bad row; 'skip' drops it into <data>.rejects.csv", oneOf<OnBadRow>(['error', 'skip']), 'error')
    .option('--no-progress', 'no progress on stderr')
    .option('--progress-interval <ms>', 'on a pipe or file, a progress line at most this often', positiveInt, 5000)
    .action(async (flags: BatchFlags) => {
      // Checked here rather than by commander, so that every missing flag is named at once (and a misspelt one first).
      const missing = (['model', 'data', 'out'] as const).filter((k) => !flags[k]);
      if (missing.length > 0) throw new Error(`missing ${missing.map((k) => `--${k}`).join(', ')} (see 'esm2-score score --help'; 'esm2-score serve' runs the HTTP service)`);
      const model = await loadScoringModel(userPath(flags.model!));
      const toStdout = flags.out === '-';
      // With the predictions on stdout, what is said about them goes to stderr.
      const say = (line: string) => (toStdout ? process.stderr.write(`${line}\n`) : console.log(line));
      let stdin: StdinData | undefined;
      if (flags.data === '-') stdin = await readStdin(process.stdin, flags.format, flags.batchSize);
      const pool = new ScoringPool(model.source, { ...(flags.workers ? { workers: flags.workers } : {}), session: { threads: flags.threads, spinning: flags.spinning } });
      const progress = new Progress({ label: 'scoring', enabled: flags.progress, intervalMs: flags.progressInterval });
      const started = performance.now();
      let progressRows = 0;
      // Ctrl-C (or SIGTERM) stops in order: the read and session runs under way finish, the reader and the
      // workers close, the partial output is removed, then exit 130 (143). A second signal exits at once.
      const interrupt = new AbortController();
      const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
        if (interrupt.signal.aborted) {
          process.stderr.write(`esm2-score: second ${signal}, exiting without waiting\n`);
          process.exit(128 + constants.signals[signal]);
        }
        interrupt.abort(new Interrupted(signal));
      };
      const onInt = () => onSignal('SIGINT');
      const onTerm = () => onSignal('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      try {
        const data = stdin ? (stdin.rows ?? stdin.csv!) : userPath(flags.data!);
        const report = await scoreFile({
          model,
          scorer: pool,
          data,
          out: toStdout ? streamSink(process.stdout, flags.format ?? stdin?.format ?? 'csv') : userPath(flags.out!),
          batchSize: flags.batchSize,
          ...(flags.keys ? { keys: flags.keys } : {}),
          onBadRow: flags.onBadRow,
          onProgress: (rows, total) => {
            progressRows = rows;
            progress.update(rows, total !== undefined ? { total } : {});
          },
          signal: interrupt.signal,
        });
        progress.stop();
        if (interrupt.signal.aborted) {
          // The signal came while the finished output was being written (a Parquet conversion is one native call): it is complete.
          const { signal } = interrupt.signal.reason as Interrupted;
          process.stderr.write(`esm2-score: ${signal} arrived as the output was being finished; ${flags.out} is complete (${report.rows} rows)\n`);
          process.exitCode = 128 + constants.signals[signal];
          return;
        }
        const seconds = (performance.now() - started) / 1000;
        say(`scored ${report.rows} rows in ${seconds.toFixed(1)} s (${Math.round(report.rows / seconds)} rows/s) → ${toStdout ? 'stdout' : flags.out}`);
        say(`columns: ${report.columns.join(', ')}${report.skipped > 0 ? `; skipped ${report.skipped} bad rows` : ''}`);
        if (report.keys === 0) say('note: the model knows no key or id columns; add --keys id,… to carry input columns into the output');
      } catch (e) {
        // Errors about the spooled copy of stdin name stdin.
        if (stdin?.csv && e instanceof Error && e.message.includes(stdin.csv)) throw new Error(e.message.replaceAll(stdin.csv, 'stdin'), { cause: e });
        if (!(e instanceof Interrupted)) throw e;
        progress.stop();
        process.stderr.write(`esm2-score: interrupted (${e.signal}) after ${progressRows} rows; ${toStdout ? 'stdout has part of the predictions' : `${flags.out} was not written`}\n`);
        process.exitCode = 128 + constants.signals[e.signal];
      } finally {
        progress.stop();
        await pool.close();
        await stdin?.cleanup();
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      }
    });
}
