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
 *   6. the demo (apps/demo/dist).
 * `node scripts/build.mjs [version|core|elements|manifest|types|kit|demo]…` runs some steps only;
 * `pnpm build:packages` is every step but the demo.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { frameworkTypes } from './framework-types.mjs';

const root = new URL('..', import.meta.url).pathname;
const elements = join(root, 'packages/elements');
const core = join(root, 'packages/core');
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

/** A .br and a .gz beside every .js of the kit. */
function precompress(dir) {
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) precompress(file);
    else if (name.endsWith('.js')) {
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
  demo: () => run(bin(root, 'vite'), ['build', 'apps/demo']),
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((s) => !(s in steps));
  if (unknown.length) {
    console.error(`build: unknown step ${unknown.join(', ')} (steps: ${Object.keys(steps).join(', ')})`);
    process.exit(2);
  }
  // Steps in a row run one after the other; the steps of one row run side by side.
  const rows = [['version'], ['core', 'elements', 'manifest', 'kit'], ['types'], ['demo']];
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
  console.log(`build: done in ${Math.round(performance.now() - started)} ms`);
}
