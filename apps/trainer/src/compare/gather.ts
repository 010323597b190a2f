import type { Esm2Metrics } from '@esm2/core';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readHistory } from '../train/history.js';
import { runPaths } from '../train/run-dir.js';
import type { GatheredComparison, GatheredModel } from './gathered.js';
import { CELL_METRICS, exists, type CellFile } from './options.js';
import { labelsPath, readLabels, readScores, readUsers, scoresPath, usersPath } from './scores.js';
import type { TestScores } from './summary.js';

/** Metrics of a cell file without the cell's bookkeeping. */
function metricsOf(file: CellFile): Esm2Metrics {
  const { cell: _cell, data: _data, engine: _engine, model: _model, ...metrics } = file as CellFile & { model?: unknown };
  return metrics;
}

/** The saved test predictions, labels and users (the paired tests on test rows); undefined where never written. */
export function testScores(out: string, models: Record<string, GatheredModel>): TestScores {
  return {
    labels: (rows) => readLabels(labelsPath(out), rows),
    users: (rows) => readUsers(usersPath(out), rows),
    async scores(name, seed, rows) {
      const run = models[name]?.runs.find((r) => r.seed === seed);
      return run && readScores(scoresPath(run.dir), rows);
    },
  };
}

/**
 * The seam for reports: reads every finished cell under `<dir>/runs` as
 * plain data, grouped by model or variant name (in `order` when given),
 * each run with its test metrics, settings, (deep models) per-epoch
 * history and the file of its test predictions; `labels` is the file of
 * the test labels (click, buy: `readLabels(labels, rows)`). Unfinished
 * cells (no metrics.json) are left out.
 */
export async function gatherComparison(dir: string, order?: string[]): Promise<GatheredComparison> {
  const runsDir = join(resolve(dir), 'runs');
  const names = (await readdir(runsDir).catch(() => [] as string[])).sort();
  const models: Record<string, GatheredModel> = {};
  for (const n of order ?? []) models[n] = { model: n, runs: [] };
  for (const name of names) {
    const cellDir = join(runsDir, name);
    const path = join(cellDir, CELL_METRICS);
    if (!(await exists(path))) continue;
    let file: CellFile;
    try {
      file = JSON.parse(await readFile(path, 'utf8')) as CellFile;
    } catch (e) {
      throw new Error(`${path}: not JSON (${(e as Error).message})`, { cause: e });
    }
    if (typeof file.cell?.entry !== 'string' || typeof file.cell.seed !== 'number') throw new Error(`${path}: not a compare cell's metrics (no cell.entry / cell.seed)`);
    if (order && !order.includes(file.cell.entry)) continue;
    const history = await readHistory(runPaths(cellDir).history);
    const m = (models[file.cell.entry] ??= { model: file.cell.model, runs: [] });
    m.model = file.cell.model;
    const scores = (await exists(scoresPath(cellDir))) ? scoresPath(cellDir) : undefined;
    m.runs.push({ seed: file.cell.seed, dir: cellDir, metrics: metricsOf(file), settings: file.cell.settings, ...(history ? { history } : {}), ...(scores ? { scores } : {}) });
  }
  for (const m of Object.values(models)) m.runs.sort((a, b) => a.seed - b.seed);
  const labels = labelsPath(resolve(dir));
  return {
    models: Object.fromEntries(Object.entries(models).filter(([, m]) => m.runs.length > 0)),
    ...((await exists(labels)) ? { labels } : {}),
  };
}