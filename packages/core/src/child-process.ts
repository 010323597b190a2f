import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How a command ended, and the end of what it wrote to stderr. */
export interface CommandExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last `stderrKeep` characters of its stderr. */
  stderr: string;
}

export interface RunCommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Aborting kills the command with `killSignal`; the call rejects with the signal's reason once the process is gone. */
  signal?: AbortSignal | undefined;
  killSignal?: NodeJS.Signals;
  /** Given the command's stdout (utf8) when present; without it stdout is ignored. */
  stdout?: (stream: Readable) => void;
  /** The error for a command that cannot be started at all (`ENOENT`, `EACCES`): say what is missing and how to install it. */
  cannotStart: (code: string) => Error;
  /** How much of stderr is kept (characters; default 16 384). */
  stderrKeep?: number;
}

/**
 * Runs a command (the Python helpers of the GBDT baseline and the torch
 * backend) to its end and resolves with its exit status, whatever it is:
 * the caller reads its own failures from the code and the stderr tail. An
 * abort is reported only once the process has closed, so nothing outlives
 * the call.
 */
export async function runCommand(command: string, args: readonly string[], options: RunCommandOptions): Promise<CommandExit> {
  options.signal?.throwIfAborted();
  const keep = options.stderrKeep ?? 16_384;
  const child = spawn(command, args, {
    stdio: ['ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'],
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.killSignal ? { killSignal: options.killSignal } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-keep);
  });
  if (options.stdout && child.stdout) options.stdout(child.stdout.setEncoding('utf8'));
  let aborted: Error | undefined;
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError') aborted = options.signal?.reason instanceof Error ? options.signal.reason : e;
      else if (e.code === 'ENOENT' || e.code === 'EACCES') reject(options.cannotStart(e.code));
      else reject(e);
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  if (aborted !== undefined) throw aborted;
  return { ...exit, stderr };
}

/** Debian's interpreter, where `apt-get install python3-torch python3-xgboost` puts torch and XGBoost (a venv's python would not see them). */
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** The python the Python helpers (GBDT baseline, torch backend, bench) run: `explicit`, else ESM2_PYTHON, else DEFAULT_PYTHON. */
export function pythonPath(explicit?: string): string {
  return explicit ?? process.env.ESM2_PYTHON ?? DEFAULT_PYTHON;
}
