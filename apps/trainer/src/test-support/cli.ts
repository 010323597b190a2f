import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const trainerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliExit {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * esm2-train as a user runs it, in its own process (tsx, like `pnpm
 * esm2-train`), with relative paths meaning `cwd` (INIT_CWD).
 */
export function spawnCli(args: string[], cwd: string, env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliExit> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: trainerDir,
    env: { ...process.env, ...env, INIT_CWD: cwd },
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
