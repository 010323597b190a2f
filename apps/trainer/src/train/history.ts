import { zodProblems } from '@esm2/core';
import { readIfExists } from '@esm2/core/node';
import { z } from 'zod';
import type { EpochRecord } from './settings.js';

/**
 * history.json as read back: the fields every version of `fit` has written
 * (epoch, train_loss, train_losses, seconds, samples_per_s) are checked;
 * the validation metrics (metrics.json's keys, null where undefined) and any
 * field a later version adds pass through untouched, so older and newer
 * files both load.
 */
const epochRecordSchema = z.looseObject({
  epoch: z.number().int().positive(),
  train_loss: z.number(),
  train_losses: z.record(z.string(), z.number()),
  seconds: z.number().nonnegative(),
  samples_per_s: z.number().nonnegative(),
});
const historySchema = z.array(epochRecordSchema);

/**
 * A run's history.json, or undefined when the file is absent (a bare
 * artifact, or a run that has not finished an epoch). A file that is not
 * JSON or not a history is refused with its path and what is wrong.
 */
export async function readHistory(path: string): Promise<EpochRecord[] | undefined> {
  const text = await readIfExists(path, 'utf8').catch((e: unknown) => {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  });
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = historySchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a training history (one record per epoch): ${zodProblems(parsed.error).join('; ')}`);
  return parsed.data;
}
