import { delongTest } from '@esm2/core';
import { namedPath, refuseSamePaths, writeFileAtomic, writeJsonAtomic } from '@esm2/core/node';
import { dayCounts, openTable, writeDays, type DayRows } from '@esm2/data';
import { access, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fit, type FitOptions } from '../api.js';
import { DEFAULT_BACKEND } from '../train/engines.js';
import { loadFitConfig, resolveFitSettings } from '../train/fit-config.js';
import { runPaths } from '../train/run-dir.js';
import { flagOf, omit, pickDefined } from '../train/settings.js';
import { labelsPath, readLabels, readScores, saveTestPass, scoresPath } from '../compare/scores.js';
import { evaluateOnDay } from './evaluate.js';
import {
  DEFAULT_WINDOW,
  REPLAY_HTML,
  REPLAY_JSON,
  REPLAY_MODES,
  REPLAY_SETTINGS,
  REPLAY_SETTINGS_FILE,
  RUN_RESULT,
  type DayDifference,
  type DayResult,
  type ModeResult,
  type ReplayFile,
  type ReplayMode,
  type ReplayOptions,
} from './options.js';
import { renderReplay } from './report.js';
import { summarise } from './summary.js';

const exists = (p: string) => access(p).then(() => true, () => false);

/** The days a replay trains on and evaluates, checked against the data's days. */
export interface DayPlan {
  /** The days before fromDay: the bootstrap's training data. */
  bootstrap: [number, number];
  fromDay: number;
  toDay: number;
  window: number;
}

/**
 * Checks --from-day, --to-day and --window against the days the data holds:
 * there must be a day before fromDay (the bootstrap's), every day from
 * fromDay to toDay + 1 (each day's model is evaluated on the next), and no
 * gap. Every refusal names the file and the column.
 */
export function planDays(days: readonly DayRows[], options: { fromDay: number; toDay?: number; window: number; file: string; by: string }): DayPlan {
  const { fromDay, file, by, window } = options;
  const where = `${file}, column '${by}'`;
  if (days.length === 0) throw new Error(`${where}: the file has no rows`);
  const first = days[0]!.day;
  const last = days.at(-1)!.day;
  const range = `days ${first}…${last}`;
  if (!Number.isInteger(window) || window < 1) throw new Error(`--window ${window}: expected a positive whole number of days`);
  if (fromDay <= first) throw new Error(`--from-day ${fromDay}: ${where} holds ${range}; the days before --from-day train the first model, so it must be at least ${first + 1}`);
  if (fromDay >= last) throw new Error(`--from-day ${fromDay}: ${where} holds ${range}; each day's model is evaluated on the next day, so --from-day must be at most ${last - 1}`);
  const toDay = options.toDay ?? last - 1;
  if (toDay < fromDay || toDay >= last) throw new Error(`--to-day ${toDay}: ${where} holds ${range}; --to-day must lie in ${fromDay}…${last - 1} (from --from-day to the day before the last, which evaluates it)`);
  const present = new Set(days.map((d) => d.day));
  for (let d = first; d <= toDay + 1; d++) if (!present.has(d)) throw new Error(`${where}: day ${d} has no rows (the replay needs every day from ${first} to ${toDay + 1})`);
  return { bootstrap: [first, fromDay - 1], fromDay, toDay, window };
}

/** The modes as given: at least one, each known, none twice. */
export function parseModes(list: string): ReplayMode[] {
  const modes = list.split(',').map((m) => m.trim()).filter((m) => m !== '');
  if (modes.length === 0) throw new Error(`expected one or more of ${REPLAY_MODES.join(', ')}`);
  for (const m of modes) if (!(REPLAY_MODES as readonly string[]).includes(m)) throw new Error(`unknown mode '${m}' (choose from ${REPLAY_MODES.join(', ')})`);
  const twice = modes.find((m, i) => modes.indexOf(m) !== i);
  if (twice !== undefined) throw new Error(`mode '${twice}' is named twice`);
  return modes as ReplayMode[];
}

