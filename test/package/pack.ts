/**
 * Packs @sales-process/core and @sales-process/elements as they would be published
 * (`pnpm pack`: publishConfig's exports, workspace:^ turned into a version), building the
 * packages first when their dist is missing. Reused by the embedding tests to install the
 * tarballs into scratch React and Vue hosts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = new URL('../../', import.meta.url).pathname;

/** What `pnpm build:packages` writes; a missing one means the packages need building. */
const BUILT = [
  'packages/core/dist/index.js',
  'packages/elements/dist/index.js',
  'packages/elements/dist/index.d.ts',
  'packages/elements/dist/react/index.js',
  'packages/elements/dist/types/jsx.d.ts',
  'packages/elements/dist/kit/sales-process-kit.js',
  'packages/elements/custom-elements.json',
];

/** Builds core, elements, the manifest, the typings and the kit unless all are there. */
export async function ensureBuilt(options: { force?: boolean } = {}): Promise<void> {
  if (!options.force && BUILT.every((f) => existsSync(join(ROOT, f)))) return;
  await run(
    process.execPath,
    [join(ROOT, 'scripts/build.mjs'), 'version', 'core', 'elements', 'manifest', 'types', 'kit'],
    { cwd: ROOT, maxBuffer: 64 << 20 },
  );
}

async function pack(pkgDir: string, outDir: string): Promise<string> {
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', outDir], {
    cwd: join(ROOT, pkgDir),
    maxBuffer: 64 << 20,
  });
  const tarball = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((line) => line.trim().endsWith('.tgz'))
    ?.trim();
  if (!tarball || !existsSync(tarball)) throw new Error(`pnpm pack in ${pkgDir} printed no tarball:\n${stdout}`);
  return tarball;
}

/** Builds if needed, packs core and elements into `outDir`, and returns the tarballs' paths. */
export async function packKit(outDir: string): Promise<{ core: string; elements: string }> {
  await ensureBuilt();
  mkdirSync(outDir, { recursive: true });
  const core = await pack('packages/core', outDir);
  const elements = await pack('packages/elements', outDir);
  return { core, elements };
}
