import { isProcessRunning, trackTemp } from '@esm2/core/node';
import { readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * What a run directory (`--out runs/NAME`) holds:
 *   best/          the artifact of the best epoch (by the early-stopping metric)
 *   checkpoint/    the last finished epoch: weights, optimizer state, loop position
 *   history.json   per-epoch training loss and validation metrics
 *   metrics.json   written by `eval` (atomically; eval takes no lock, so it may score the best/ of a fit still running)
 *   .lock          while a fit writes the directory: who (see lockRunDir)
 */
export const runPaths = (dir: string) => ({
  dir,
  best: join(dir, 'best'),
  checkpoint: join(dir, 'checkpoint'),
  history: join(dir, 'history.json'),
  metrics: join(dir, 'metrics.json'),
  lock: join(dir, '.lock'),
});

export type RunPaths = ReturnType<typeof runPaths>;

/** The content of a run directory's lock file. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

export interface RunDirLock {
  readonly path: string;
  /** Removes the lock (and the run directory, when this lock created it and nothing else was written). Idempotent. */
  release(): Promise<void>;
}

const code = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (Number.isInteger(o.pid) && typeof o.host === 'string' && typeof o.since === 'string') return o as LockOwner;
  } catch {
    // A lock being written right now, or garbage: the caller decides by its age.
  }
  return undefined;
}

/** A lock file with no readable owner that is older than this is left over from a crash mid-creation. */
const UNREADABLE_STALE_MS = 10_000;

/**
 * Makes `dir` the run directory of this process, before any data is read:
 * a path that is a file, or a parent that cannot be written, fails at once
 * with the path named. The lock is a file `.lock` created with O_EXCL
 * (`wx`) holding pid, host and start time; while it exists, another fit on
 * the same directory is refused with "…is being written by pid N (since …)".
 * A lock whose process has died (killed, machine restarted) is taken over,
 * with a message through `onTakeover`. The lock is released by `release()`,
 * on process exit, and on SIGINT/SIGTERM (core's temp registry removes it).
 */
export async function lockRunDir(dir: string, options: { onTakeover?: (message: string) => void } = {}): Promise<RunDirLock> {
  const created = await ensureRunDir(dir);
  const path = join(dir, '.lock');
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${JSON.stringify(me)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      break;
    } catch (e) {
      if (code(e) !== 'EEXIST') throw new Error(`--out ${dir}: cannot create its lock file ${path}: ${(e as Error).message}`);
      if (attempt >= 3) throw new Error(`--out ${dir}: its lock ${path} keeps changing hands; is another fit starting on it?`);
      await takeOverIfStale(dir, path, options.onTakeover);
    }
  }
  const untrack = trackTemp(path);
  let released = false;
  const releaseSync = () => {
    if (released) return;
    released = true;
    untrack();
    process.removeListener('exit', releaseSync);
    try {
      if (parseOwner(readFileSync(path, 'utf8'))?.pid === me.pid) unlinkSync(path);
      // An empty directory this lock created (the fit failed before writing anything) goes too.
      if (created) rmdirSync(dir);
    } catch {
      // Already gone, taken over, or the directory has content: leave it.
    }
  };
  process.on('exit', releaseSync);
  return {
    path,
    release: () => {
      releaseSync();
      return Promise.resolve();
    },
  };
}

/** Checks `--out` before anything else: a directory (created if missing, and then reported as created). */
async function ensureRunDir(dir: string): Promise<boolean> {
  const why = (e: unknown) => (code(e) === 'EACCES' ? 'permission denied' : code(e) === 'ENOTDIR' ? 'a parent of it is a file' : (e as Error).message);
  const st = await stat(dir).catch((e: unknown) => {
    if (code(e) === 'ENOENT') return undefined;
    throw new Error(`--out ${dir}: cannot create the run directory: ${why(e)}`);
  });
  if (st) {
    if (!st.isDirectory()) throw new Error(`--out ${dir} is a file; give a run directory (e.g. runs/NAME)`);
    return false;
  }
  try {
    return (await mkdir(dir, { recursive: true })) !== undefined;
  } catch (e) {
    throw new Error(`--out ${dir}: cannot create the run directory: ${why(e)}`);
  }
}

async function takeOverIfStale(dir: string, path: string, onTakeover?: (message: string) => void): Promise<void> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtimeMs)]);
  } catch (e) {
    if (code(e) === 'ENOENT') return; // released meanwhile: try again
    throw e;
  }
  const owner = parseOwner(text);
  if (owner) {
    if (owner.host !== hostname()) {
      throw new Error(`${dir} is being written by pid ${owner.pid} on ${owner.host} (since ${owner.since}); if that run is gone, remove ${path}`);
    }
    if (isProcessRunning(owner.pid)) throw new Error(`${dir} is being written by pid ${owner.pid} (since ${owner.since}); wait for it to finish or choose another --out`);
  } else if (Date.now() - mtimeMs < UNREADABLE_STALE_MS) {
    throw new Error(`${dir} is being locked by another process right now (${path}); wait for it or choose another --out`);
  }
  // Stale: move it aside (atomic, so of two processes taking over only one gets it), check it is the one judged, then drop it.
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (e) {
    if (code(e) === 'ENOENT') return;
    throw e;
  }
  const moved = await readFile(aside, 'utf8');
  if (moved !== text) {
    // Another process took it over first and this moved its fresh lock: put it back (unless a newer one exists) and refuse.
    await link(aside, path).catch(() => undefined);
    await unlink(aside);
    throw new Error(`${dir}: its lock changed hands while being taken over; another fit is starting on it`);
  }
  await unlink(aside);
  onTakeover?.(
    owner
      ? `${dir}: taking over the lock of pid ${owner.pid} (since ${owner.since}), which is no longer running`
      : `${dir}: taking over an unreadable lock left by a crash (${path})`,
  );
}
