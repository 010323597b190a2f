import { MODEL_FILE } from '@esm2/core';
import { readArtifact } from '@esm2/core/node';
import {
  checkEncodePaths,
  EncodedShards,
  encodersForSchema,
  fitEncoders,
  importAliccp,
  isEncodedDir,
  writeEncodedShards,
  type Encoders,
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
import { oneOf, positiveInt, Progress, seed, userPath } from '@esm2/cli-kit';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
// data encode --warm-start
import { locateWarmStart } from '@esm2/core/node';
import { extendEncoders, type VocabularyGrowth } from '@esm2/data';
import { nonNegativeInt, positiveIntPerField } from '@esm2/cli-kit';

const badRowMode = oneOf<OnBadRow>(['error', 'skip']);

function reportSkipped(r: BadRowReport): void {
  if (r.skipped > 0) console.log(`skipped ${r.skipped} bad row(s); written to ${r.rejectFile}`);
}

interface ImportFlags {
  in: string;
  out: string;
  onBadRow: OnBadRow;
  rejectFile?: string;
}

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)} %`;

const splitMode = oneOf(['random', 'group', 'time']);

function fraction(value: string): number {
  const x = Number(value);
  if (!(x > 0 && x < 1)) throw new InvalidArgumentError('expected a number between 0 and 1');
  return x;
}

/** The encoders of an encoded-shards directory (its encoders.json) or of a model artifact (its model.json). */
async function encodersOf(path: string): Promise<Encoders> {
  if (await isEncodedDir(path)) return (await EncodedShards.describe(path)).encoders;
  const isDir = await stat(path).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new Error(`--encoders ${path}: expected an encoded-shards directory (data encode --out) or a model artifact directory (a run's best/)`);
  const artifact = await readArtifact(path);
  if (artifact.encoders === null) throw new Error(`--encoders ${path}: the artifact holds no encoders`);
  return encodersForSchema(artifact.encoders, artifact.schema, join(path, MODEL_FILE));
}

