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