/**
 * Replays the data day by day: a bootstrap model trained on the days
 * before fromDay, then for each day d from fromDay to toDay each mode's
 * model for day d (incremental: day d−1's run warm-started on day d;
 * retrain: a new run on days d−window+1…d; frozen: the bootstrap, never
 * trained again), every one evaluated on day d+1 by the metric code of
 * `eval`, with the share of that day's impressions whose item and user
 * ids the model's vocabularies know. Writes the day slices (days/), the
 * runs (runs/bootstrap, runs/<mode>/day-<d>/), replay.json and report.html.
 * Everything is checked before anything is written; each finished run
 * keeps its evaluation beside it, so `resume` continues an interrupted
 * replay, and replay.json and report.html appear only at the end, whole.
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayFile> {
  const log = options.log ?? (() => {});
  const data = resolve(options.data);
  const out = resolve(options.out);
  const { by } = options;
  const window = options.window ?? DEFAULT_WINDOW;
  const modes = options.modes;
  if (modes.length === 0) throw new Error(`--modes: expected one or more of ${REPLAY_MODES.join(', ')}`);
  parseModes(modes.join(','));
  if (!(await exists(data))) throw new Error(`--data ${data}: no such file`);
  const configPath = typeof options.config === 'string' ? resolve(options.config) : undefined;
  await refuseSamePaths([{ flag: '--data', path: data }, namedPath('--config', configPath)], [{ flag: '--out', path: out }]);
  const days = await dayCounts(data, by);
  const plan = planDays(days, { fromDay: options.fromDay, ...(options.toDay !== undefined ? { toDay: options.toDay } : {}), window, file: data, by });
  // Every run's settings as fit resolves them (a bad model name, size or backend fails now, not after the bootstrap).
  const config = configPath !== undefined ? await loadFitConfig(configPath) : (typeof options.config === 'object' ? options.config : {});
  const settings = pickDefined(options, REPLAY_SETTINGS);
  resolveFitSettings({ ...settings, data }, config, { backend: DEFAULT_BACKEND });
  const table = await openTable(data);
  for (const [flag, column] of [['--item-field', options.itemField], ['--user-field', options.userField]] as const) {
    if (column !== undefined && !table.columns.some((c) => c.name === column)) throw new Error(`${flag} ${column}: ${data} has no such column (it has ${table.columns.map((c) => c.name).join(', ')})`);
  }
  const existing = await readdir(out).catch(() => [] as string[]);
  if (existing.length > 0 && !options.resume) throw new Error(`--out ${out} is not empty (it holds ${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); pass --resume to continue a replay there, or choose another --out`);

  // What defines the runs: a resume must repeat it. The modes and --to-day may change: a run does not depend on
  // them (a mode added later is run then; an earlier --to-day gives replay.json and the report of the days so far).
  const defining = {
    data,
    by,
    fromDay: plan.fromDay,
    window: plan.window,
    ...omit(settings, ['workers', 'threads', 'backend']),
    ...(configPath !== undefined ? { config: configPath } : typeof options.config === 'object' ? { config: options.config } : {}),
    ...pickDefined(options, ['maxIds', 'evictAfterDays']),
  };
  await checkResumeSettings(join(out, REPLAY_SETTINGS_FILE), defining, options.resume ?? false);

  // Each day's slice, written once (atomically, so a slice present is whole): every run and evaluation reads them.
  const ext = extname(data).toLowerCase() === '.parquet' || table.kind.format === 'parquet' ? '.parquet' : '.csv';
  const daysDir = join(out, 'days');
  await mkdir(daysDir, { recursive: true });
  const rowsOf = new Map(days.map((d) => [d.day, d.rows]));
  const sliceOf = (d: number) => join(daysDir, `day-${d}${ext}`);
  for (let d = plan.bootstrap[0]; d <= plan.toDay + 1; d++) {
    if (await exists(sliceOf(d))) continue;
    await writeDays(data, by, { from: d, to: d }, sliceOf(d));
  }
  log(`day slices in ${daysDir}: days ${plan.bootstrap[0]}…${plan.toDay + 1}`);
  /** The training file of days a…b: the day's slice, or a window file (removed once its run is trained). */
  const trainingFile = async (a: number, b: number): Promise<{ file: string; temporary: boolean }> => {
    if (a === b) return { file: sliceOf(a), temporary: false };
    const file = join(daysDir, `days-${a}-${b}${ext}`);
    await writeDays(data, by, { from: a, to: b }, file);
    return { file, temporary: true };
  };
  const rowsIn = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => rowsOf.get(a + i) ?? 0).reduce((s, n) => s + n, 0);
  const rel = (p: string) => relative(out, p);

  const newRun = { ...settings, config };
  const train = async (tag: string, dir: string, fitOptions: Omit<FitOptions, 'out'>): Promise<number> => {
    // A run without its result is unfinished (an interrupted replay): it starts again.
    await rm(dir, { recursive: true, force: true });
    log(`${tag}: training`);
    const start = performance.now();
    await fit({ ...fitOptions, out: dir, ...(options.reporter ? { reporter: options.reporter(tag) } : {}) });
    return (performance.now() - start) / 1000;
  };
  const finished = async <T>(dir: string): Promise<T | undefined> => {
    const text = await readFile(join(dir, RUN_RESULT), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  };

  // The bootstrap: frozen's model for every day, and incremental's start.
  const bootstrapDir = join(out, 'runs', 'bootstrap');
  type Bootstrap = ReplayFile['bootstrap'];
  let bootstrap = options.resume ? await finished<Bootstrap>(bootstrapDir) : undefined;
  if (bootstrap === undefined) {
    const [a, b] = plan.bootstrap;
    const t = await trainingFile(a, b);
    // Its encoders record the day (ids last seen on day b), from which incremental runs grow and evict them.
    const grow = modes.includes('incremental') ? { day: b, ...pickDefined(options, ['maxIds', 'evictAfterDays']) } : {};
    const seconds = await train(`bootstrap (days ${a}…${b})`, bootstrapDir, { ...newRun, ...grow, train: t.file });
    if (t.temporary) await rm(t.file, { force: true });
    bootstrap = { run: rel(bootstrapDir), trainDays: [a, b], trainRows: rowsIn(a, b), trainSeconds: seconds };
    await writeJsonAtomic(join(bootstrapDir, RUN_RESULT), bootstrap);
  } else log(`bootstrap: finished earlier, kept`);

  const fields = { itemField: options.itemField, userField: options.userField };
  const evaluate = async (tag: string, runDir: string, evalDay: number) => {
    log(`${tag}: evaluating on day ${evalDay}`);
    const start = performance.now();
    const r = await evaluateOnDay(runPaths(runDir).best, sliceOf(evalDay), { ...fields, backend: options.backend ?? DEFAULT_BACKEND, ...(options.threads !== undefined ? { threads: options.threads } : {}) });
    return { ...r, evalSeconds: (performance.now() - start) / 1000 };
  };

  const results: DayResult[] = [];
  let previous = bootstrapDir;
  for (let d = plan.fromDay; d <= plan.toDay; d++) {
    const day: DayResult = { day: d, evalDay: d + 1, evalRows: rowsOf.get(d + 1)!, modes: {}, differences: [] };
    const evalDir = join(out, 'evals', `day-${d + 1}`);
    await mkdir(evalDir, { recursive: true });
    for (const mode of modes) {
      const dir = join(out, 'runs', mode, `day-${d}`);
      const tag = `${mode} day ${d}`;
      await mkdir(dir, { recursive: true });
      let result = options.resume ? await finished<ModeResult>(dir) : undefined;
      if (result === undefined) {
        let runDir: string;
        let trainDays: [number, number];
        let seconds = 0;
        let parent: string | undefined;
        if (mode === 'frozen') {
          runDir = bootstrapDir;
          trainDays = bootstrap.trainDays;
        } else if (mode === 'retrain') {
          runDir = dir;
          trainDays = [Math.max(plan.bootstrap[0], d - plan.window + 1), d];
          const t = await trainingFile(...trainDays);
          seconds = await train(`${tag} (days ${trainDays[0]}…${trainDays[1]})`, dir, { ...newRun, train: t.file });
          if (t.temporary) await rm(t.file, { force: true });
        } else {
          runDir = dir;
          trainDays = [d, d];
          parent = previous;
          seconds = await train(`${tag} (from ${rel(previous)})`, dir, { ...incrementalSettings(options), warmStart: previous, day: d, train: sliceOf(d) });
        }
        const r = await evaluate(tag, runDir, d + 1);
        // The next day's predictions (and, once per day, its labels), for the paired tests between modes.
        await saveTestPass(r.scores, dir, evalDir);
        result = {
          run: rel(runDir),
          trainDays,
          trainSeconds: seconds,
          trainRows: rowsIn(...trainDays),
          evalSeconds: r.evalSeconds,
          metrics: r.metrics,
          knownIds: r.knownIds,
          vocabulary: r.vocabulary,
          ...(parent !== undefined ? { parent: rel(parent) } : {}),
        };
        await writeJsonAtomic(join(dir, RUN_RESULT), result, { mkdirs: true });
        log(`${tag}: ctr_auc ${fmt(result.metrics.ctr_auc)} cvr_auc ${fmt(result.metrics.cvr_auc)} ctcvr_auc ${fmt(result.metrics.ctcvr_auc)}, known ids ${(100 * result.knownIds.both).toFixed(1)} %, trained in ${seconds.toFixed(1)} s`);
      } else if (!(await exists(scoresPath(dir))) || !(await exists(labelsPath(evalDir)))) {
        // Finished before its predictions were kept: scored again (not trained again) for the paired tests.
        log(`${tag}: finished earlier, kept; scoring it again on day ${d + 1} for the paired tests`);
        await saveTestPass((await evaluate(tag, join(out, result.run), d + 1)).scores, dir, evalDir);
      } else log(`${tag}: finished earlier, kept`);
      day.modes[mode] = result;
      if (mode === 'incremental') previous = dir;
    }
    day.differences = await pairedTests(modes, (m) => scoresPath(join(out, 'runs', m, `day-${d}`)), labelsPath(evalDir), day.evalRows);
    results.push(day);
  }

  const file: ReplayFile = {
    format: 'esm2-replay',
    version: 1,
    data,
    by,
    days,
    fromDay: plan.fromDay,
    toDay: plan.toDay,
    window: plan.window,
    modes,
    settings: { ...settings, ...(configPath !== undefined ? { config: configPath } : {}), ...pickDefined(options, ['maxIds', 'evictAfterDays']) },
    bootstrap,
    results,
    summary: summarise(results, modes),
  };
  // The report is rendered before either file is written, so a failure leaves neither.
  const report = await renderReplay(file);
  await writeJsonAtomic(join(out, REPLAY_JSON), file);
  await writeFileAtomic(join(out, REPLAY_HTML), report.html);
  log(`written: ${join(out, REPLAY_JSON)}, ${join(out, REPLAY_HTML)} (${report.charts.length} charts)`);
  return file;
}

