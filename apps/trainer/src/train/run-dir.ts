import { join } from 'node:path';

/**
 * What a run directory (`--out runs/NAME`) holds:
 *   best/          the artifact of the best epoch (by the early-stopping metric)
 *   checkpoint/    the last finished epoch: weights, optimizer state, loop position
 *   history.json   per-epoch training loss and validation metrics
 *   metrics.json   written by `eval`
 */
export const runPaths = (dir: string) => ({
  dir,
  best: join(dir, 'best'),
  checkpoint: join(dir, 'checkpoint'),
  history: join(dir, 'history.json'),
  metrics: join(dir, 'metrics.json'),
});

export type RunPaths = ReturnType<typeof runPaths>;
