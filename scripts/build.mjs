#!/usr/bin/env node
/**
 * `pnpm build`: the publishable packages, the one-script kit, the manifest, then the demo.
 *   1. packages/elements/src/version.ts from package.json's version (KIT_VERSION);
 *   2. packages/core/dist and packages/elements/dist: tsc with each tsconfig.build.json (ESM,
 *      one module per source module, .d.ts, source maps, decorators compiled);
 *   3. packages/elements/custom-elements.json (@custom-elements-manifest/analyzer --litelement);
 *   4. packages/elements/dist/types/{jsx,vue,svelte}.d.ts from the manifest;
 *   5. packages/elements/dist/kit: the one-script embed (Vite, vite.kit.config.ts), with a .br
 *      and a .gz beside each file;
 *   6. packages/server/dist/main.js: the server bundled into one ES module with its
 *      dependencies (esbuild; PGlite stays a package of its own, and what is imported
 *      dynamically is in dist/chunks), which `pnpm start` runs;
 *   7. the demo (apps/demo/dist), with a .br and a .gz beside each JS, CSS and HTML file.
 * A whole build (no steps named) ends by writing BUILD_STAMP; `node scripts/start.mjs` builds
 * only when a source is newer than it (scripts/start.mjs).
 * `node scripts/build.mjs [version|core|elements|manifest|types|kit|server|demo]…` runs some
 * steps only; `pnpm build:packages` is every step but the server and the demo.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { frameworkTypes } from './framework-types.mjs';

const root = new URL('..', import.meta.url).pathname;
const elements = join(root, 'packages/elements');
const core = join(root, 'packages/core');
const server = join(root, 'packages/server');
/** Written at the end of a whole build, with the time the build started as its mtime. */
export const BUILD_STAMP = join(root, 'node_modules/.cache/sales-process-build-stamp');
const bin = (dir, name) => join(dir, 'node_modules/.bin', name);

function run(cmd, args, cwd = root) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: 'inherit' });
    child.on('close', (status) => {
      if (status === 0) return resolve();
      console.error(`build: ${[cmd, ...args].join(' ')} failed`);
      process.exit(status ?? 1);
    });
  });
}

/** src/version.ts, written only when the version changed (test/package checks they agree). */
export function writeVersion() {
  const { version } = JSON.parse(readFileSync(join(elements, 'package.json'), 'utf8'));
  const file = join(elements, 'src/version.ts');
  const text = `// Generated from package.json by scripts/build.mjs; test/package/manifest.test.ts checks it.\nexport const KIT_VERSION = '${version}';\n`;
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
}

/** A .br and a .gz beside every file of `dir` (and below) whose name ends with one of `extensions`. */
function precompress(dir, extensions = ['.js']) {
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) precompress(file, extensions);
    else if (extensions.some((ext) => name.endsWith(ext))) {
      const data = readFileSync(file);
      writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
      writeFileSync(
        `${file}.br`,
        brotliCompressSync(data, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
        }),
      );
    }
  }
}

const steps = {
  version: () => writeVersion(),
  core: () => {
    rmSync(join(core, 'dist'), { recursive: true, force: true });
    return run(bin(root, 'tsc'), ['-p', join(core, 'tsconfig.build.json')]);
  },
  elements: () => {
    for (const name of existsSync(join(elements, 'dist')) ? readdirSync(join(elements, 'dist')) : [])
      if (name !== 'kit') rmSync(join(elements, 'dist', name), { recursive: true, force: true });
    return run(bin(root, 'tsc'), ['-p', join(elements, 'tsconfig.build.json')]);
  },
  manifest: () =>
    run(
      bin(elements, 'cem'),
      ['analyze', '--litelement', '--config', 'custom-elements-manifest.config.mjs', '--quiet'],
      elements,
    ),
  types: () => frameworkTypes(),
  kit: async () => {
    await run(bin(root, 'vite'), ['build', '-c', join(elements, 'vite.kit.config.ts')]);
    precompress(join(elements, 'dist/kit'));
  },
  server: async () => {
    rmSync(join(server, 'dist'), { recursive: true, force: true });
    const { build } = await import('esbuild');
    // One file: Node then loads one module instead of ~900 (our own, core's and drizzle's,
    // zod's, hono's…), which is most of a restart's module time and of the module records
    // and sources a running server keeps (docs/performance.md, "Restarting"). What is
    // imported dynamically (drizzle's PGlite driver and migrator) goes in chunks of its own,
    // loaded when used: inlined, their static imports of PGlite would load it at boot.
    const result = await build({
      entryPoints: [join(server, 'src/main.ts')],
      outdir: join(server, 'dist'),
      entryNames: '[name]',
      chunkNames: 'chunks/[name]-[hash]',
      splitting: true,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20.19',
      // PGlite finds its WebAssembly and data files beside its own module; it is loaded only
      // when the server opens PGlite (a server on PostgreSQL never loads it).
      external: ['@electric-sql/pglite'],
      // The CommonJS dependencies bundled in (ws, postgres' helpers, pino's) call require().
      banner: {
        js: "import { createRequire as __spCreateRequire } from 'node:module'; const require = __spCreateRequire(import.meta.url);",
      },
      // Without comments (and so without the Chinese in some): V8 keeps a module's source as
      // long as the module lives, and one character outside Latin-1 makes all of it two bytes
      // a character. Names stay as written, for stack traces; the source map has the lines.
      minifyWhitespace: true,
      minifySyntax: true,
      sourcemap: true,
      logLevel: 'warning',
      metafile: true,
      absWorkingDir: root,
    });
    // Guard the point of the chunks: nothing the server loads at boot imports PGlite.
    const outputs = result.metafile.outputs;
    const atBoot = new Set([join(server, 'dist/main.js')].map((f) => relative(root, f)));
    for (const file of atBoot) {
      if (!outputs[file]) throw new Error(`esbuild's metafile has no ${file}`);
      for (const i of outputs[file].imports) {
        if (i.kind !== 'import-statement') continue;
        if (i.path === '@electric-sql/pglite' || i.path.startsWith('@electric-sql/pglite/'))
          throw new Error(`${file} imports PGlite at boot`);
        if (outputs[i.path]) atBoot.add(i.path);
      }
    }
  },
  demo: async () => {
    await run(bin(root, 'vite'), ['build', 'apps/demo']);
    precompress(join(root, 'apps/demo/dist'), ['.js', '.css', '.html', '.svg']);
  },
};

