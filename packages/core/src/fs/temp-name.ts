import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isProcessRunning } from './temp-registry.js';

/**
 * How the temporaries of an output are named — a hidden sibling
 * `.NAME.tmp-<pid>-<rand>` (and `.NAME.old-…` for a directory set aside by
 * a swap) — and how those of a killed writer are swept.
 */

/** `<pid>-<8 hex>`: tells the temps of one write from another's, and names the process that made them. */
export const uniqueSuffix = () => `${process.pid}-${randomBytes(4).toString('hex')}`;
export const tmpPrefix = (name: string) => `.${name}.tmp-`;
export const oldPrefix = (name: string) => `.${name}.old-`;

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
