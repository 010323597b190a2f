import { formatMetricsTable } from '@esm2/core';
import type { Command } from 'commander';
import { fit } from '../api.js';
import { BACKEND_NAMES, DEFAULT_BACKEND, backendName } from '../train/engines.js';
import type { FitFlags } from '../train/fit-config.js';
import { METRIC_NAMES } from '../train/metric-key.js';
import { progressReporter } from '../train/progress.js';
import { integer, positiveInt, positiveNumber, userPath, widthList } from '@esm2/cli-kit';

interface FitCommandOptions extends FitFlags {
  out: string;
  threads: number;
  spinning: boolean;
  config?: string;
  resume: boolean;
}

/** `fit`: train a zoo model on a file, validating each epoch; resumable. */
export function registerFitCommand(program: Command): void {
  program
    .command('fit')
    .description('Train a zoo model; per-epoch validation, early stopping, best artifact and resumable checkpoints in --out')
    .option('--data <file>', 'training data (.csv, .tsv or .parquet)')
    .option('--valid <file>', 'validation data, evaluated after every epoch')
    .option('--config <file>', 'fit config (YAML/JSON): model, optimizer, data and train sections; flags override it')
    .option('--model <name>', 'esm2 | esmm | dnn | dnn-os')
    .requiredOption('--out <dir>', 'run directory, e.g. runs/NAME (best/, checkpoint/, history.json)')
    .option('--epochs <n>', 'epochs to train (default 3); with --resume, the new total', positiveInt)
    .option('--batch-size <n>', 'rows per step (default 1024)', positiveInt)
    .option('--lr <x>', 'Adam learning rate (default 0.001)', positiveNumber)
    .option('--seed <n>', 'seed for initial weights and shuffling (default 1)', integer)
    .option('--towers <widths>', 'hidden layer widths of every tower, e.g. 256,128,64', widthList)
    .option('--embedding-dim <n>', 'embedding width (default 16)', positiveInt)
    .option('--backend <name>', `training engine: ${BACKEND_NAMES.join(' | ')} (default ${DEFAULT_BACKEND})`)
    .option('--threads <n>', 'intra-op threads of the onnx engine (measured on 2 cores: 2 beats 1 over a whole epoch even with data prefetch on a worker)', positiveInt, 2)
    .option('--spinning', 'let idle onnx threads spin-wait: faster on an idle machine, far slower when other processes compete', false)
    .option('--early-stop <metric>', `stop when this validation metric stops improving: ${METRIC_NAMES.join(', ')}`)
    .option('--patience <n>', 'epochs without improvement before stopping (default 2)', positiveInt)
    .option('--shuffle-buffer <n>', 'rows held by the streaming shuffle (default 100000)', positiveInt)
    .option('--resume', 'continue the run in --out from its last checkpoint (its saved settings; --epochs, --backend, --data and --valid may be given again)', false)
    .action(async (opts: FitCommandOptions) => {
      const { data, ...rest } = opts;
      const outcome = await fit({
        ...rest,
        ...(data ? { train: userPath(data) } : {}),
        ...(opts.valid ? { valid: userPath(opts.valid) } : {}),
        ...(opts.config ? { config: userPath(opts.config) } : {}),
        out: userPath(opts.out),
        backend: opts.backend === undefined ? undefined : backendName(opts.backend),
        reporter: progressReporter(),
      });
      const paths = { dir: outcome.dir, best: outcome.bestArtifact, checkpoint: outcome.checkpoint, history: outcome.history };
      const best = outcome.position.best;
      console.log(`\n${paths.dir}: ${outcome.position.epoch} epoch(s), ${outcome.position.step} steps${best ? `; best epoch ${best.epoch} (${best.metric} ${best.value.toFixed(4)})` : ''}`);
      if (outcome.metrics) console.log(`\nvalidation metrics of the best epoch:\n${formatMetricsTable(outcome.metrics)}`);
      console.log(`\nbest artifact: ${paths.best}\ncheckpoint:    ${paths.checkpoint}\nhistory:       ${paths.history}`);
    });
}