/** What a whole build reads: the packages and the demo (not their outputs, tests or benchmarks), and the build's own files. */
const INPUT_DIRS = ['packages/core', 'packages/elements', 'packages/server', 'apps/demo'];
const INPUT_FILES = [
  'package.json',
  'pnpm-lock.yaml',
  'tsconfig.base.json',
  'scripts/build.mjs',
  'scripts/framework-types.mjs',
];
const SKIPPED = new Set(['node_modules', 'dist', 'bench', 'custom-elements.json', 'version.ts']);
/** Outputs `pnpm start` needs; a missing one means building. */
const OUTPUTS = [
  'packages/core/dist/index.js',
  'packages/server/dist/main.js',
  'packages/elements/dist/kit/sales-process-kit.js',
  'apps/demo/dist/index.html',
];

function newestInput(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name) || entry.name.startsWith('.') || entry.name.includes('.test.')) continue;
    const file = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestInput(file) : statSync(file).mtimeMs);
  }
  return newest;
}

/**
 * Why a whole build is needed, or null when the last one is up to date: no stamp (a fresh
 * clone), an output missing, or a source or build file changed since that build started.
 */
export function staleReason() {
  if (!existsSync(BUILD_STAMP)) return 'no build yet';
  const missing = OUTPUTS.find((f) => !existsSync(join(root, f)));
  if (missing) return `${missing} is missing`;
  const stamp = statSync(BUILD_STAMP).mtimeMs;
  const newest = Math.max(
    ...INPUT_DIRS.map((d) => newestInput(join(root, d))),
    ...INPUT_FILES.map((f) => (existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : 0)),
  );
  return newest > stamp ? 'sources changed since the last build' : null;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ifStale = process.argv.includes('--if-stale');
  const wanted = process.argv.slice(2).filter((a) => a !== '--if-stale');
  if (ifStale) {
    const reason = staleReason();
    if (!reason) process.exit(0);
    console.log(`build: ${reason}; building`);
  }
  const unknown = wanted.filter((s) => !(s in steps));
  if (unknown.length) {
    console.error(`build: unknown step ${unknown.join(', ')} (steps: ${Object.keys(steps).join(', ')})`);
    process.exit(2);
  }
  // Steps in a row run one after the other; the steps of one row run side by side.
  const rows = [['version'], ['core', 'elements', 'manifest', 'kit', 'server'], ['types'], ['demo']];
  const started = performance.now();
  for (const row of rows)
    await Promise.all(
      row
        .filter((name) => !wanted.length || wanted.includes(name))
        .map(async (name) => {
          const t = performance.now();
          await steps[name]();
          console.log(`build: ${name} ${Math.round(performance.now() - t)} ms`);
        }),
    );
  if (!wanted.length) {
    // The stamp's time is the build's start: a source saved while it ran is newer, so the next start builds.
    const startedAt = new Date(Date.now() - (performance.now() - started));
    mkdirSync(dirname(BUILD_STAMP), { recursive: true });
    writeFileSync(BUILD_STAMP, `${startedAt.toISOString()}\n`);
    utimesSync(BUILD_STAMP, startedAt, startedAt);
  }
  console.log(`build: done in ${Math.round(performance.now() - started)} ms`);
}
