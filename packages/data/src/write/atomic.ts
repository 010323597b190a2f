import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** A temporary name next to `path` (same file system, so the final rename is atomic). */
export function tempPathFor(path: string, suffix = ''): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${++counter}${suffix}`);
}

/**
 * Produces `path` all at once or not at all: `fn` writes a temporary file
 * which is renamed into place only when `fn` succeeds, so a failed or
 * interrupted import never leaves a half-written output behind.
 */
export async function withAtomicOutput<T>(path: string, fn: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = tempPathFor(path);
  try {
    const result = await fn(tmp);
    await rename(tmp, path);
    return result;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await withAtomicOutput(path, (tmp) => writeFile(tmp, data));
}
