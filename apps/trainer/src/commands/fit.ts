import { nameList, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, port, positiveIntPerField, positiveNumber, seed, userPath, widthList } from '@esm2/cli-kit';
import { formatMetricsTable, INIT_MODES, INTERACTIONS, MODEL_NAMES } from '@esm2/core';
import { InvalidArgumentError, type Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { fit } from '../api.js';
import { BACKEND_NAMES, DEFAULT_BACKEND, backendName, defaultWorkers } from '../train/engines.js';
import type { FitFlags } from '../train/fit-config.js';
import { FIT_DEFAULTS } from '../train/settings.js';
import { METRIC_NAMES } from '../train/metric-key.js';
import { progressReporter } from '../train/progress.js';
import type { TorchLaunchOptions } from '../train/torch-options.js';

interface FitCommandOptions extends FitFlags, TorchLaunchOptions {
  out: string;
  workers?: number;
  threads?: number;
  spinning: boolean;
  config?: string;
  resume: boolean;
  warmStart?: string;
  day?: number;
  maxIds?: number | Record<string, number>;
  evictAfter?: number;
}

/** The commented example of every config key; shipped with the package (src/commands and dist/commands are both two levels down). */
const EXAMPLE_CONFIG = fileURLToPath(new URL('../../examples/fit-config.yaml', import.meta.url));

/** `1,0.5,1` → { ctr: 1, ctavr: 0.5, ctcvr: 1 }. */
function lossWeights(value: string): { ctr: number; ctavr: number; ctcvr: number } {
  const parts = value.split(',').map((s) => s.trim());
  const w = parts.map(Number);
  if (parts.length !== 3 || parts.some((p) => p === '') || w.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new InvalidArgumentError('expected three comma-separated weights ≥ 0 for ctr,ctavr,ctcvr, e.g. 1,1,1');
  }
  return { ctr: w[0]!, ctavr: w[1]!, ctcvr: w[2]! };
}

/** `fit`: train a zoo model on a file, validating each epoch; resumable. */
export function registerFitCommand(program: Command): void {
  program
    .command('fit')
    .description('Train a zoo model; per-epoch validation, early stopping, best artifact and resumable checkpoints in --out')
    .option('--data <file>', 'training data (.csv, .tsv or .parquet, or a directory from `data encode`: its encoders are used and epochs read its typed arrays); required for a new run')
    .option('--valid <file>', "validation data (a file, or a directory from `data encode --encoders` with the training data's encoders), evaluated after every epoch; picks the best epoch (default: none)")
    .option('--config <file>', `fit config (YAML/JSON): model, optimizer, data and train sections, every key optional; flags override it. Commented example: ${EXAMPLE_CONFIG}`)
    .option('--model <name>', `${MODEL_NAMES.join(' | ')}; required for a new run unless the config names it`)
    .requiredOption('--out <dir>', 'run directory, e.g. runs/NAME (best/, checkpoint/, history.json); one fit at a time; it must not be, lie inside or hold --data, --valid or --config')
    .option('--epochs <n>', `epochs to train (default: ${FIT_DEFAULTS.epochs}); with --resume, the new total`, positiveInt)
    .option('--batch-size <n>', `rows per step (default: ${FIT_DEFAULTS.batchSize})`, positiveInt)
    .option('--lr <x>', `Adam learning rate (default: ${FIT_DEFAULTS.lr})`, positiveNumber)
    .option('--seed <n>', `seed for initial weights and shuffling (default: ${FIT_DEFAULTS.seed}; 0…4294967295)`, seed)
    .option('--towers <widths>', `hidden layer widths of every tower (default: ${FIT_DEFAULTS.towers.join(',')})`, widthList)
    .option('--embedding-dim <n>', `embedding width (default: ${FIT_DEFAULTS.embeddingDim})`, positiveInt)
    .option('--interaction <kind>', `feature interaction on the shared embedding: none | dot (DLRM: pairwise dot products of the fields' embeddings, appended) | cross (DCN-v2 cross layers the towers read) (default: ${FIT_DEFAULTS.interaction})`, oneOf(INTERACTIONS))
    .option('--cross-layers <n>', `cross layers of --interaction cross (default: ${FIT_DEFAULTS.crossLayers})`, positiveInt)
    .option(
      '--loss-weights <ctr,ctavr,ctcvr>',
      `weights of the CTR, CTAVR and CTCVR losses (default: ${[FIT_DEFAULTS.lossWeights.ctr, FIT_DEFAULTS.lossWeights.ctavr, FIT_DEFAULTS.lossWeights.ctcvr].join(',')}); ESMM uses ctr and ctcvr`,
      lossWeights,
    )
    .option(
      '--daction <columns>',
      'label column(s) whose OR is DAction, e.g. cart, fav or cart,fav (default: the data config\'s labels.daction, else inferred: a daction column, or cart/wish/fav… OR-ed — cart OR fav for imported UserBehavior); saved with the run, so eval reads the same labels',
      nameList,
    )
    .option('--init <how>', `tower output biases of a new run: paper (0, p = 0.5) | calibrated (logit of the training data's base rates) (default: ${FIT_DEFAULTS.init})`, oneOf(INIT_MODES))
    .option('--embedding-lr <x>', `learning rate of the embedding rows; 0 = --lr (default: ${FIT_DEFAULTS.embeddingLr})`, nonNegativeNumber)
    .option('--embedding-l2 <x>', `L2 on the embedding rows each batch touches (default: ${FIT_DEFAULTS.embeddingL2})`, nonNegativeNumber)
    .option('--backend <name>', `training engine: ${BACKEND_NAMES.join(' | ')} (default: ${DEFAULT_BACKEND}); torch trains with PyTorch (one process, or torchrun with --nproc-per-node) from a \`data encode\` directory, its epochs validated by the onnx engine`)
    .option(
      '--workers <n>',
      `onnx engine: sessions computing shares of each batch's gradients side by side, summed into one optimizer step (the same step as one session's); saved with the run, a resume keeps it unless given again (default: the cores, here ${defaultWorkers()})`,
      positiveInt,
    )
    .option('--threads <n>', 'intra-op threads of each onnx session (default: 1 with --workers > 1, else 2; on 2 cores two single-threaded workers beat one session with 2 threads)', positiveInt)
    .option('--spinning', 'let idle onnx threads spin-wait: faster on an idle machine, far slower when other processes compete', false)
    .option('--nproc-per-node <n>', 'torch backend: ranks on this machine under torchrun (gloo); the global batch (--batch-size) is split across all ranks, so any number of ranks takes the same steps (default: one python process)', positiveInt)
    .option('--nnodes <n>', 'torch backend: machines of the torchrun group, each running this command with its --node-rank (default 1)', positiveInt)
    .option('--node-rank <n>', "torch backend: this machine's number, 0 … nnodes-1 (default 0)", nonNegativeInt)
    .option('--master-addr <host>', 'torch backend: address of node 0 (default 127.0.0.1; required with --nnodes > 1)')
    .option('--master-port <port>', 'torch backend: rendezvous port of node 0 (default: a free port on one machine; required with --nnodes > 1)', port)
    .option('--max-restarts <n>', 'torch backend: times torchrun restarts the group after a rank fails; it resumes from the last checkpoint (default 0)', nonNegativeInt)
    .option('--checkpoint-every <steps>', 'torch backend: steps between the mid-epoch checkpoints a restarted group resumes from; 0 = epoch ends only (default 1000)', nonNegativeInt)
    .option('--select-by <metric>', `the validation metric that picks the best epoch (best/): ${METRIC_NAMES.join(', ')}; logloss = ctr + ctavr + ctcvr logloss, resting on every row (default: ${FIT_DEFAULTS.selectBy})`)
    .option('--early-stop <metric>', `stop when this validation metric stops improving; it also picks the best epoch: ${METRIC_NAMES.join(', ')} (default: no early stopping)`)
    .option('--patience <n>', `epochs without improvement before stopping (default: ${FIT_DEFAULTS.patience})`, positiveInt)
    .option('--shuffle-buffer <n>', `rows held by the streaming shuffle (default: ${FIT_DEFAULTS.shuffleBuffer})`, positiveInt)
    .option('--resume', 'continue the run in --out from its last checkpoint (its saved settings; --epochs, --backend, --data and --valid may be given again; a different --daction is refused)', false)
    .option(
      '--warm-start <run>',
      "train a new run (in a new --out) from this model on new --data: a run directory (its checkpoint/: weights and optimizer state) or an artifact directory such as best/ (weights, fresh optimizer state). Its settings are kept (--epochs, --lr, --embedding-lr, --embedding-l2, --batch-size, --seed, --shuffle-buffer, --select-by, --early-stop, --patience, --backend, --workers may change; an architecture flag is refused), its encoders are extended on --data (known ids keep their rows, new ids get new ones) or --data is a directory from `data encode --warm-start`; the artifacts record the lineage",
    )
    .option('--day <n>', "the day of --data, stamped on the ids it holds (a new run's encoders then record it, for later warm starts); with --warm-start the default is the parent's day + 1, or 0", nonNegativeInt)
    .option('--max-ids <n|field=n,…>', 'most ids a vocabulary keeps, for every field or per field; on a warm start the least recently seen are evicted first (kept with the encoders for the next warm starts)', positiveIntPerField)
    .option('--evict-after <days>', 'on a warm start, evict ids not seen for this many days (kept with the encoders for the next warm starts)', positiveInt)
    .action(async (opts: FitCommandOptions) => {
      const { data, evictAfter, ...rest } = opts;
      const outcome = await fit({
        ...rest,
        ...(evictAfter !== undefined ? { evictAfterDays: evictAfter } : {}),
        ...(opts.warmStart ? { warmStart: userPath(opts.warmStart) } : {}),
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
      if (outcome.metrics) console.log(`\nvalidation metrics of the best epoch:\n${formatMetricsTable(outcome.metrics, { split: 'validation' })}`);
      console.log(`\nbest artifact: ${paths.best}\ncheckpoint:    ${paths.checkpoint}\nhistory:       ${paths.history}`);
    });
}