const fmt = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(4));

/**
 * An incremental run's settings: a warm start keeps the parent's
 * architecture and data settings, so only what may change is passed
 * (epochs, optimizer, batch, seed, engine), with the vocabulary bounds.
 */
function incrementalSettings(options: ReplayOptions): Omit<FitOptions, 'out'> {
  return {
    ...pickDefined(options, ['epochs', 'batchSize', 'lr', 'embeddingLr', 'embeddingL2', 'seed', 'shuffleBuffer', 'backend', 'workers', 'threads']),
    ...pickDefined(options, ['maxIds', 'evictAfterDays']),
  };
}

/**
 * replay-settings.json: what defines a replay's runs, written before the
 * first one; a --resume must give the same (else its runs would mix two
 * replays), which is refused naming the first setting that differs.
 */
async function checkResumeSettings(path: string, settings: Record<string, unknown>, resume: boolean): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (resume && text !== undefined) {
    const saved = JSON.parse(text) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(saved), ...Object.keys(settings)])) {
      const [was, now] = [JSON.stringify(saved[key] ?? null), JSON.stringify(settings[key] ?? null)];
      if (was !== now) throw new Error(`--resume: ${dirname(path)} was replayed with ${flagOf(key)} ${was}; ${now === 'null' ? 'not giving it' : `${flagOf(key)} ${now}`} would change its runs. Give the same settings, or choose another --out`);
    }
    return;
  }
  await writeJsonAtomic(path, settings, { mkdirs: true });
}

