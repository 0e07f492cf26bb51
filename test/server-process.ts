/**
 * How the sync and fault tests start the server as its own process: the compiled server
 * (`pnpm start`'s form, ~2 s to /healthz) when `pnpm test` has just built it and says so with
 * SP_TEST_SERVER=dist, otherwise the sources through tsx (~5 s), so a test run alone never
 * runs a stale build.
 */
export function serverArgs(): string[] {
  return process.env.SP_TEST_SERVER === 'dist'
    ? ['packages/server/dist/main.js']
    : ['--import', 'tsx', 'packages/server/src/main.ts'];
}
