import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { isProcessRunning, trackTemp } from './temp-registry.js';
import { asWriteError, WriteError } from './write-error.js';

/**
 * Every write of a user-visible output goes through this module: readers
 * see the old content or the new, never a torn file; a failure (full disk,
 * missing directory, a signal) leaves neither half-written output nor
 * temporary files behind; errors name the path the user gave.
 *
 * A file is written to a hidden sibling `.NAME.tmp-<pid>-<rand>` (same
 * directory, so the rename is atomic), flushed to disk, renamed over NAME,
 * and the directory is flushed so the rename itself survives a crash.
 */

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

const uniqueSuffix = () => `${process.pid}-${randomBytes(4).toString('hex')}`;
const tmpPrefix = (name: string) => `.${name}.tmp-`;
const oldPrefix = (name: string) => `.${name}.old-`;

/** What follows a temp's prefix: `<pid>-<8 hex>`, then the optional suffix (an extension). */
const TEMP_TAIL = /^(\d+)-[0-9a-f]{8}(?:\.[A-Za-z0-9]+)?$/;

/**
 * Removes the temps of `path` that a dead process left behind: a write
 * killed by SIGKILL (or a crash, a power cut) runs no cleanup, so its
 * `.NAME.tmp-<pid>-…` file or directory stays. Only temps of this very
 * output whose pid is not running on this machine are removed (a live
 * writer's temp, or one of a pid since reused, is left alone); best effort.
 * Set-aside `.NAME.old-…` directories are not temps: readers fall back to
 * them (see interruptedSwapDir). A directory shared by several machines
 * (NFS) could hold another machine's live temp; its writer would then fail
 * at its rename, naming the path, rather than lose data.
 */
export function sweepStaleTemps(path: string): string[] {
  const dir = dirname(path);
  const prefix = tmpPrefix(basename(path));
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(TEMP_TAIL.exec(e.slice(prefix.length))?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isProcessRunning(pid)) continue;
    try {
      rmSync(join(dir, e), { recursive: true, force: true });
      swept.push(join(dir, e));
    } catch {
      // Not ours to insist on (permissions): the new write goes ahead beside it.
    }
  }
  return swept;
}

/**
 * A fresh hidden temporary name next to `path`; `suffix` keeps an extension
 * tools look at (`.parquet`). Every temp of an output is named here, so this
 * is also where the temps of earlier, killed writes of the same output are
 * swept (sweepStaleTemps).
 */
export function tempSibling(path: string, suffix = ''): string {
  sweepStaleTemps(path);
  return join(dirname(path), tmpPrefix(basename(path)) + uniqueSuffix() + suffix);
}

