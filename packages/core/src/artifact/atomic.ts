import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Replacing a directory so that a crash never leaves a half-written one at
 * its path. Everything is written into a sibling temp directory (same
 * parent, so renames are atomic), fsynced, then swapped in:
 *
 *   1. mkdir .NAME.tmp-<pid>-<rand>, fill it, fsync files and the dir
 *   2. rename NAME → .NAME.old-<pid>-<rand>   (only if NAME exists)
 *   3. rename .NAME.tmp-… → NAME, fsync the parent
 *   4. rm -r .NAME.old-…
 *
 * Node has no atomic exchange of two directories (renameat2 RENAME_EXCHANGE),
 * so between steps 2 and 3 NAME is briefly absent. A crash exactly there
 * leaves the complete old directory at .NAME.old-…; `interruptedSwapDir`
 * finds it, and readers fall back to it, so the promise "old or new, never
 * half" holds for readers. One writer per directory at a time.
 */

const tmpPrefix = (name: string) => `.${name}.tmp-`;
const oldPrefix = (name: string) => `.${name}.old-`;
const uniqueSuffix = () => `${process.pid}-${randomBytes(4).toString('hex')}`;

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Writes a file and flushes it to disk before returning; fails if the file exists. */
export async function writeFileDurable(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
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

/** Leftovers of this module next to `dir` (temp and set-aside directories), full paths. */
export async function leftoverDirs(dir: string): Promise<{ tmp: string[]; old: string[] }> {
  const target = resolve(dir);
  const name = basename(target);
  let entries: string[];
  try {
    entries = await readdir(dirname(target));
  } catch (e) {
    if (code(e) === 'ENOENT') return { tmp: [], old: [] };
    throw e;
  }
  const pick = (prefix: string) => entries.filter((e) => e.startsWith(prefix)).map((e) => join(dirname(target), e));
  return { tmp: pick(tmpPrefix(name)), old: pick(oldPrefix(name)) };
}

/**
 * When `dir` is missing because a swap was interrupted between its two
 * renames, the complete previous directory that was set aside; else undefined.
 */
export async function interruptedSwapDir(dir: string): Promise<string | undefined> {
  const { old } = await leftoverDirs(dir);
  // Normally at most one (a successful swap removes them all); else the most recently renamed.
  const dated = await Promise.all(old.map(async (path) => ({ path, ctime: (await lstat(path)).ctimeMs })));
  return dated.sort((a, b) => a.ctime - b.ctime).at(-1)?.path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (code(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Replaces (or creates) directory `dir` with what `fill` writes into a fresh directory. */
export async function replaceDirAtomically(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  const name = basename(target);
  if (target === parent) throw new Error(`cannot replace the root directory`);
  await mkdir(parent, { recursive: true });

  const tmp = join(parent, tmpPrefix(name) + uniqueSuffix());
  await mkdir(tmp);
  try {
    await fill(tmp);
    await fsyncDir(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }

  const setAside = (await exists(target)) ? join(parent, oldPrefix(name) + uniqueSuffix()) : undefined;
  try {
    if (setAside) await rename(target, setAside);
    try {
      await rename(tmp, target);
    } catch (e) {
      if (setAside) await rename(setAside, target); // put the old one back before reporting
      throw e;
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await fsyncDir(parent);
  // The new directory is in place: anything set aside, by us or by an interrupted earlier swap, is superseded.
  const { old } = await leftoverDirs(target);
  await Promise.all(old.map((o) => rm(o, { recursive: true, force: true })));
}
