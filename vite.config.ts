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
          // Two files at a time even on two CPUs (vitest's default is one fewer than the CPUs): a file
          // waits on PostgreSQL, another process, much of its time. 237 s → 175 s for http + notifications here.
          maxWorkers: 2,
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
        },
      },
    ],
  },
});
