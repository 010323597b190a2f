import { type ScoreCollector } from '@esm2/core';
import { readIfExists, writeFileAtomic } from '@esm2/core/node';
import { join } from 'node:path';

/**
 * What a compare keeps of every cell's test pass, for the paired tests on
 * test rows (DeLong for AUC, the user bootstrap for GAUC) and the report's
 * ROC and calibration curves, all little-endian, rows in the test file's
 * order:
 * - `test-scores.f32` in the cell directory: pCTR, pCVR, pCTCVR for every
 *   test row, one column after the other (NaN where the model has no such
 *   prediction). Cells written before pCTR was kept have pCVR, pCTCVR only.
 * - `test-labels.f32` in the comparison directory: click, buy.
 * - `test-users.u32` beside it: each row's user as a dense code (equal codes,
 *   equal users; ScoreCollector's first-seen order, so every cell writes the
 *   same file).
 * Labels and users are written once per comparison: they depend on neither
 * the model nor the DAction choice.
 */
export const SCORES_FILE = 'test-scores.f32';
export const LABELS_FILE = 'test-labels.f32';
export const USERS_FILE = 'test-users.u32';

export interface SavedScores {
  pctr: Float32Array;
  pcvr: Float32Array;
  pctcvr: Float32Array;
}

export interface SavedLabels {
  click: Float32Array;
  buy: Float32Array;
}

export const scoresPath = (cellDir: string) => join(cellDir, SCORES_FILE);
export const labelsPath = (compareDir: string) => join(compareDir, LABELS_FILE);
export const usersPath = (compareDir: string) => join(compareDir, USERS_FILE);

const SCORE_COLUMNS = ['pctr', 'pcvr', 'pctcvr'] as const;

/** One float32 column after another, as the bytes of a file. */
function columnBytes(columns: readonly ArrayLike<number>[], rows: number): Uint8Array {
  const all = new Float32Array(columns.length * rows);
  columns.forEach((c, k) => all.set(c, k * rows));
  return new Uint8Array(all.buffer);
}

/**
 * Writes what a compare keeps of one cell's test pass (atomically): the
 * cell's predictions to `cellDir`, the test labels and users to `compareDir`.
 */
export async function saveTestPass(collector: ScoreCollector, cellDir: string, compareDir: string): Promise<void> {
  const rows = collector.length;
  const column = (name: string) => collector.prediction(name) ?? new Float32Array(rows).fill(NaN);
  await writeFileAtomic(scoresPath(cellDir), columnBytes(SCORE_COLUMNS.map(column), rows));
  const { click, buy } = collector.labels();
  await writeFileAtomic(labelsPath(compareDir), columnBytes([click, buy], rows));
  const users = collector.userCodes();
  if (users !== undefined) await writeFileAtomic(usersPath(compareDir), new Uint8Array(users.buffer, users.byteOffset, users.byteLength));
}

/** The float32 columns of `path` (one of `counts` columns long each), or undefined when it is absent; a wrong size names the file. */
async function readFloatColumns(path: string, rows: number, counts: readonly number[]): Promise<Float32Array[] | undefined> {
  const bytes = await readIfExists(path);
  if (bytes === undefined) return undefined;
  const count = counts.find((c) => bytes.byteLength === c * rows * 4);
  if (count === undefined) {
    throw new Error(`${path}: ${bytes.byteLength} bytes, expected ${counts.map((c) => `${c} × ${rows}`).join(' or ')} float32 values (the test file has ${rows} rows)`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return Array.from({ length: count }, (_, k) => all.subarray(k * rows, (k + 1) * rows));
}

/** A cell's saved test predictions; pCTR is NaN throughout in cells written before it was kept. */
export async function readScores(path: string, rows: number): Promise<SavedScores | undefined> {
  const c = await readFloatColumns(path, rows, [3, 2]);
  if (c === undefined) return undefined;
  const [pctr, pcvr, pctcvr] = c.length === 3 ? c : [new Float32Array(rows).fill(NaN), ...c];
  return { pctr: pctr!, pcvr: pcvr!, pctcvr: pctcvr! };
}

export async function readLabels(path: string, rows: number): Promise<SavedLabels | undefined> {
  const c = await readFloatColumns(path, rows, [2]);
  return c && { click: c[0]!, buy: c[1]! };
}

/** The test rows' user codes, or undefined when the comparison has none (no user field, or written before they were kept). */
export async function readUsers(path: string, rows: number): Promise<Uint32Array | undefined> {
  const bytes = await readIfExists(path);
  if (bytes === undefined) return undefined;
  if (bytes.byteLength !== rows * 4) throw new Error(`${path}: ${bytes.byteLength} bytes, expected ${rows} uint32 user codes (the test file has ${rows} rows)`);
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** A prediction column as a curve or test takes it: undefined when the model has no such prediction (NaN in the file). */
export const savedColumn = (x: Float32Array): Float32Array | undefined => (x.length === 0 || Number.isNaN(x[0]) ? undefined : x);

/**
 * Why a cell's saved predictions cannot be what the cell wrote, or undefined
 * when they can: each column is either absent (NaN throughout: the model has
 * no such prediction) or a probability on every row, and the columns behind
 * the cell's CVR and CTCVR AUCs are there.
 */
export function scoresDamage(scores: SavedScores, metrics: { cvr_auc?: unknown; ctcvr_auc?: unknown }): string | undefined {
  for (const key of SCORE_COLUMNS) {
    const x = scores[key];
    if (Number.isNaN(x[0]) && x.every(Number.isNaN)) continue;
    const bad = x.findIndex((v) => !(v >= 0 && v <= 1));
    if (bad >= 0) return `${key} of test row ${bad + 1} is ${x[bad]}, not a probability`;
  }
  for (const [key, metric] of [['pcvr', 'cvr_auc'], ['pctcvr', 'ctcvr_auc']] as const) {
    if (metrics[metric] !== undefined && savedColumn(scores[key]) === undefined) return `no ${key} column, yet the cell's metrics.json has a ${metric}`;
  }
  return undefined;
}

/** Why saved test labels cannot be what a cell wrote (clicks and purchases are 0 or 1, a purchase only after a click), or undefined. */
export function labelsDamage({ click, buy }: SavedLabels): string | undefined {
  const bad = click.findIndex((c, i) => !(c === 0 || c === 1) || !(buy[i] === 0 || buy[i] === 1) || buy[i] > c);
  return bad < 0 ? undefined : `test row ${bad + 1} has click ${click[bad]}, buy ${buy[bad]}`;
}
