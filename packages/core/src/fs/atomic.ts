import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fsyncDir, lstatIfExists, syncFile } from './primitives.js';
import { tempSibling } from './temp-name.js';
import { trackTemp } from './temp-registry.js';
import { asWriteError, WriteError } from './write-error.js';

/**
 * Every write of a user-visible file goes through this module (of a whole
 * directory, through dir-swap.ts): readers
 * see the old content or the new, never a torn file; a failure (full disk,
 * missing directory, a signal) leaves neither half-written output nor
 * temporary files behind; errors name the path the user gave.
 *
 * A file is written to a hidden sibling `.NAME.tmp-<pid>-<rand>` (same
 * directory, so the rename is atomic), flushed to disk, renamed over NAME,
 * and the directory is flushed so the rename itself survives a crash.
 */

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
