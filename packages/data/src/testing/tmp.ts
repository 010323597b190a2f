import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingPath, requires, type Required } from '@esm2/core/testing';
import { afterAll } from 'vitest';

/** A temporary directory for one test file, removed when its tests end. */
export async function tempDir(): Promise<(name: string) => string> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-data-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return (name: string) => join(dir, name);
}

/** The shared real-data fixtures (`../shared/data` next to the repository). */
export const FIXTURES = fileURLToPath(new URL('../../../../../shared/data/', import.meta.url));

/**
 * The real-data tests' requirement (FIXTURES), under the one skip policy of
 * @esm2/core/testing's requires(): skipped with the reason outside CI,
 * failed by check() under CI=true.
 */
export function fixturesRequired(): Required {
  return requires({ what: 'the shared sample data', missing: missingPath(FIXTURES), install: 'put the Ali-CCP and UserBehavior samples in shared/data beside the clone, see docs/cli.md' });
}
