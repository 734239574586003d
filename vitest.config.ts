import { defineConfig } from 'vitest/config';

// Tests import the built packages (dist/) by name, exactly as users and worker threads do; the test
// script runs `tsc -b` first. Worker fixtures are TypeScript started with the tsx loader (see
// test/helpers/workers.ts), so every thread runs the same compiled code.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Two cores: contention tests spawn their own workers, so run test files one or two at a time.
    maxWorkers: 2,
  },
});
