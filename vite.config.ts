import { defineConfig } from 'vitest/config';

// Node tests. Element tests run in Chromium through @web/test-runner (web-test-runner.config.mjs).
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: ['packages/elements/**', '**/node_modules/**'],
          environment: 'node',
          // Three files at a time even on two CPUs (vitest's default is one fewer than the CPUs): a file
          // waits on PostgreSQL, another process, much of its time. Here the whole unit project took
          // 165 s with two, 143 s with three and 155 s with four.
          maxWorkers: 3,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          // expect.poll waits for what a user action leads to (a stage shown, a list refreshed):
          // vitest's 1 s default made a slow moment on a loaded machine a failure. A check that a
          // thing happens within a bound says so itself (the board's "within a second").
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
