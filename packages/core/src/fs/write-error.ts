import { dirname, sep } from 'node:path';
import { inspect } from 'node:util';

/**
 * A failed write, reported by the path the user asked for, never by the
 * temporary sibling it was being written through. `code` keeps the system
 * error code (ENOSPC, EISDIR, …) and `cause` the original error.
 */
export class WriteError extends Error {
  readonly path: string;
  readonly code: string | undefined;
  constructor(path: string, reason: string, options: { code?: string; cause?: unknown } = {}) {
    super(`cannot write ${path}: ${reason}`, { cause: options.cause });
    this.name = 'WriteError';
    this.path = path;
    this.code = options.code;
  }
}

const REASONS: Record<string, (path: string) => string> = {
  ENOSPC: () => 'no space left on device',
  EDQUOT: () => 'disk quota exceeded',
  EFBIG: () => 'file too large for the file system',
  EISDIR: () => 'it is a directory; give a file name',
  ENOENT: (path) => `directory ${dirname(path)} does not exist`,
  ENOTDIR: (path) => `a parent of it is not a directory (${dirname(path)})`,
  EACCES: (path) => `permission denied (check ${dirname(path)} and the file itself)`,
  EPERM: () => 'operation not permitted',
  EROFS: () => 'read-only file system',
  EIO: () => 'input/output error',
  EXDEV: () => 'temporary file is on another file system',
  ENAMETOOLONG: () => 'name too long',
};

/**
 * The error a write of `path` through temporary `temps` should report: a
 * system error (no path, or a temp path in it) or a message naming a temp
 * becomes a WriteError naming `path`. Errors about other paths (an input
 * that cannot be read) and non-system errors (bad data) pass unchanged.
 */
export function asWriteError(err: unknown, path: string, temps: readonly string[] = []): Error {
  if (err instanceof WriteError) return err;
  if (!(err instanceof Error)) return new Error(`non-error thrown: ${inspect(err)}`);
  const sys = err as NodeJS.ErrnoException & { dest?: string };
  const mentionsTemp = temps.some((t) => err.message.includes(t));
  const isSystem = typeof sys.code === 'string' && typeof sys.syscall === 'string';
  if (isSystem) {
    const about = [sys.path, sys.dest].filter((p): p is string => p !== undefined);
    const ours = about.length === 0 ? sys.syscall !== 'read' : about.some((p) => p === path || temps.some((t) => p === t || p.startsWith(t + sep)));
    if (!ours) return err;
    const reason = REASONS[sys.code!]?.(path) ?? scrub(err.message, path, temps);
    return new WriteError(path, reason, { code: sys.code, cause: err });
  }
  if (mentionsTemp) return new WriteError(path, scrub(err.message, path, temps), { cause: err });
  // A stream or tool error that only tells the errno (`ENOSPC: …, write`).
  const code = /^(E[A-Z]+):/.exec(err.message)?.[1];
  if (code && REASONS[code]) return new WriteError(path, REASONS[code](path), { code, cause: err });
  return err;
}

/** `message` with each temp path replaced by the target path. */
function scrub(message: string, path: string, temps: readonly string[]): string {
  let m = message;
  for (const t of temps) m = m.replaceAll(t, path);
  return m;
}
