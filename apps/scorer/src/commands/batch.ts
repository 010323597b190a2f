import { constants } from 'node:os';
import { nameList, oneOf, positiveInt, Progress, userPath } from '@esm2/cli-kit';
import type { OnBadRow } from '@esm2/data';
import type { Command } from 'commander';
import { scoreFile } from '../batch-score.js';
import { loadScoringModel } from '../model.js';
import { ScoringPool } from '../pool.js';
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
    .option('--data <file>', 'required: rows to score (.csv, .tsv, .parquet; compressed CSV too)')
    .option('--out <file>', 'required: predictions (.csv or .parquet): key columns, then pctr, pctavr, pcvr, pctcvr')
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
        const report = await scoreFile({
          model,
          scorer: pool,
          data: userPath(flags.data!),
          out: userPath(flags.out!),
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
        const seconds = (performance.now() - started) / 1000;
        console.log(`scored ${report.rows} rows in ${seconds.toFixed(1)} s (${Math.round(report.rows / seconds)} rows/s) → ${flags.out}`);
        console.log(`columns: ${report.columns.join(', ')}${report.skipped > 0 ? `; skipped ${report.skipped} bad rows` : ''}`);
        if (report.keys === 0) console.log('note: the model knows no key or id columns; add --keys id,… to carry input columns into the output');
      } catch (e) {
        if (!(e instanceof Interrupted)) throw e;
        progress.stop();
        process.stderr.write(`esm2-score: interrupted (${e.signal}) after ${progressRows} rows; ${flags.out} was not written\n`);
        process.exitCode = 128 + constants.signals[e.signal];
      } finally {
        progress.stop();
        await pool.close();
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      }
    });
}
