import { buildModel, formatMetricsTable, hashString, initWeights } from '@esm2/core';
import { Encoders, fitEncoders, prefetchDataset } from '@esm2/data';
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { hasCheckpoint, readCheckpoint } from '../train/checkpoint.js';
import { DEFAULT_BACKEND, ENGINE_FACTORIES, engineFactory } from '../train/engines.js';
import { loadFitConfig, resolveFitSettings, type FitFlags } from '../train/fit-config.js';
import { fitLoop, type FitRun } from '../train/loop.js';
import { METRIC_NAMES } from '../train/metric-key.js';
import { progressReporter } from '../train/progress.js';
import { runPaths } from '../train/run-dir.js';
import type { FitSettings } from '../train/settings.js';
import { userPath } from '../train/user-path.js';
import { integer, positiveInt, positiveNumber, widthList } from './cli-args.js';

interface FitOptions extends FitFlags {
  out: string;
  threads: number;
  spinning: boolean;
  config?: string;
  resume: boolean;
}

async function mustExist(path: string, flag: string): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new Error(`${flag} ${path}: no such file`);
  }
}

/** Rows per prediction batch in validation: bigger than training batches, since no gradients are kept. */
const evalBatchSize = (s: FitSettings) => Math.max(s.batchSize, 4096);

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
    .option('--backend <name>', `training engine: ${Object.keys(ENGINE_FACTORIES).join(' | ')} (default ${DEFAULT_BACKEND})`)
    .option('--threads <n>', 'intra-op threads of the onnx engine (measured on 2 cores: 2 beats 1 over a whole epoch even with data prefetch on a worker)', positiveInt, 2)
    .option('--spinning', 'let idle onnx threads spin-wait: faster on an idle machine, far slower when other processes compete', false)
    .option('--early-stop <metric>', `stop when this validation metric stops improving: ${METRIC_NAMES.join(', ')}`)
    .option('--patience <n>', 'epochs without improvement before stopping (default 2)', positiveInt)
    .option('--shuffle-buffer <n>', 'rows held by the streaming shuffle (default 100000)', positiveInt)
    .option('--resume', 'continue the run in --out from its last checkpoint (its saved settings; --epochs, --backend, --data and --valid may be given again)', false)
    .action(async (opts: FitOptions) => {
      const paths = runPaths(userPath(opts.out));
      const reporter = progressReporter();
      let run: Omit<FitRun, 'trainBatches' | 'validBatches' | 'factory' | 'paths' | 'reporter'> & { encodersObj: Encoders };
      if (opts.resume) {
        if (!(await hasCheckpoint(paths.checkpoint))) throw new Error(`--resume: ${paths.checkpoint} holds no checkpoint to resume from`);
        const ckpt = await readCheckpoint(paths.checkpoint);
        const ignored = (['config', 'model', 'batchSize', 'lr', 'seed', 'towers', 'embeddingDim', 'earlyStop', 'patience', 'shuffleBuffer'] as const).filter((k) => opts[k] !== undefined);
        if (ignored.length > 0) reporter.log?.(`--resume: ignoring ${ignored.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}; the run keeps its saved settings`);
        // Data may have moved since: --data/--valid point at it again (the saved encoders still decide how it is read).
        const settings: FitSettings = {
          ...ckpt.settings,
          ...(opts.data ? { train: userPath(opts.data) } : {}),
          ...(opts.valid ? { valid: userPath(opts.valid) } : {}),
          epochs: opts.epochs ?? ckpt.settings.epochs,
          backend: opts.backend ?? ckpt.settings.backend,
        };
        await mustExist(settings.train, '--data');
        if (settings.valid) await mustExist(settings.valid, '--valid');
        reporter.log?.(`resuming ${paths.dir} after epoch ${ckpt.position.epoch} (step ${ckpt.position.step}) of ${settings.epochs}`);
        run = {
          model: ckpt.model,
          schema: ckpt.artifact.schema,
          encoders: ckpt.artifact.encoders,
          encodersObj: Encoders.fromJSON(ckpt.artifact.encoders),
          settings,
          start: { weights: ckpt.artifact.weights, state: ckpt.state, position: ckpt.position },
        };
      } else {
        if (await hasCheckpoint(paths.checkpoint)) {
          throw new Error(`${paths.dir} already holds a run; pass --resume to continue it, or choose another --out`);
        }
        const cfg = opts.config ? await loadFitConfig(userPath(opts.config)) : {};
        const flags: FitFlags = { ...opts, ...(opts.data ? { data: userPath(opts.data) } : {}), ...(opts.valid ? { valid: userPath(opts.valid) } : {}) };
        const settings = resolveFitSettings(flags, cfg, { backend: DEFAULT_BACKEND });
        engineFactory(settings.backend); // fail on a bad --backend before reading any data
        await mustExist(settings.train, '--data');
        if (settings.valid) await mustExist(settings.valid, '--valid');
        let trainRows: number | undefined;
        reporter.log?.(`fitting encoders on ${settings.train}`);
        const encoders = await fitEncoders(settings.train, settings.data, { onDone: (r) => (trainRows = r.rows) });
        const model = buildModel(encoders.schema, settings.model);
        run = {
          model,
          schema: encoders.schema,
          encoders: encoders.toJSON(),
          encodersObj: encoders,
          settings,
          start: { weights: initWeights(model.graph, settings.seed) },
          ...(trainRows !== undefined ? { trainRows } : {}),
        };
        const fields = encoders.schema.fields.map((f) => (f.kind === 'numeric' ? f.name : `${f.name}(${f.encoding.kind === 'vocabulary' ? f.encoding.size : f.encoding.buckets})`));
        reporter.log?.(`${settings.model.model}: ${trainRows ?? '?'} training rows; fields ${fields.join(' ')}; towers ${settings.model.towers.join('-')}, dim ${settings.model.embeddingDim}`);
      }
      const { settings, encodersObj } = run;
      const outcome = await fitLoop({
        ...run,
        factory: engineFactory(settings.backend),
        threads: opts.threads,
        spinning: opts.spinning,
        paths,
        reporter,
        trainBatches: (epoch) =>
          prefetchDataset(settings.train, { encoders: encodersObj, batchSize: settings.batchSize, shuffle: { seed: hashString(`epoch-${epoch}`, settings.seed), buffer: settings.shuffleBuffer } }),
        ...(settings.valid ? { validBatches: () => prefetchDataset(settings.valid!, { encoders: encodersObj, batchSize: evalBatchSize(settings) }) } : {}),
      });
      const best = outcome.position.best;
      console.log(`\n${paths.dir}: ${outcome.position.epoch} epoch(s), ${outcome.position.step} steps${best ? `; best epoch ${best.epoch} (${best.metric} ${best.value.toFixed(4)})` : ''}`);
      if (outcome.best) console.log(`\nvalidation metrics of the best epoch:\n${formatMetricsTable(outcome.best)}`);
      console.log(`\nbest artifact: ${paths.best}\ncheckpoint:    ${paths.checkpoint}\nhistory:       ${paths.history}`);
    });
}
