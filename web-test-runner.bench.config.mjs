// The element benchmarks (pnpm bench:designer, pnpm bench:board): the element tests' browser and
// plugins, with the benchmark files instead of the tests; it prints figures, asserts no times.
import { defaultReporter } from '@web/test-runner';
import config from './web-test-runner.config.mjs';

export default {
  ...config,
  files: ['packages/elements/bench/**/*.bench.ts'],
  testFramework: { config: { timeout: 120000 } },
  // The figures are what matters: print the page's console, not only failures.
  browserLogs: true,
  reporters: [defaultReporter()],
  filterBrowserLogs: ({ args }) => typeof args[0] === 'string' && /^(designer|board) bench/.test(args[0]),
};
