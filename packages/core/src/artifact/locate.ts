import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_FILE } from './format.js';

/** Where a training run keeps the artifact of its best epoch: `runs/NAME/best`. */
export const BEST_ARTIFACT_DIR = 'best';

const isFile = async (p: string) => (await stat(p).catch(() => undefined))?.isFile() ?? false;

/**
 * The artifact directory a user means by `--model`: a training run
 * directory (its best/ artifact) or an artifact directory itself. Throws
 * naming the path when it is neither.
 */
export async function locateArtifact(path: string): Promise<string> {
  const best = join(path, BEST_ARTIFACT_DIR);
  if (await isFile(join(best, MODEL_FILE))) return best;
  if (await isFile(join(path, MODEL_FILE))) return path;
  if (!(await stat(path).catch(() => undefined))) throw new Error(`${path}: no such directory`);
  throw new Error(`${path}: neither a run directory (with ${BEST_ARTIFACT_DIR}/${MODEL_FILE}) nor a model artifact (with ${MODEL_FILE})`);
}

/** Where a training run keeps its last finished epoch (weights, optimizer state, loop position): `runs/NAME/checkpoint`. */
export const CHECKPOINT_DIR = 'checkpoint';

/**
 * The artifact a warm start (`--warm-start RUN`) begins from: a training
 * run directory's checkpoint/ (its last epoch, with optimizer state), or an
 * artifact directory itself (e.g. a run's best/). Throws naming the path
 * when it is neither.
 */
export async function locateWarmStart(path: string): Promise<{ dir: string; kind: 'checkpoint' | 'artifact' }> {
  const checkpoint = join(path, CHECKPOINT_DIR);
  if (await isFile(join(checkpoint, MODEL_FILE))) return { dir: checkpoint, kind: 'checkpoint' };
  if (await isFile(join(path, MODEL_FILE))) return { dir: path, kind: 'artifact' };
  if (!(await stat(path).catch(() => undefined))) throw new Error(`${path}: no such directory`);
  throw new Error(`${path}: neither a run directory (with ${CHECKPOINT_DIR}/${MODEL_FILE}) nor a model artifact (with ${MODEL_FILE})`);
}
