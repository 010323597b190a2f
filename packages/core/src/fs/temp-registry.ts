import { rmSync } from 'node:fs';
import { constants } from 'node:os';

/**
 * Temporary files and directories that exist right now because a write is
 * under way. While any is registered, SIGINT and SIGTERM remove them all
 * before the process exits (130 / 143, the shell's 128 + signal number), so
 * an interrupted write leaves nothing behind. When another part of the
 * program also listens for the signal (a server's graceful shutdown), the
 * temps are still removed but exiting is left to that listener.
 */
const live = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type Signal = (typeof SIGNALS)[number];

function removeAll(): void {
  for (const path of live) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Best effort: the process is going away; one stubborn path must not keep the others.
    }
  }
  live.clear();
}

const handlers: Record<Signal, () => void> = {
  SIGINT: () => onSignal('SIGINT'),
  SIGTERM: () => onSignal('SIGTERM'),
};

function onSignal(signal: Signal): void {
  removeAll();
  uninstall();
  // Other listeners (installed by the program) decide how to stop; alone, behave like the default handler.
  if (process.listenerCount(signal) === 0) process.exit(128 + constants.signals[signal]);
}

let installed = false;
function install(): void {
  if (installed) return;
  for (const s of SIGNALS) process.on(s, handlers[s]);
  installed = true;
}
function uninstall(): void {
  if (!installed) return;
  for (const s of SIGNALS) process.removeListener(s, handlers[s]);
  installed = false;
}

/**
 * Registers a temporary path (file or directory) for removal on SIGINT or
 * SIGTERM; call the returned function once the path is gone or renamed into
 * place. Handlers are installed only while something is registered, so a
 * program that writes nothing keeps Node's default signal behaviour.
 */
export function trackTemp(path: string): () => void {
  live.add(path);
  install();
  return () => {
    live.delete(path);
    if (live.size === 0) uninstall();
  };
}

/** The temporary paths registered right now (for tests and diagnostics). */
export function liveTemps(): string[] {
  return [...live];
}

/**
 * Whether a process with this pid is running on this machine (EPERM: it
 * is, under another user). What tells a temp or lock left by a killed
 * process from one still being written.
 */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
