import { resolve } from 'node:path';

/**
 * `pnpm esm2-score …` runs the CLI with apps/scorer as its working
 * directory; pnpm keeps where the user was in INIT_CWD, so relative paths
 * mean what the user typed (same convention as esm2-train).
 */
export const userPath = (p: string): string => resolve(process.env['INIT_CWD'] ?? process.cwd(), p);
