import { refuseSamePaths } from '@esm2/core/node';
import { rejectFileFor, type BadRowOptions } from '../bad-rows.js';

/**
 * Refuses, before anything is read or written, an import whose output (or
 * reject file, when rows are skipped) is one of its inputs or each other.
 */
export async function refuseImportPaths(input: string, output: string, options: BadRowOptions & { common?: string }): Promise<void> {
  await refuseSamePaths(
    [{ flag: '--in', path: input }, options.common ? { flag: '--common', path: options.common } : undefined],
    [{ flag: '--out', path: output }, options.onBadRow === 'skip' ? { flag: '--reject-file', path: rejectFileFor(input, options) } : undefined],
  );
}
