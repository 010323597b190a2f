import { lstat, open } from 'node:fs/promises';

/** Small file-system steps the atomic file writes (atomic.ts) and the directory swaps (dir-swap.ts) share. */

/** A system error's code (ENOENT, EISDIR, …), if it has one. */
export function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Flushes a file's content to disk. */
export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a directory's entries (new names, renames). Not supported everywhere (Windows): best effort there. */
export async function fsyncDir(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (e) {
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EACCES'].includes(code(e) ?? '')) throw e;
  } finally {
    await handle?.close();
  }
}

/** The entry at `path` (not following a final symlink), or undefined when there is none. */
export async function lstatIfExists(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if (code(e) === 'ENOENT') return undefined;
    throw e;
  }
}
