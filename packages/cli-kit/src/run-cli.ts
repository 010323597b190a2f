import type { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CliInfo {
  /** The program's name as typed: prefixes every error (`esm2-train: …`). */
  name: string;
  version: string;
  /** The user's arguments (default process.argv.slice(2)). */
  args?: string[];
}

/**
 * The version in the package.json nearest above a module (pass
 * `import.meta.url`), so src/cli.ts and dist/cli.js both find their
 * package's.
 */
export function packageVersion(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') return pkg.version;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json with a version above ${fileURLToPath(moduleUrl)}`);
    dir = up;
  }
}

/**
 * An error commander has already printed. By shape, not instanceof: the
 * program may come from another copy of commander than this package's. An
 * InvalidArgumentError is one only inside commander's own option parsing,
 * which prints it and throws a plain CommanderError instead: one that
 * reaches runCli was thrown by an action (say, a flag parser called on a
 * config value) and nobody has printed it.
 */
function isCommanderError(err: unknown): err is CommanderError {
  const e = err as Partial<CommanderError> | null;
  return typeof e === 'object' && e !== null && typeof e.code === 'string' && e.code.startsWith('commander.') && typeof e.exitCode === 'number' && e.name !== 'InvalidArgumentError';
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Applies `f` to the command and every subcommand below it. */
function visit(cmd: Command, f: (c: Command) => void): void {
  f(cmd);
  for (const sub of cmd.commands) visit(sub, f);
}

/**
 * Runs a commander program as a command-line main and returns its exit code
 * (also set as process.exitCode; nothing calls process.exit, so pending
 * output is flushed):
 *
 * - no arguments at all: the help on stdout, exit 0;
 * - `-V, --version` (before any subcommand: after one, a flag is the
 *   subcommand's), and a `help [command]` subcommand;
 * - a usage error (unknown command or flag, bad flag value): `NAME: message`
 *   and a hint naming the command's --help, exit 1 (commander's own code);
 * - an error thrown by a command: `NAME: message`, exit 1.
 *
 * Output goes through the program's commander output configuration, so a
 * test can capture it with `program.configureOutput({ writeOut, writeErr })`.
 */
export async function runCli(program: Command, info: CliInfo): Promise<number> {
  const args = info.args ?? process.argv.slice(2);
  program.name(info.name).version(info.version, '-V, --version', 'print the version and exit');
  // The root's options come before a subcommand, so a subcommand may have a flag of the same name (`export --version 2`).
  program.enablePositionalOptions();
  // Even when the root has an action of its own (commander then adds no help command by default).
  program.helpCommand('help [command]', 'show help for a command');
  const output = program.configureOutput();
  const writeErr = (s: string) => (output.writeErr ? output.writeErr(s) : process.stderr.write(s));
  visit(program, (cmd) => {
    cmd
      .exitOverride()
      .showHelpAfterError(`(run '${commandPath(cmd)} --help' for usage)`)
      .configureOutput({
        ...output,
        outputError: (str, write) => write(`${info.name}: ${str.replace(/^error: /, '')}`),
      });
  });
  let code: number;
  if (args.length === 0) {
    program.outputHelp();
    code = 0;
  } else {
    try {
      await program.parseAsync(args, { from: 'user' });
      code = typeof process.exitCode === 'number' ? process.exitCode : 0;
    } catch (err) {
      if (isCommanderError(err)) {
        // commander has already printed its message (and the hint); help and --version end with 0.
        code = err.exitCode;
      } else {
        writeErr(`${info.name}: ${err instanceof Error ? err.message : String(err)}\n`);
        code = 1;
      }
    }
  }
  process.exitCode = code;
  return code;
}