/** `data generate|import|split|inspect|encode`: make, convert, split, look at and encode data files. */
export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('Generate, import, split, inspect and encode data files');

  data
    .command('generate')
    .description('Write a seeded synthetic impression log with known true probabilities')
    .requiredOption('--rows <n>', 'number of impressions (with --days: in all, split evenly across the days)', positiveInt)
    .requiredOption('--out <file>', 'output .csv, .tsv or .parquet (written atomically)')
    .option('--days <n>', 'a world that moves for N days: a day column 0…N−1, rows in day order, --rows split evenly; each day new users and items appear (new ids), old ones fade, popularity and interests drift (day 0 is the world without --days)', positiveInt)
    .option('--seed <n>', 'random seed (0…4294967295)', seed, 1)
    .option('--world-seed <n>', 'seed of the latent users/items world (default: --seed); train and test files share it', seed)
    .option('--users <n>', 'users in the latent world (default 20000)', positiveInt)
    .option('--items <n>', 'items in the latent world (default 30000)', positiveInt)
    .option('--truth', 'add true_pctr, true_pctavr, true_pcvr, true_pctcvr columns', false)
    .action(async (opts: { rows: number; days?: number; seed: number; worldSeed?: number; users?: number; items?: number; truth: boolean; out: string }) => {
      const out = userPath(opts.out);
      if (opts.days !== undefined && opts.rows < opts.days) throw new Error(`--rows ${opts.rows} is fewer than --days ${opts.days}: every day needs at least one row`);
      const progress = new Progress({ label: 'generate' });
      try {
        await writeSynthetic(out, { rows: opts.rows, seed: opts.seed, worldSeed: opts.worldSeed, truth: opts.truth, ...(opts.days !== undefined ? { days: opts.days } : {}), sizes: { ...DEFAULT_WORLD_SIZES, ...(opts.users ? { users: opts.users } : {}), ...(opts.items ? { items: opts.items } : {}) } }, (n) => progress.update(n, { total: opts.rows }));
      } finally {
        progress.stop();
      }
      console.log(`wrote ${opts.rows} rows to ${out}${opts.days !== undefined ? ` (${opts.days} days, ${Math.floor(opts.rows / opts.days)}${opts.rows % opts.days ? '–' + Math.ceil(opts.rows / opts.days) : ''} a day)` : ''}`);
    });

  const importCmd = data
    .command('import')
    .description('Convert public datasets into labelled impression rows: one subcommand per format, each with only its own flags');
  // Flags every format shares.
  const importCommand = (format: string, summary: string, description: string) =>
    importCmd
      .command(format)
      .summary(summary)
      .description(description)
      .requiredOption('--in <file>', 'input file')
      .requiredOption('--out <file>', 'output .csv, .tsv or .parquet (written atomically)')
      .option('--on-bad-row <mode>', "'error' stops at the first bad row; 'skip' drops bad rows into a reject file", badRowMode, 'error')
      .option('--reject-file <file>', 'where skipped rows go (default: <in>.rejects.csv)');
  const badRows = (opts: ImportFlags) => ({ onBadRow: opts.onBadRow, ...(opts.rejectFile ? { rejectFile: userPath(opts.rejectFile) } : {}) });

  importCommand(
    'aliccp',
    'Ali-CCP: click and purchase labels, no DAction',
    'Ali-CCP (Taobao, click and purchase labels, no DAction) in any of its forms: the per-line sample_id,click,buy,field:id,… files (PaddleRec), a label-encoded CSV, or the raw release skeleton joined with its common_features file (--common)',
  )
    .option('--common <file>', 'the raw release only: its common_features file, joined to the skeleton by common_feature_index')
    .action(async (opts: ImportFlags & { common?: string }) => {
      const input = userPath(opts.in);
      const output = userPath(opts.out);
      const progress = new Progress({ label: 'import aliccp' });
      try {
        const r = await importAliccp(input, output, { ...badRows(opts), ...(opts.common ? { common: userPath(opts.common) } : {}), onProgress: (n) => progress.update(n) });
        progress.stop();
        console.log(`${r.variant} Ali-CCP → ${output}: ${r.rows} rows, ${r.clicks} clicks, ${r.buys} purchases (no DAction in Ali-CCP)`);
        if (r.droppedFeatures > 0) console.log(`dropped ${r.droppedFeatures} feature occurrences of fields outside the Ali-CCP field list`);
        reportSkipped(r);
      } finally {
        progress.stop();
      }
    });

  importCommand(
    'userbehavior',
    'Taobao UserBehavior: click, DAction and purchase labels',
    'Taobao UserBehavior (headerless user_id,item_id,category_id,behavior,timestamp events; behavior is pv, cart, fav or buy) → one row per (user, item) with click, cart, fav and buy labels (DAction = cart OR fav unless fit --daction picks one)',
  ).action(async (opts: ImportFlags) => {
    const input = userPath(opts.in);
    const output = userPath(opts.out);
    const progress = new Progress({ label: 'import userbehavior' });
    try {
      const r = await importUserBehavior(input, output, { ...badRows(opts), onProgress: (stage, f) => progress.fraction(f, stage) });
      progress.stop();
      console.log(`${r.events} events → ${output}: ${r.rows} (user, item) rows, ${r.clicks} clicks, ${r.dactions} DActions (${r.carts} cart, ${r.favs} fav), ${r.buys} purchases`);
      reportSkipped(r);
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
    .option('--seed <n>', 'seed of random and group splits (0…4294967295)', seed, 1)
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
      const progress = new Progress({ label: 'inspect' });
      let r;
      try {
        r = await inspectFile(userPath(file), config, {}, (f) => progress.fraction(f, 'scan'));
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

  data
    .command('encode')
    .description('Encode a file once into sharded typed binary files with a JSON manifest and the fitted encoders: what `fit --data DIR` trains from without re-encoding, and what numpy.memmap reads')
    .requiredOption('--in <file>', 'CSV, TSV or Parquet file')
    .requiredOption('--out <dir>', 'output directory (written atomically; an earlier encoded directory is replaced, any other non-empty directory, or an encoded one holding files encode did not write, refused; it must not be, lie inside or hold --in, --config or --encoders)')
    .option('--shards <n>', 'contiguous near-equal row ranges, one file per column each (e.g. one per training rank)', positiveInt, 1)
    .option('--config <file>', 'data config (JSON or YAML) naming labels and field kinds, as for fit')
    .option('--encoders <dir>', "encode with these encoders instead of fitting new ones: another encoded directory (the training data's, for validation data) or a model artifact (a run's best/)")
    .option('--on-bad-row <mode>', "'error' stops at the first bad row; 'skip' drops bad rows into a reject file", badRowMode, 'error')
    .option('--reject-file <file>', 'where skipped rows go (default: <in>.rejects.csv)')
    .option('--warm-start <run>', "encode with this model's encoders extended on --in (for fit --warm-start): a run directory (its checkpoint/) or a model artifact (a run's best/); known ids keep their ids, new ones get new ones")
    .option('--day <n>', "the day of --in's data, for last-seen days and eviction (default: the encoders' day + 1, or 0)", nonNegativeInt)
    .option('--max-ids <n>', 'ids per vocabulary field, or FIELD=N,… per field; the least recently seen are evicted beyond it (kept with the encoders for later days)', positiveIntPerField)
    .option('--evict-after <days>', 'evict ids unseen for this many days (kept with the encoders for later days)', positiveInt)
    .action(async (opts: EncodeFlags) => {
      const input = userPath(opts.in);
      const out = userPath(opts.out);
      const chosen = (['config', 'encoders', 'warmStart'] as const).filter((k) => opts[k] !== undefined);
      if (chosen.length > 1) throw new Error('give one of --config (to fit new encoders), --encoders (to reuse fitted ones) or --warm-start (to extend a model\'s), not more');
      const growing = { ...(opts.day !== undefined ? { day: opts.day } : {}), ...(opts.maxIds !== undefined ? { maxIds: opts.maxIds } : {}), ...(opts.evictAfter !== undefined ? { evictAfterDays: opts.evictAfter } : {}) };
      if (opts.encoders && Object.keys(growing).length > 0) throw new Error('--day, --max-ids and --evict-after grow encoders: not with --encoders, which reuses them as they are');
      const badRows = { onBadRow: opts.onBadRow, ...(opts.rejectFile ? { rejectFile: userPath(opts.rejectFile) } : {}) };
      const warmStart = opts.warmStart === undefined ? undefined : userPath(opts.warmStart);
      // Before anything is read or written: --out, the reject file, --in, --config, --encoders and --warm-start must not overlap, and --out must be new or a previous encode.
      await checkEncodePaths({
        input,
        out,
        ...badRows,
        ...(opts.config ? { config: userPath(opts.config) } : {}),
        ...(opts.encoders ? { encoders: userPath(opts.encoders) } : {}),
        ...(warmStart ? { warmStart } : {}),
      });
      const progress = new Progress({ label: 'encode' });
      let r;
      let growth: VocabularyGrowth | undefined;
      let day: number | undefined;
      try {
        let encoders: Encoders;
        const onProgress = (stage: string) => (p: { rows: number; totalRows?: number }) => progress.update(p.rows, { stage, ...(p.totalRows !== undefined ? { total: p.totalRows } : {}) });
        if (opts.encoders) {
          encoders = await encodersOf(userPath(opts.encoders));
        } else if (warmStart) {
          const base = await warmStartEncoders(warmStart);
          day = opts.day ?? (base.state.day === undefined ? 0 : base.state.day + 1);
          ({ encoders, growth } = await extendEncoders(base, input, { ...badRows, ...growing, day, onProgress: onProgress('extending encoders') }));
        } else {
          const config: DataConfigInput | undefined = opts.config ? await loadDataConfig(userPath(opts.config)) : undefined;
          encoders = await fitEncoders(input, config, { ...badRows, ...growing, onProgress: onProgress('fitting encoders') });
        }
        r = await writeEncodedShards(input, encoders, out, { ...badRows, shards: opts.shards, onProgress: onProgress('encoding') });
      } finally {
        progress.stop();
      }
      const columns = Object.keys(r.manifest.columns).length;
      const [least, most] = [Math.min(...r.shards), Math.max(...r.shards)];
      console.log(`${r.rows} rows of ${input} → ${out}: ${r.shards.length} shard(s) of ${least === most ? least : `${least}–${most}`} rows, ${columns} columns each (manifest.json, encoders.json)`);
      if (growth) {
        console.log(`vocabularies on day ${day}, extended from ${warmStart}:`);
        const w = Math.max(...Object.keys(growth).map((f) => f.length));
        for (const [field, g] of Object.entries(growth)) {
          const evicted = g.evicted === 0 ? '' : ` (${g.evictedIds.join(', ')}${g.evicted > g.evictedIds.length ? ', …' : ''})`;
          console.log(`  ${field.padEnd(w)}  ${g.known} known, ${g.added} added (${g.reused} in freed rows), ${g.evicted} evicted${evicted}; ${g.size} rows`);
        }
      }
      reportSkipped(r);
    });
}

interface EncodeFlags {
  in: string;
  out: string;
  shards: number;
  config?: string;
  encoders?: string;
  onBadRow: OnBadRow;
  rejectFile?: string;
  warmStart?: string;
  day?: number;
  maxIds?: number | Record<string, number>;
  evictAfter?: number;
}

/** The encoders of the model a warm start begins from: a run directory's checkpoint/, or an artifact directory. */
async function warmStartEncoders(path: string): Promise<Encoders> {
  const { dir } = await locateWarmStart(path).catch((err: Error) => Promise.reject(new Error(`--warm-start ${err.message}`)));
  const artifact = await readArtifact(dir);
  if (artifact.encoders === null) throw new Error(`--warm-start ${dir}: the artifact holds no encoders`);
  return encodersForSchema(artifact.encoders, artifact.schema, join(dir, MODEL_FILE));
}
