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
    .action(async (flags: BatchFlags) => {
      // Checked here rather than by commander, so that every missing flag is named at once (and a misspelt one first).
      const missing = (['model', 'data', 'out'] as const).filter((k) => !flags[k]);
      if (missing.length > 0) throw new Error(`missing ${missing.map((k) => `--${k}`).join(', ')} (see 'esm2-score score --help'; 'esm2-score serve' runs the HTTP service)`);
      const model = await loadScoringModel(userPath(flags.model!));
      const pool = new ScoringPool(model.source, { ...(flags.workers ? { workers: flags.workers } : {}), session: { threads: flags.threads, spinning: flags.spinning } });
      const progress = new Progress({ label: 'scoring', enabled: flags.progress });
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
          onProgress: (rows, total) => progress.update(rows, total !== undefined ? { total } : {}),
        });
        progress.stop();
        const seconds = (performance.now() - started) / 1000;
        console.log(`scored ${report.rows} rows in ${seconds.toFixed(1)} s (${Math.round(report.rows / seconds)} rows/s) → ${flags.out}`);
        console.log(`columns: ${report.columns.join(', ')}${report.skipped > 0 ? `; skipped ${report.skipped} bad rows` : ''}`);
        if (report.keys === 0) console.log('note: the model knows no key or id columns; add --keys id,… to carry input columns into the output');
      } finally {
        progress.stop();
        await pool.close();
      }
    });
}
