import { readIfExists } from '@esm2/core/node';
import { join } from 'node:path';
import { CELL_METRICS, type CellFile, type CellInfo } from './options.js';
import { labelsDamage, labelsPath, readLabels, readScores, readUsers, scoresDamage, scoresPath, usersPath } from './scores.js';

/** Where a cell stands on disk: not started (or interrupted), finished, or finished with damaged files (then run again, saying why). */
export type CellState = { state: 'todo' } | { state: 'done'; file: CellFile } | { state: 'damaged'; reason: string };

/** A cell's state: finished means its metrics.json is its own and its saved test predictions are whole (scoresDamage). */
export async function cellState(cell: CellInfo): Promise<CellState> {
  const metricsFile = join(cell.dir, CELL_METRICS);
  const text = await readIfExists(metricsFile, 'utf8');
  if (text === undefined) return { state: 'todo' };
  const damaged = (reason: string): CellState => ({ state: 'damaged', reason });
  let file: CellFile;
  try {
    file = JSON.parse(text) as CellFile;
  } catch {
    return damaged(`${metricsFile} is not JSON`);
  }
  if (file?.cell?.entry !== cell.entry.name || file.cell.seed !== cell.seed || !Number.isInteger(file.rows) || file.rows < 1) {
    return damaged(`${metricsFile} is not the metrics of ${cell.name}`);
  }
  const path = scoresPath(cell.dir);
  let scores: Awaited<ReturnType<typeof readScores>>;
  try {
    scores = await readScores(path, file.rows);
  } catch (e) {
    return damaged((e as Error).message);
  }
  if (scores === undefined) return damaged(`${path} is missing`);
  const problem = scoresDamage(scores, file);
  return problem === undefined ? { state: 'done', file } : damaged(`${path}: ${problem}`);
}

/** Why the comparison's saved test labels or users (written by every cell) are missing or damaged, or undefined. */
export async function sharedScoresDamage(out: string, file: CellFile): Promise<string | undefined> {
  try {
    const labels = await readLabels(labelsPath(out), file.rows);
    if (labels === undefined) return `${labelsPath(out)} is missing`;
    const problem = labelsDamage(labels);
    if (problem !== undefined) return `${labelsPath(out)}: ${problem}`;
    // GAUCs need the users: a cell with one wrote them.
    const users = await readUsers(usersPath(out), file.rows);
    if (users === undefined && (file.cvr_gauc !== undefined || file.ctcvr_gauc !== undefined)) return `${usersPath(out)} is missing`;
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/**
 * Where every cell stands: finished cells are skipped; a finished cell whose
 * files were damaged or deleted since runs again. With every cell finished,
 * the test labels and users every cell writes must be whole, else the first
 * cell runs again to write them.
 */
export async function cellStates(cells: CellInfo[], out: string): Promise<Map<CellInfo, CellState>> {
  const states = new Map<CellInfo, CellState>();
  for (const cell of cells) states.set(cell, await cellState(cell));
  const finished = cells.filter((c) => states.get(c)!.state === 'done');
  if (finished.length === cells.length) {
    const first = finished[0]!;
    const problem = await sharedScoresDamage(out, (states.get(first) as { file: CellFile }).file);
    if (problem !== undefined) states.set(first, { state: 'damaged', reason: problem });
  }
  return states;
}
