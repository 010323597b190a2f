import { resolve } from 'node:path';

/**
 * A path as the user meant it. `pnpm esm2-train …` (a root script) runs the
 * CLI inside its package directory; pnpm keeps where the user typed the
 * command in INIT_CWD, so relative paths resolve against that. Run directly
 * (an installed `bin`), INIT_CWD is unset and the working directory is used.
 */
export const userPath = (p: string): string => resolve(process.env['INIT_CWD'] ?? process.cwd(), p);
