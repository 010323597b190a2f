import { defineConfig } from 'vitest/config';

// Service and CLI tests spawn processes and worker threads; on a loaded
// 2-core machine they need more than vitest's 5 s default to start.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 90_000 },
});
