import { integer, nameList, nonNegativeNumber, optionParser, oneOf, positiveInt, positiveIntPerField, positiveNumber, seed, userPath, widthList } from '@esm2/cli-kit';
import { INIT_MODES, INTERACTIONS, MODEL_NAMES } from '@esm2/core';
import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { DEFAULT_WINDOW, REPLAY_HTML, REPLAY_JSON, REPLAY_MODES, REPLAY_SETTINGS, type ReplayFile, type ReplayMode, type ReplayOptions } from '../replay/options.js';
import { parseModes, runReplay } from '../replay/run.js';
import { BACKEND_NAMES, backendName } from '../train/engines.js';
import { FIT_DEFAULTS, pickDefined } from '../train/settings.js';
import { taggedReporter } from './compare.js';

type ReplayCommandOptions = Pick<ReplayOptions, Exclude<(typeof REPLAY_SETTINGS)[number], 'backend'> | 'window' | 'toDay' | 'itemField' | 'userField' | 'evictAfterDays'> & {
  data: string;
  by: string;
  fromDay: number;
  modes: ReplayMode[];
  out: string;
  config?: string;
  backend?: string;
  maxIds?: number | Record<string, number>;
  resume: boolean;
};

const f4 = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : '-');

/** The per-day table the command prints: every mode's AUCs, training seconds and known-id share on each evaluation day. */
export function formatReplayTable(file: ReplayFile): string {
  const head = ['eval day', 'mode', 'CTR AUC', 'CVR AUC', 'CTCVR AUC', 'train s', 'known ids'];
  const rows = file.results.flatMap((r) =>
    file.modes.flatMap((mode) => {
      const m = r.modes[mode];
      return m === undefined ? [] : [[String(r.evalDay), mode, f4(m.metrics.ctr_auc), f4(m.metrics.cvr_auc), f4(m.metrics.ctcvr_auc), m.trainSeconds.toFixed(1), `${(100 * m.knownIds.both).toFixed(1)} %`]];
    }),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const summary = file.modes.map((mode) => {
    const s = file.summary[mode];
    return s === undefined ? '' : `${mode}: mean CTR AUC ${f4(s.meanAuc.ctr)}, CVR AUC ${f4(s.meanAuc.cvr)}, CTCVR AUC ${f4(s.meanAuc.ctcvr)} over ${s.days} day(s); ${s.trainSeconds.toFixed(1)} s of training`;
  });
  return [line(head), ...rows.map(line), '', ...summary.filter((x) => x !== '')].join('\n');
}

/** `replay`: a day column's days replayed in order, incremental training against retraining and a frozen model. */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'Replay a log day by day: train each day (incremental: from the day before\'s model; retrain: from scratch on the last --window days; frozen: the first model, never retrained) and evaluate on the next day; writes replay.json and report.html',
    )
    .requiredOption('--data <file>', 'the event log (.csv, .tsv or .parquet) with a day column, e.g. from `data generate --days N`')
    .requiredOption('--by <column>', 'the day column (a whole number in every row)')
    .requiredOption('--from-day <d>', 'the first day trained on; the days before it train the first (bootstrap) model', integer)
    .option('--to-day <e>', 'the last day trained on (default: the day before the last, which evaluates it)', integer)
    .addOption(new Option('--modes <list>', `comma-separated, from ${REPLAY_MODES.join(', ')}`).argParser(optionParser(parseModes)).default(parseModes(REPLAY_MODES.join(',')), REPLAY_MODES.join(',')))
    .option('--window <days>', `days a retrain run trains on (default: ${DEFAULT_WINDOW})`, positiveInt)
    .requiredOption('--out <dir>', 'replay directory: days/ (the day slices), runs/bootstrap, runs/<mode>/day-<d>/, replay.json, report.html')
    .option('--resume', 'continue the replay in --out: finished runs are kept, the rest done again', false)
    .option('--item-field <field>', 'the item field the known-id share counts (default: item_id)')
    .option('--user-field <field>', "the user field the known-id share counts (default: the encoders' user field, else user_id)")
    .option('--config <file>', 'fit config (YAML/JSON) for every new run (the bootstrap and retrain runs; incremental runs keep their parent\'s settings)')
    .option('--model <name>', `${MODEL_NAMES.join(' | ')} (default: esm2, or the --config file's)`)
    .option('--epochs <n>', `epochs of every run (default: ${FIT_DEFAULTS.epochs})`, positiveInt)
    .option('--batch-size <n>', `rows per step (default: ${FIT_DEFAULTS.batchSize})`, positiveInt)
    .option('--lr <x>', `Adam learning rate (default: ${FIT_DEFAULTS.lr})`, positiveNumber)
    .option('--embedding-lr <x>', 'learning rate of the embedding rows; 0 = --lr', nonNegativeNumber)
    .option('--embedding-l2 <x>', 'L2 on the embedding rows each batch touches', nonNegativeNumber)
    .option('--seed <n>', `seed of every run (default: ${FIT_DEFAULTS.seed})`, seed)
    .option('--towers <widths>', `hidden layer widths of every tower (default: ${FIT_DEFAULTS.towers.join(',')})`, widthList)
    .option('--embedding-dim <n>', `embedding width (default: ${FIT_DEFAULTS.embeddingDim})`, positiveInt)
    .option('--interaction <kind>', 'none | dot | cross, as fit takes it', oneOf(INTERACTIONS))
    .option('--cross-layers <n>', 'cross layers of --interaction cross', positiveInt)
    .option('--init <how>', 'paper | calibrated, as fit takes it', oneOf(INIT_MODES))
    .option('--daction <columns>', 'label column(s) whose OR is DAction, as fit takes it', nameList)
    .option('--shuffle-buffer <n>', 'rows held by the streaming shuffle', positiveInt)
    .option('--max-ids <n|field=n,…>', 'incremental runs (and the bootstrap they start from): the most ids a vocabulary field keeps (fit --max-ids)', positiveIntPerField)
    .option('--evict-after <days>', 'incremental runs (and the bootstrap): free the rows of ids unseen for this many days (fit --evict-after)', positiveInt)
    .option('--backend <name>', `training engine: ${BACKEND_NAMES.join(' | ')}`)
    .option('--workers <n>', 'data-parallel onnx sessions of every run, as fit --workers (default: the cores)', positiveInt)
    .option('--threads <n>', 'intra-op threads of each onnx session, as fit --threads', positiveInt)
    .action(async (opts: ReplayCommandOptions & { evictAfter?: number }) => {
      const out = userPath(opts.out);
      const file = await runReplay({
        ...pickDefined({ ...opts, model: opts.model ?? (opts.config === undefined ? 'esm2' : undefined), backend: opts.backend === undefined ? undefined : backendName(opts.backend) }, REPLAY_SETTINGS),
        data: userPath(opts.data),
        by: opts.by,
        fromDay: opts.fromDay,
        ...(opts.toDay !== undefined ? { toDay: opts.toDay } : {}),
        modes: opts.modes,
        ...(opts.window !== undefined ? { window: opts.window } : {}),
        ...(opts.maxIds !== undefined ? { maxIds: opts.maxIds } : {}),
        ...(opts.evictAfter !== undefined ? { evictAfterDays: opts.evictAfter } : {}),
        ...(opts.config !== undefined ? { config: userPath(opts.config) } : {}),
        ...pickDefined(opts, ['itemField', 'userField']),
        out,
        resume: opts.resume,
        reporter: (tag) => taggedReporter(`[${tag}]`),
        log: (m) => process.stderr.write(`${m}\n`),
      });
      console.log(formatReplayTable(file));
      console.log(`\nwritten: ${join(out, REPLAY_JSON)}, ${join(out, REPLAY_HTML)}`);
    });
}
