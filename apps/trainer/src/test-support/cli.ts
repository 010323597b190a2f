import { runCli } from '@esm2/cli-kit';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { trainerProgram } from '../program.js';

const trainerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliExit {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * esm2-train as a user runs it, in its own process (tsx, like `pnpm
 * esm2-train`), with relative paths meaning `cwd` (INIT_CWD under the root script).
 */
export function spawnCli(args: string[], cwd: string, env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliExit> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: trainerDir,
    env: { ...process.env, ...env, INIT_CWD: cwd, npm_lifecycle_event: 'esm2-train' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliExit>((res) => child.on('exit', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done };
}

/** Resolves when `text` appears on the child's stderr (the event a test waits for, never a sleep); rejects if it exits first. */
export function stderrLine(child: ChildProcess, text: string, what: string): Promise<void> {
  return new Promise<void>((res, rej) => {
    let seen = '';
    child.stderr!.on('data', (d) => {
      seen += d;
      if (seen.includes(text)) res();
    });
    child.once('exit', () => rej(new Error(`the CLI exited before ${what}:\n${seen}`)));
  });
}

/**
 * The trainer's commands in this process, as `esm2-train ARGS` runs them:
 * the exit code, the error output (whitespace folded), the stdout lines and
 * what went to stderr (progress and logs). Tests using it reset
 * `process.exitCode` after each test.
 */
export async function runTrainer(...args: string[]): Promise<{ code: number; err: string; out: string; logs: string }> {
  let err = '';
  const out: string[] = [];
  const logs: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const progress = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (logs.push(String(s)), true));
  try {
    const program = trainerProgram().configureOutput({ writeOut: () => undefined, writeErr: (s) => (err += s) });
    const code = await runCli(program, { name: 'esm2-train', version: '0', args });
    return { code, err: err.replace(/\s+/g, ' '), out: out.join('\n'), logs: logs.join('') };
  } finally {
    log.mockRestore();
    progress.mockRestore();
  }
}
