#!/usr/bin/env node
/**
 * `pnpm test`: typecheck, lint (Biome: format and rules), build the demo, then every runner (vitest unit, element tests
 * in Chromium, end-to-end), each closing with a plain "name: N passed, N failed" line.
 * Exits non-zero if anything failed. Runs against PostgreSQL too when TEST_DATABASE_URL is set.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, '.test-results');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const only = process.argv.slice(2);
const wanted = (name) => only.length === 0 || only.includes(name);
let failedRunners = 0;

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

function ensureChromium() {
  const path = process.env.CHROME_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.log("Chromium is missing: installing Debian's chromium (once)…");
    run('sh', [
      '-c',
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null',
    ]);
  }
  if (!existsSync(path)) {
    console.error(`No Chromium at ${path}: install it (apt-get install -y chromium) or set CHROME_PATH.`);
    process.exit(1);
  }
}

function vitest(project) {
  const file = join(out, `${project}.json`);
  const code = run('pnpm', [
    'exec',
    'vitest',
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${file}`,
  ]);
  let passed = 0;
  let failed = code === 0 ? 0 : 1;
  let skipped = 0;
  if (existsSync(file)) {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed = r.numPassedTests;
    skipped = r.numPendingTests + (r.numTodoTests ?? 0);
    failed = r.numFailedTests + (r.numFailedTestSuites && !r.numFailedTests ? r.numFailedTestSuites : 0);
    if (code !== 0 && failed === 0) failed = 1;
  }
  console.log(`\n${project}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (code !== 0 || failed) failedRunners++;
}

if (wanted('typecheck')) {
  if (run('pnpm', ['run', '--silent', 'typecheck']) !== 0) {
    console.log('\ntypecheck: 0 passed, 1 failed');
    failedRunners++;
  } else console.log('typecheck: clean');
}
if (wanted('lint')) {
  if (run('pnpm', ['run', '--silent', 'lint']) !== 0) {
    console.log('\nlint: 0 passed, 1 failed (pnpm format fixes formatting)');
    failedRunners++;
  } else console.log('lint: clean');
}
if (wanted('size')) {
  if (run('node', ['scripts/size.mjs']) !== 0) failedRunners++;
}
if (wanted('unit')) vitest('unit');
if (wanted('browser')) {
  ensureChromium();
  if (run('pnpm', ['exec', 'wtr', '--config', 'web-test-runner.config.mjs']) !== 0) failedRunners++;
}
if (wanted('e2e')) {
  ensureChromium();
  if (run('pnpm', ['run', '--silent', 'build']) !== 0) {
    console.log('\ne2e: 0 passed, 1 failed');
    failedRunners++;
  } else vitest('e2e');
}
process.exit(failedRunners ? 1 : 0);
