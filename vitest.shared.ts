import { defineConfig } from 'vitest/config';

/**
 * Every package's vitest settings. The suite must pass on a busy 2-core
 * machine, including under `pnpm turbo test` (all packages at once): a
 * timeout here only catches a hang, it is never a speed check (speed is
 * `pnpm bench`'s job). Tests wait for events, never for wall-clock time.
 */
export default defineConfig({
  test: {
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    // Two workers at most per package: turbo already runs packages side by side.
    maxWorkers: 2,
  },
});
