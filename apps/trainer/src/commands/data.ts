import {
  importAliccp,
  importUserBehavior,
  inspectFile,
  splitFile,
  DEFAULT_WORLD_SIZES,
  loadDataConfig,
  writeSynthetic,
  type BadRowReport,
  type DataConfigInput,
  type OnBadRow,
} from '@esm2/data';
import { InvalidArgumentError, type Command } from 'commander';
import { userPath } from '../train/user-path.js';
import { integer, positiveInt } from './cli-args.js';
import { DataProgress } from './data-progress.js';

function badRowMode(value: string): OnBadRow {
  if (value !== 'error' && value !== 'skip') throw new InvalidArgumentError("expected 'error' or 'skip'");
  return value;
}

function reportSkipped(r: BadRowReport): void {
  if (r.skipped > 0) console.log(`skipped ${r.skipped} bad row(s); written to ${r.rejectFile}`);
}

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)} %`;

function splitMode(value: string): 'random' | 'group' | 'time' {
  if (value !== 'random' && value !== 'group' && value !== 'time') throw new InvalidArgumentError("expected 'random', 'group' or 'time'");
  return value;
}

function fraction(value: string): number {
  const x = Number(value);
  if (!(x > 0 && x < 1)) throw new InvalidArgumentError('expected a number between 0 and 1');
  return x;
}

/** `data generate|import|split|inspect`: make, convert, split and look at data files. */
export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('Generate, import, split and inspect data files');

  data
    .command('generate')
    .description('Write a seeded synthetic impression log with known true probabilities')
    .requiredOption('--rows <n>', 'number of impressions', positiveInt)
    .requiredOption('--out <file>', 'output .csv, .tsv or .parquet (written atomically)')
    .option('--seed <n>', 'random seed', integer, 1)
    .option('--world-seed <n>', 'seed of the latent users/items world (default: --seed); train and test files share it', integer)
    .option('--users <n>', 'users in the latent world (default 20000)', positiveInt)
    .option('--items <n>', 'items in the latent world (default 30000)', positiveInt)
    .option('--truth', 'add true_pctr, true_pctavr, true_pcvr, true_pctcvr columns', false)
    .action(async (opts: { rows: number; seed: number; worldSeed?: number; users?: number; items?: number; truth: boolean; out: string }) => {
      const out = userPath(opts.out);
      const progress = new DataProgress('generate');
      try {
        await writeSynthetic(out, { rows: opts.rows, seed: opts.seed, worldSeed: opts.worldSeed, truth: opts.truth, sizes: { ...DEFAULT_WORLD_SIZES, ...(opts.users ? { users: opts.users } : {}), ...(opts.items ? { items: opts.items } : {}) } }, (n) => progress.rows(n, opts.rows));
      } finally {
        progress.stop();
      }
      console.log(`wrote ${opts.rows} rows to ${out}`);
    });

  data
    .command('import')
    .description('Convert Ali-CCP or Taobao UserBehavior files into labelled impression rows')
    .argument('<format>', 'aliccp | userbehavior')
    .requiredOption('--in <file>', 'input file')
    .requiredOption('--out <file>', 'output .csv, .tsv or .parquet (written atomically)')
    .option('--common <file>', 'Ali-CCP raw release: the common_features file joined to the skeleton')
    .option('--on-bad-row <mode>', "'error' stops at the first bad row; 'skip' drops bad rows into a reject file", badRowMode, 'error')
    .option('--reject-file <file>', 'where skipped rows go (default: <in>.rejects.csv)')
    .action(async (format: string, opts: { in: string; out: string; common?: string; onBadRow: OnBadRow; rejectFile?: string }) => {
      const input = userPath(opts.in);
      const output = userPath(opts.out);
      const bad = { onBadRow: opts.onBadRow, ...(opts.rejectFile ? { rejectFile: userPath(opts.rejectFile) } : {}) };
      const progress = new DataProgress(`import ${format}`);
      try {
        if (format === 'aliccp') {
          const r = await importAliccp(input, output, { ...bad, ...(opts.common ? { common: userPath(opts.common) } : {}), onProgress: (n) => progress.rows(n) });
          progress.stop();
          console.log(`${r.variant} Ali-CCP → ${output}: ${r.rows} rows, ${r.clicks} clicks, ${r.buys} purchases (no DAction in Ali-CCP)`);
          if (r.droppedFeatures > 0) console.log(`dropped ${r.droppedFeatures} feature occurrences of fields outside the Ali-CCP field list`);
          reportSkipped(r);
        } else if (format === 'userbehavior') {
          const r = await importUserBehavior(input, output, { ...bad, onProgress: (stage, f) => progress.fraction(stage, f) });
          progress.stop();
          console.log(`${r.events} events → ${output}: ${r.rows} (user, item) rows, ${r.clicks} clicks, ${r.dactions} DActions, ${r.buys} purchases`);
          reportSkipped(r);
        } else {
          throw new InvalidArgumentError(`unknown import format '${format}' (expected aliccp or userbehavior)`);
        }
      } finally {
        progress.stop();
      }
    });

  data
    .command('split')
    .description('Split a file into train and test files: random rows, whole groups (e.g. users), or by time')
    .requiredOption('--in <file>', 'CSV, TSV or Parquet file')
    .requiredOption('--train <file>', 'output for the training rows (.csv, .tsv or .parquet)')
    .requiredOption('--test <file>', 'output for the test rows')
    .option('--by <mode>', "'random' rows, 'group' (all rows of a --column value on one side), or 'time' (latest --column values are test)", splitMode, 'random')
    .option('--column <name>', 'the group or time column')
    .option('--test-fraction <x>', 'share of rows (random, time) or groups (group) in the test file', fraction, 0.2)
    .option('--seed <n>', 'seed of random and group splits', integer, 1)
    .action(async (opts: { in: string; train: string; test: string; by: 'random' | 'group' | 'time'; column?: string; testFraction: number; seed: number }) => {
      const { in: input, train, test } = { in: userPath(opts.in), train: userPath(opts.train), test: userPath(opts.test) };
      const r = await splitFile(input, train, test, { by: opts.by, ...(opts.column ? { column: opts.column } : {}), testFraction: opts.testFraction, seed: opts.seed });
      const total = r.train + r.test;
      console.log(`${total} rows → ${train}: ${r.train} (${pct(r.train / total, 1)}), ${test}: ${r.test} (${pct(r.test / total, 1)})`);
    });

  data
    .command('inspect')
    .description('Row count, label rates per funnel stage and distinct values per field')
    .argument('<file>', 'CSV, TSV or Parquet file')
    .option('--config <file>', 'data config (JSON or YAML) naming labels and field kinds')
    .option('--json', 'print the report as JSON', false)
    .action(async (file: string, opts: { config?: string; json: boolean }) => {
      const config: DataConfigInput | undefined = opts.config ? await loadDataConfig(userPath(opts.config)) : undefined;
      const progress = new DataProgress('inspect');
      let r;
      try {
        r = await inspectFile(userPath(file), config, {}, (f) => progress.fraction('scan', f));
      } finally {
        progress.stop();
      }
      if (opts.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      console.log(`${r.file} (${r.format}): ${r.rows} rows`);
      const d = r.labels.daction.length ? r.labels.daction.join(' or ') : 'none';
      console.log(`labels: click=${r.labels.click} daction=${d} buy=${r.labels.buy}`);
      console.log(`  clicks    ${r.clicks}  CTR ${pct(r.ctr)} of impressions`);
      console.log(`  DActions  ${r.dactions}  ${pct(r.dactionPerClick)} of clicks`);
      console.log(`  purchases ${r.buys}  ${pct(r.buyPerClick)} of clicks, ${pct(r.buyPerImpression, 4)} of impressions`);
      console.log('fields:');
      const w = Math.max(...r.fields.map((f) => f.name.length));
      for (const f of r.fields) {
        const col = f.column !== f.name ? ` (column ${f.column})` : '';
        console.log(`  ${f.name.padEnd(w)}  ${f.kind.padEnd(16)} ${String(f.distinct).padStart(9)} distinct${f.nulls ? `, ${f.nulls} missing` : ''}${col}`);
      }
    });
}
