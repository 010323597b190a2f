import { nameList, nonNegativeInt, oneOf, optionParser, positiveInt, positiveNumber, Progress, userPath, widthList } from '@esm2/cli-kit';
import { INIT_MODES, INTERACTIONS } from '@esm2/core';
import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { COMPARE_SETTINGS, COMPARISON_JSON, COMPARISON_MD, runCompare, type CellInfo, type CompareOptions, type CompareSetting } from '../compare/run.js';
import { COMPARISON_HTML } from '../compare/report.js';
import { COMPARE_MODELS, parseLossWeights, parseModels, parseSeeds, parseVariants, type CompareEntry } from '../compare/spec.js';
import { DEFAULT_GAUC_RESAMPLES, formatMainTable } from '../compare/summary.js';
import { BACKEND_NAMES, backendName } from '../train/engines.js';
import type { LoopReporter } from '../train/loop.js';
import { recordLogloss } from '../train/metric-key.js';
import type { EpochRecord } from '../train/settings.js';
import { FIT_DEFAULTS, pickDefined } from '../train/settings.js';

/** The flags as commander parses them: the settings passed through to every cell are runCompare's own. */
type CompareCommandOptions = Pick<CompareOptions, Exclude<CompareSetting, 'backend'> | 'workers' | 'threads'> & {
  paper: boolean;
  train: string;
  valid?: string;
  test: string;
  models: CompareEntry[];
  seeds: number[];
  variants?: CompareEntry[];
  out: string;
  config?: string;
  backend?: string;
  resume: boolean;
  parallel: number;
  bootstrap: number;
};

const DEFAULT_MODELS = 'esm2,esmm,dnn,dnn-os,gbdt';
const DEFAULT_SEEDS = '1,2,3';

const fmt = (x: unknown) => (typeof x === 'number' ? (Number.isNaN(x) ? 'nan' : x.toFixed(4)) : '-');

const cellTag = (cell: CellInfo) => `[${cell.index}/${cell.count} ${cell.name}]`;

/** Progress of one run on stderr, every line starting with `tag` (a compare cell: its k of n and name): a bar per epoch and the epoch's summary. */
export function taggedReporter(tag: string): LoopReporter {
  let progress: Progress | undefined;
  let total: number | undefined;
  return {
    epochStart(epoch, epochs, rows) {
      total = rows;
      progress = new Progress({ label: `${tag} epoch ${epoch}/${epochs}`, unit: 'samples', clearOnStop: true });
    },
    step(rows) {
      progress?.update(rows, total !== undefined ? { total } : {});
    },
    epochEnd(r: EpochRecord, improved) {
      progress?.stop();
      progress = undefined;
      process.stderr.write(`${tag} epoch ${r.epoch}: train loss ${fmt(r.train_loss)}  valid logloss ${fmt(recordLogloss(r))} ctcvr_auc ${fmt(r.ctcvr_auc)}${improved ? '  *best' : ''}\n`);
    },
    log(message) {
      process.stderr.write(`${tag} ${message}\n`);
    },
  };
}

