import { resolve } from 'node:path';

/**
 * The package.json scripts that start the CLIs from the repository's root
 * (`pnpm esm2-train …`, `pnpm esm2-score …`). pnpm runs a script in the
 * directory of its package.json, wherever the command was typed, and keeps
 * where it was typed in INIT_CWD.
 */
const CLI_SCRIPTS: ReadonlySet<string> = new Set(['esm2-train', 'esm2-score']);

/**
 * The directory relative paths on the command line mean: where the user
 * typed `pnpm esm2-train …` (INIT_CWD) when the process is that root script,
 * else the working directory. INIT_CWD alone is not enough: pnpm passes it on
 * to every process below a script, so a `pnpm exec esm2-train` or a script
 * that does `cd sub && esm2-train … --out x.csv` would otherwise write into
 * the folder the outermost pnpm was started in.
 */
export function userCwd(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const init = env['INIT_CWD'];
  const script = env['npm_lifecycle_event'];
  return init && script !== undefined && CLI_SCRIPTS.has(script) ? init : cwd;
}

/** A path as the user meant it: absolute as given, relative against {@link userCwd}. */
export const userPath = (p: string): string => resolve(userCwd(), p);
