#!/usr/bin/env node
/**
 * `pnpm test`: typecheck, lint (Biome: format and rules) and the build side by side (their output printed in that order
 * once all are done), the size budgets, then every runner (vitest unit with the element tests in Chromium beside it,
 * then end-to-end), each closing with a plain "name: N passed, N failed" line.
 * Exits non-zero if anything failed. Runs against PostgreSQL too when TEST_DATABASE_URL is set.
 */
import { spawn, spawnSync } from 'node:child_process';
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

/** `run` without blocking this process: resolves to the exit code. */
function runAsync(cmd, args, env = {}) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', () => done(1));
    child.on('close', (code) => done(code ?? 1));
  });
}

/** Runs a command with its output held back; resolves to its exit code and output (stdout and stderr as they came). */
function runQuietly(cmd, args) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('error', (e) => chunks.push(Buffer.from(`${e.message}\n`)));
    child.on('close', (code) => done({ code: code ?? 1, output: Buffer.concat(chunks).toString() }));
  });
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

async function vitest(project, env = {}) {
  const file = join(out, `${project}.json`);
  const code = await runAsync(
    'pnpm',
    [
      'exec',
      'vitest',
      'run',
      '--project',
      project,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${file}`,
    ],
    env,
  );
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

// Typecheck, lint and the build (which size and e2e need) share nothing: they run side by side.
const early = {
  typecheck: wanted('typecheck') && runQuietly('pnpm', ['run', '--silent', 'typecheck']),
  lint: wanted('lint') && runQuietly('pnpm', ['run', '--silent', 'lint']),
  build: (wanted('e2e') || wanted('size')) && runQuietly('pnpm', ['run', '--silent', 'build']),
};
const typecheck = await early.typecheck;
if (typecheck) {
  process.stdout.write(typecheck.output);
  if (typecheck.code !== 0) {
    console.log('\ntypecheck: 0 passed, 1 failed');
    failedRunners++;
  } else console.log('typecheck: clean');
}
const lint = await early.lint;
if (lint) {
  process.stdout.write(lint.output);
  if (lint.code !== 0) {
    console.log('\nlint: 0 passed, 1 failed (pnpm format fixes formatting)');
    failedRunners++;
  } else console.log('lint: clean');
}
const build = await early.build;
if (build) process.stdout.write(build.output);
if (wanted('size')) {
  if (build.code !== 0) {
    console.log('\nsize: 0 passed, 1 failed (the build failed)');
    failedRunners++;
  } else if (run('node', ['scripts/size.mjs']) !== 0) failedRunners++;
}
// The element tests (Chromium) run beside the unit tests, their output held back until the unit
// tests are done: the unit tests wait on PostgreSQL and on servers much of their time.
if (wanted('browser')) ensureChromium();
const browser = wanted('browser') && runQuietly('pnpm', ['exec', 'wtr', '--config', 'web-test-runner.config.mjs']);
if (wanted('unit')) await vitest('unit');
if (browser) {
  const { code, output } = await browser;
  process.stdout.write(output);
  if (code !== 0) failedRunners++;
}
if (wanted('e2e')) {
  ensureChromium();
  if (build.code !== 0) {
    console.log('\ne2e: 0 passed, 1 failed');
    failedRunners++;
  } else await vitest('e2e', { SP_TEST_SERVER: 'dist' }); // the server just built: the process tests start it compiled
}
process.exit(failedRunners ? 1 : 0);