/** `compare`: models × seeds (× variants) on one split, every cell scored on the same test file. */
export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description('Train and test a grid of models × seeds (× ESM2 variants) on one split; writes comparison.json, comparison.md (mean ± sd, ESM2\'s differences to each baseline) and report.html')
    .requiredOption('--train <file>', 'training data (.csv, .tsv or .parquet)')
    .option('--valid <file>', 'validation data (picks each deep model\'s best epoch; GBDT early stopping)')
    .requiredOption('--test <file>', 'test data every cell is scored on')
    .addOption(new Option('--models <names>', `comma-separated, from ${COMPARE_MODELS.join(', ')}`).argParser(optionParser(parseModels)).default(parseModels(DEFAULT_MODELS), DEFAULT_MODELS))
    .addOption(
      new Option('--seeds <list>', 'training seeds in 0…4294967295, e.g. 1,2,3 (differences are paired over seeds: 2 or more give intervals)').argParser(optionParser(parseSeeds)).default(parseSeeds(DEFAULT_SEEDS), DEFAULT_SEEDS),
    )
    .option(
      '--variants <spec>',
      "ESM2 variants run beside the models: 'NAME:SETTING [SETTING…]; …', SETTING = loss-weights=ctr,ctavr,ctcvr | daction=col[,col], e.g. 'no-ctavr:loss-weights=1,0,1; fav:daction=fav'",
      optionParser(parseVariants),
    )
    .requiredOption('--out <dir>', 'comparison directory: runs/<model>-seed<k>/ per cell, comparison.json, comparison.md, report.html')
    .option('--epochs <n>', `epochs of every deep model (default: the --config file's train.epochs, else fit's ${FIT_DEFAULTS.epochs})`, positiveInt)
    .option('--config <file>', 'fit config (YAML/JSON) for every deep cell, as fit --config takes')
    .option('--loss-weights <ctr,ctavr,ctcvr>', 'loss weights of every ESM2/ESMM cell (a variant\'s own win)', optionParser((v) => parseLossWeights(v, '--loss-weights')))
    .option('--daction <columns>', 'label column(s) whose OR is DAction in every cell (a variant\'s own win), e.g. cart or cart,fav', nameList)
    .option('--batch-size <n>', 'rows per training step', positiveInt)
    .option('--lr <x>', 'Adam learning rate', positiveNumber)
    .option('--towers <widths>', 'hidden layer widths of every tower', widthList)
    .option('--embedding-dim <n>', 'embedding width', positiveInt)
    .option('--interaction <kind>', "feature interaction on the shared embedding: none | dot (DLRM: pairwise dot products of the fields' embeddings, appended) | cross (DCN-v2 cross layers the towers read)", oneOf(INTERACTIONS))
    .option('--cross-layers <n>', 'cross layers of --interaction cross', positiveInt)
    .option('--init <how>', "tower output biases of every deep cell: paper (0) | calibrated (logit of the training data's base rates) (default: fit's)", oneOf(INIT_MODES))
    .option('--paper', "the paper's settings for every deep cell: --interaction none --init paper (the architecture and start of Wen et al.)", false)
    .option('--backend <name>', `training engine: ${BACKEND_NAMES.join(' | ')}`)
    .option('--workers <n>', 'data-parallel onnx sessions of each deep cell, as fit --workers (default: the cores)', positiveInt)
    .option('--threads <n>', 'intra-op threads of each onnx session, as fit --threads (default: 1 with --workers > 1, else 2)', positiveInt)
    .option('--resume', 'skip finished cells and continue the interrupted one', false)
    .addOption(new Option('--parallel <n>', 'cells trained at once (more only with cores to spare: each cell uses them all)').argParser(positiveInt).default(1))
    .option('--bootstrap <n>', 'resamples of the bootstrap over test users behind GAUC differences (0: none)', nonNegativeInt, DEFAULT_GAUC_RESAMPLES)
    .action(async (opts: CompareCommandOptions) => {
      const entries = [...opts.models, ...(opts.variants ?? [])];
      const clash = opts.variants?.find((v) => opts.models.some((m) => m.name === v.name));
      if (clash) throw new Error(`--variants: '${clash.name}' is also in --models`);
      const out = userPath(opts.out);
      if (opts.paper) {
        if (opts.interaction !== undefined && opts.interaction !== 'none') throw new Error(`--paper means --interaction none, not ${opts.interaction}`);
        if (opts.init !== undefined && opts.init !== 'paper') throw new Error(`--paper means --init paper, not ${opts.init}`);
      }
      const interaction = opts.paper ? 'none' : opts.interaction;
      const init = opts.paper ? 'paper' : opts.init;
      const comparison = await runCompare({
        train: userPath(opts.train),
        ...(opts.valid ? { valid: userPath(opts.valid) } : {}),
        test: userPath(opts.test),
        entries,
        seeds: opts.seeds,
        out,
        ...(opts.config ? { config: userPath(opts.config) } : {}),
        // The settings every cell takes, as given (--paper: its interaction and init).
        ...pickDefined({ ...opts, interaction, init, backend: opts.backend === undefined ? undefined : backendName(opts.backend) }, [...COMPARE_SETTINGS, 'workers', 'threads']),
        resume: opts.resume,
        parallel: opts.parallel,
        gaucResamples: opts.bootstrap,
        reporter: (cell) => taggedReporter(cellTag(cell)),
        stageProgress: (cell, stage) => new Progress({ label: `${cellTag(cell)} ${stage}`, clearOnStop: true }),
        log: (m) => process.stderr.write(`${m}\n`),
      });
      console.log(formatMainTable(comparison));
      console.log(`\nwritten: ${join(out, COMPARISON_JSON)}, ${join(out, COMPARISON_MD)}, ${join(out, COMPARISON_HTML)}`);
    });
}