/** Flushes a file's content to disk. */
async function syncFile(path: string): Promise<void> {
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

/**
 * Fails fast, before any work, when `path` cannot become a file: it is a
 * directory, or its directory is missing or is not a directory. (Writing
 * still reports any later failure; this only spares a long run that could
 * never succeed.)
 */
export async function checkOutputPath(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  try {
    const target = await lstatIfExists(path);
    if (target?.isDirectory()) throw new WriteError(path, 'it is a directory; give a file name', { code: 'EISDIR' });
    if (target) return;
    if (!(await stat(dir)).isDirectory()) throw new WriteError(path, `${dirname(path)} is not a directory`, { code: 'ENOTDIR' });
  } catch (e) {
    throw asWriteError(e, path, [dir]);
  }
}

/** The entry at `path` (not following a final symlink), or undefined when there is none. */
async function lstatIfExists(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if (code(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * One output file on its way: something (our code, or a tool such as
 * DuckDB's COPY) fills `tmp`; `commit` flushes it and renames it over
 * `path`; `discard` removes it. Until one of them ran, `tmp` is removed if
 * the process gets SIGINT or SIGTERM.
 */
export class AtomicOutput {
  readonly tmp: string;
  private readonly untrack: () => void;
  private settled = false;

  constructor(
    readonly path: string,
    options: { suffix?: string } = {},
  ) {
    this.tmp = tempSibling(path, options.suffix);
    this.untrack = trackTemp(this.tmp);
  }

  /** Flushes the temp to disk and checks the target can be replaced; the first half of `commit`. */
  async prepare(): Promise<void> {
    try {
      await syncFile(this.tmp);
      const target = await lstatIfExists(this.path);
      if (target?.isDirectory()) throw new WriteError(this.path, 'it is a directory; give a file name', { code: 'EISDIR' });
    } catch (e) {
      await this.discard();
      throw asWriteError(e, this.path, [this.tmp]);
    }
  }

  /** Renames the prepared temp over the target; the second half of `commit`. */
  async publish(): Promise<void> {
    try {
      await rename(this.tmp, this.path);
    } catch (e) {
      await this.discard();
      throw asWriteError(e, this.path, [this.tmp]);
    }
    this.settled = true;
    this.untrack();
    try {
      await fsyncDir(dirname(resolve(this.path)));
    } catch (e) {
      throw asWriteError(e, this.path);
    }
  }

  async commit(): Promise<void> {
    await this.prepare();
    await this.publish();
  }

  /** Removes the temp (idempotent; a no-op after a successful commit). */
  async discard(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    try {
      await rm(this.tmp, { recursive: true, force: true });
    } finally {
      this.untrack();
    }
  }
}

/**
 * Produces `path` all at once or not at all: `fn` writes (or has a tool
 * write) the temporary file it is given, which replaces `path` only when
 * `fn` succeeds. `suffix` is appended to the temp name (tools that pick a
 * format by extension).
 */
export async function withAtomicOutput<T>(path: string, fn: (tmp: string) => Promise<T>, options: { suffix?: string } = {}): Promise<T> {
  return withAtomicOutputs([path], ([tmp]) => fn(tmp!), options);
}

/**
 * Several outputs that belong together (a train and a test file): `fn`
 * fills one temp per path; only when all are complete and flushed are they
 * renamed into place. The renames are separate steps, so a crash between
 * them can leave some new and some old files, but never a torn one.
 */
export async function withAtomicOutputs<T>(paths: string[], fn: (tmps: string[]) => Promise<T>, options: { suffix?: string } = {}): Promise<T> {
  for (const p of paths) await checkOutputPath(p);
  const outs = paths.map((p) => new AtomicOutput(p, options));
  const discardAll = () => Promise.all(outs.map((o) => o.discard()));
  let result: T;
  try {
    result = await fn(outs.map((o) => o.tmp));
  } catch (e) {
    await discardAll();
    const failed = outs.find((o) => e instanceof Error && e.message.includes(o.tmp)) ?? (outs.length === 1 ? outs[0] : undefined);
    throw failed ? asWriteError(e, failed.path, [failed.tmp]) : e;
  }
  try {
    for (const o of outs) await o.prepare();
  } catch (e) {
    await discardAll();
    throw e;
  }
  try {
    for (const o of outs) await o.publish();
  } catch (e) {
    await discardAll();
    throw e;
  }
  return result;
}

/**
 * Outputs that refer to each other by name (an .onnx and its `.data`
 * file) and must be checked before they replace anything: `fn` writes each
 * file under its own name into a fresh hidden directory beside them (the
 * `staged` paths it is given, same order) and may read them back there; a
 * throw leaves every path as it was and the directory gone. Once `fn`
 * succeeds, the files it wrote are flushed and renamed over their paths in
 * the order given, then the paths it did not write are removed (the stale
 * companion of an earlier output). All paths must be in one directory;
 * the main output goes last (errors not about another file name it).
 */
export async function withStagedOutputs<T>(paths: string[], fn: (staged: string[]) => Promise<T>): Promise<T> {
  const dir = dirname(resolve(paths[0]!));
  if (paths.some((p) => dirname(resolve(p)) !== dir)) throw new Error(`withStagedOutputs: ${paths.join(', ')} are not in one directory`);
  for (const p of paths) await checkOutputPath(p);
  const main = paths.at(-1)!;
  const stage = tempSibling(main);
  const untrack = trackTemp(stage);
  const staged = paths.map((p) => join(stage, basename(p)));
  try {
    let result: T;
    try {
      await mkdir(stage);
      result = await fn(staged);
    } catch (e) {
      // Named by the file the error is about, else by the last path (the main output, published last).
      const i = staged.findIndex((s) => e instanceof Error && (e.message.includes(s) || (e as NodeJS.ErrnoException).path === s));
      const about = i >= 0 ? paths[i]! : main;
      // A write helper used inside (writeFileAtomic) already names the staged file: restate it by the output's own path.
      if (e instanceof WriteError && e.path.startsWith(stage)) {
        throw new WriteError(about, e.message.slice(`cannot write ${e.path}: `.length).replaceAll(stage + sep, `${dir}${sep}`), { code: e.code, cause: e });
      }
      throw asWriteError(e, about, [stage]);
    }
    const written: boolean[] = [];
    for (const [i, p] of paths.entries()) {
      const s = await lstatIfExists(staged[i]!);
      written.push(s !== undefined);
      if (!s) continue;
      try {
        await syncFile(staged[i]!);
        if ((await lstatIfExists(p))?.isDirectory()) throw new WriteError(p, 'it is a directory; give a file name', { code: 'EISDIR' });
      } catch (e) {
        throw asWriteError(e, p, [stage]);
      }
    }
    for (const [i, p] of paths.entries()) {
      if (!written[i]) continue;
      try {
        await rename(staged[i]!, p);
      } catch (e) {
        throw asWriteError(e, p, [stage]);
      }
    }
    for (const [i, p] of paths.entries()) if (!written[i]) await rm(p, { force: true });
    await fsyncDir(dir);
    return result;
  } finally {
    await rm(stage, { recursive: true, force: true });
    untrack();
  }
}

export type PositionalWrite = (data: Uint8Array, position: number) => Promise<void>;

const MAX_WRITE = 2 ** 30;

/**
 * Writes a file atomically and durably. `content` is the bytes or text, or
 * a function given positional writes, so large files stream from memory
 * views without being concatenated first. `mkdirs` creates missing parent
 * directories first.
 */
export async function writeFileAtomic(
  path: string,
  content: string | Uint8Array | ((write: PositionalWrite) => Promise<void>),
  options: { mkdirs?: boolean } = {},
): Promise<void> {
  if (options.mkdirs) {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (e) {
      throw asWriteError(e, path, [dirname(path)]);
    }
  }
  await withAtomicOutput(path, async (tmp) => {
    const handle = await open(tmp, 'wx');
    try {
      if (typeof content !== 'function') {
        await handle.writeFile(content);
        return;
      }
      await content(async (data, position) => {
        let done = 0;
        // Bounded slices (one write cannot pass 2 GiB) and a loop, since writes may be partial.
        while (done < data.byteLength) {
          const length = Math.min(data.byteLength - done, MAX_WRITE);
          const { bytesWritten } = await handle.write(data, done, length, position + done);
          done += bytesWritten;
        }
      });
    } finally {
      await handle.close();
    }
  });
}

/** Writes JSON atomically (2-space indented, newline-terminated); NaN and ±Infinity become null as JSON.stringify writes them. */
export async function writeJsonAtomic(path: string, value: unknown, options: { mkdirs?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

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

/*
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
