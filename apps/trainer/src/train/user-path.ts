import { resolve } from 'node:path';

/** `pnpm esm2-train …` runs inside apps/trainer; users mean paths relative to where they typed. */
export const userPath = (p: string): string => resolve(process.env['INIT_CWD'] ?? process.cwd(), p);
