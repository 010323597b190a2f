import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** A temporary directory for one test file, removed when its tests end. */
export async function tempDir(): Promise<(name: string) => string> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-data-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return (name: string) => join(dir, name);
}

/** The shared real-data fixtures (`../shared/data` next to the repository). */
export const FIXTURES = fileURLToPath(new URL('../../../../../shared/data/', import.meta.url));
