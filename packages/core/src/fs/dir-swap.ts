import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { code, fsyncDir, lstatIfExists } from './primitives.js';
import { oldPrefix, tempSibling, tmpPrefix, uniqueSuffix } from './temp-name.js';
import { trackTemp } from './temp-registry.js';
import { asWriteError, WriteError } from './write-error.js';

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

/** Writes a new file and flushes it to disk before returning; fails if the file exists. For files inside a directory being filled for `replaceDirAtomically`. */
export async function writeFileDurable(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Leftovers of a directory swap next to `dir` (temp and set-aside directories), full paths. */
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

/** Replaces (or creates) directory `dir` with what `fill` writes into a fresh directory. */
export async function replaceDirAtomically(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  const name = basename(target);
  if (target === parent) throw new Error(`cannot replace the root directory`);
  const tmp = tempSibling(target);
  const untrack = trackTemp(tmp);
  try {
    try {
      await mkdir(parent, { recursive: true });
      await mkdir(tmp);
      await fill(tmp);
      await fsyncDir(tmp);
    } catch (e) {
      throw asWriteError(e, dir, [tmp]);
    }
    const existing = await lstatIfExists(target);
    if (existing && !existing.isDirectory()) throw new WriteError(dir, 'it exists and is not a directory', { code: 'ENOTDIR' });
    const setAside = existing ? join(parent, oldPrefix(name) + uniqueSuffix()) : undefined;
    try {
      if (setAside) await rename(target, setAside);
      try {
        await rename(tmp, target);
      } catch (e) {
        if (setAside) await rename(setAside, target); // put the old one back before reporting
        throw e;
      }
    } catch (e) {
      throw asWriteError(e, dir, [tmp]);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    untrack();
    throw e;
  }
  untrack();
  await fsyncDir(parent);
  // The new directory is in place: anything set aside, by us or by an interrupted earlier swap, is superseded.
  const { old } = await leftoverDirs(target);
  await Promise.all(old.map((o) => rm(o, { recursive: true, force: true })));
}
