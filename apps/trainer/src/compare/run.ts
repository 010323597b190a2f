import { namedPath, refuseSamePaths, writeFileAtomic, writeJsonAtomic } from '@esm2/core/node';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadFitConfig } from '../train/fit-config.js';
import { sameDataWarnings } from '../train/same-data.js';
import { checkCells, gbdtEncoders, runCell, type CompareRun } from './cells.js';
import { gatherComparison, testScores } from './gather.js';
import { COMPARE_SETTINGS, COMPARISON_JSON, COMPARISON_MD, exists, type CompareOptions } from './options.js';
import { writeComparisonReport } from './report.js';
import { cellStates } from './resume.js';
import { planCells, runCells } from './schedule.js';
import { recordSettings } from './settings.js';
import { checkSeeds } from './spec.js';
import { buildComparison, formatComparisonMarkdown, type Comparison } from './summary.js';

// The parts of a comparison, each in its file: options.ts (what it takes, its cells and files), settings.ts
// (compare-settings.json, what a resume must repeat), resume.ts (where each cell stands), schedule.ts (the grid
// and the order cells run in), cells.ts (checking and running a cell), gather.ts (reading finished cells back).
export { CELL_METRICS, COMPARE_SETTINGS, COMPARISON_JSON, COMPARISON_MD, type CellFile, type CellInfo, type CompareOptions, type CompareSetting, type StageProgress } from './options.js';
export { SETTINGS_FILE } from './settings.js';
export { gatherComparison } from './gather.js';

async function mustExist(path: string, flag: string): Promise<void> {
  if (!(await exists(path))) throw new Error(`${flag} ${path}: no such file`);
}

/**
 * Runs the grid of models × seeds: each cell an ordinary run directory
 * `<out>/runs/<name>-seed<k>` (deep models trained by `fit()`, GBDT by
 * trainGbdt into its `gbdt/`), scored on the test file by the same metric
 * code as `eval`, its test metrics in the cell's metrics.json (a finished
 * cell = metrics.json present). Then comparison.json, comparison.md and
 * report.html (writeComparisonReport).
 */
export async function runCompare(options: CompareOptions): Promise<Comparison> {
  const out = resolve(options.out);
  const runsDir = join(out, 'runs');
  const train = resolve(options.train);
  const test = resolve(options.test);
  const valid = options.valid === undefined ? undefined : resolve(options.valid);
  await mustExist(train, '--train');
  await mustExist(test, '--test');
  if (valid) await mustExist(valid, '--valid');
  // Before anything is written: the comparison directory (whose cells' run directories fit replaces) must not
  // be, hold or lie inside a file it reads, by any spelling (fit's own --out check, one level up).
  const configPath = typeof options.config === 'string' ? resolve(options.config) : undefined;
  await refuseSamePaths([namedPath('--train', train), namedPath('--valid', valid), namedPath('--test', test), namedPath('--config', configPath)], [{ flag: '--out', path: out }]);
  checkSeeds(options.seeds, '--seeds');
  if (options.entries.length === 0) throw new Error('--models: no model');
  const existing = await readdir(runsDir).catch(() => [] as string[]);
  if (existing.length > 0 && !options.resume) {
    throw new Error(`${out} already holds a comparison (${runsDir} has ${existing.length} run(s)); pass --resume to continue it, or choose another --out`);
  }
  const config = typeof options.config === 'string' ? await loadFitConfig(resolve(options.config)) : (options.config ?? {});
  const log = options.log ?? (() => {});
  for (const w of await sameDataWarnings([{ flag: '--train', path: train }, namedPath('--valid', valid), { flag: '--test', path: test }])) log(w);
  await recordSettings(out, { train, valid: valid ?? null, test, config, ...Object.fromEntries(COMPARE_SETTINGS.map((k) => [k, options[k] ?? null])) }, options.entries, options.seeds, options.resume ?? false);

  const cells = planCells(options.entries, options.seeds, runsDir);
  // Every cell's settings are checked before the first one trains.
  await checkCells(options, config, train, valid);
  const states = await cellStates(cells, out);
  const run: CompareRun = { options, out, train, valid, test, config, log };
  const encodersForGbdt = gbdtEncoders(run);
  await runCells(cells, options.parallel ?? 1, (cell) => runCell(run, cell, states.get(cell)!, encodersForGbdt));

  const gathered = await gatherComparison(out, options.entries.map((e) => e.name));
  const comparison = await buildComparison(
    Object.fromEntries(Object.entries(gathered.models).map(([name, m]) => [name, m.runs.map((r) => ({ seed: r.seed, metrics: r.metrics }))])),
    'esm2',
    testScores(out, gathered.models),
    options.gaucResamples !== undefined ? { gaucResamples: options.gaucResamples } : {},
  );
  await writeJsonAtomic(join(out, COMPARISON_JSON), comparison);
  await writeFileAtomic(join(out, COMPARISON_MD), formatComparisonMarkdown(comparison));
  const report = await writeComparisonReport(out, comparison, gathered, { source: test });
  log(`report written to ${report.path} (${report.charts.length} charts)`);
  return comparison;
}
