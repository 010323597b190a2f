import type { Command } from 'commander';
import { scoreFile } from '../batch-score.js';
import { loadScoringModel } from '../model.js';
import { ScoringPool } from '../pool.js';
import { ScoringProgress } from '../progress.js';
import { userPath } from '../user-path.js';
import { addSessionOptions, positiveInt, type SessionFlags } from './options.js';

interface BatchFlags extends SessionFlags {
  model?: string;
  data?: string;
  out?: string;
  batchSize: number;
  keys?: string[];
  onBadRow: 'error' | 'skip';
  progress: boolean;
}

/** The root command: `esm2-score --model M --data in.csv --out preds.parquet`. */
export function registerBatchCommand(program: Command): void {
  addSessionOptions(program)
    .option('--model <path>', 'model artifact directory (runs/NAME) or exported .onnx file')
    .option('--data <file>', 'rows to score (.csv, .tsv, .parquet; compressed CSV too)')
    .option('--out <file>', 'predictions (.csv or .parquet): key columns, then pctr, pctavr, pcvr, pctcvr')
    .option('--batch-size <n>', 'rows per session run', positiveInt, 4096)
    .option('--keys <columns>', 'comma-separated input columns to copy next to the scores (default: the key columns of the training data config)', (v: string) =>
      v.split(',').map((s) => s.trim()).filter(Boolean),
    )
    .option('--on-bad-row <policy>', "'error' stops at the first bad row; 'skip' drops it into <data>.rejects.csv", 'error')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: BatchFlags) => {
      const missing = (['model', 'data', 'out'] as const).filter((k) => !flags[k]);
      if (missing.length > 0) throw new Error(`missing ${missing.map((k) => `--${k}`).join(', ')} (or use 'esm2-score serve')`);
      if (flags.onBadRow !== 'error' && flags.onBadRow !== 'skip') throw new Error(`--on-bad-row must be 'error' or 'skip'`);
      const model = await loadScoringModel(userPath(flags.model!));
      const pool = new ScoringPool(model.source, { ...(flags.workers ? { workers: flags.workers } : {}), session: { threads: flags.threads, spinning: flags.spinning } });
      const progress = new ScoringProgress(flags.progress && process.stderr.isTTY === true);
      const started = performance.now();
      try {
        const report = await scoreFile({
          model,
          scorer: pool,
          data: userPath(flags.data!),
          out: userPath(flags.out!),
          batchSize: flags.batchSize,
          ...(flags.keys ? { keys: flags.keys } : {}),
          onBadRow: flags.onBadRow,
          onProgress: (rows, total) => progress.update(rows, total),
        });
        progress.stop();
        const seconds = (performance.now() - started) / 1000;
        console.log(`scored ${report.rows} rows in ${seconds.toFixed(1)} s (${Math.round(report.rows / seconds)} rows/s) → ${flags.out}`);
        console.log(`columns: ${report.columns.join(', ')}${report.skipped > 0 ? `; skipped ${report.skipped} bad rows` : ''}`);
        if (report.keys === 0) console.log('note: no key columns were configured at training; add --keys id,… to carry input columns into the output');
      } finally {
        progress.stop();
        await pool.close();
      }
    });
}