/**
 * DeLong's paired test of the reference mode (incremental, else retrain)
 * against every other mode on one evaluation day's rows, from the
 * predictions and labels the evaluations saved: CTR AUC on every row
 * (click), CVR on clicked rows and CTCVR on every row (purchase).
 */
async function pairedTests(modes: readonly ReplayMode[], scoresOf: (mode: ReplayMode) => string, labelsFile: string, rows: number): Promise<DayDifference[]> {
  const reference = modes.find((m) => m === 'incremental') ?? modes.find((m) => m === 'retrain');
  if (reference === undefined) return [];
  const labels = await readLabels(labelsFile, rows);
  const ref = await readScores(scoresOf(reference), rows);
  if (labels === undefined || ref === undefined) return [];
  const out: DayDifference[] = [];
  for (const baseline of modes) {
    if (baseline === reference) continue;
    const base = await readScores(scoresOf(baseline), rows);
    if (base === undefined) continue;
    for (const [metric, key, label, mask] of [
      ['ctr_auc', 'pctr', labels.click, undefined],
      ['cvr_auc', 'pcvr', labels.buy, labels.click],
      ['ctcvr_auc', 'pctcvr', labels.buy, undefined],
    ] as const) {
      const r = delongTest(ref[key], base[key], label, mask);
      out.push({ mode: reference, baseline, metric, difference: r.difference, ci95: r.ci95, pValue: r.pValue, positives: r.positives, ...(r.reason !== undefined ? { reason: r.reason } : {}) });
    }
  }
  return out;
}
