#!/usr/bin/env node
/**
 * Gzip size of each element's own code (Lit, Yjs and their protocol packages are shared
 * externals), against its budget; then three figures of the built one-script kit
 * (packages/elements/dist/kit, built first when missing): the loader, a page with only the
 * provider, the stage path and the stage form (the loader plus the chunks those pull in,
 * following static imports), and the whole kit. Prints tables and "size: N passed, N failed".
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { KIT_DIR, KIT_ENTRY, kitFigures } from './kit-size.mjs';

const ENTRIES = {
  'sales-process-designer': ['packages/elements/src/designer/sales-process-designer.ts', 40],
  'stage-feedback-form': ['packages/elements/src/form/stage-feedback-form.ts', 30],
  'opportunity-stage-path': ['packages/elements/src/stage-path/opportunity-stage-path.ts', 30],
  'stage-approval-inbox': ['packages/elements/src/approvals/stage-approval-inbox.ts', 20],
  'sales-notifications': ['packages/elements/src/notifications/sales-notifications.ts', 20],
  'sales-funnel-chart': ['packages/elements/src/funnel/sales-funnel-chart.ts', 30],
  'sales-field-manager': ['packages/elements/src/field-manager/sales-field-manager.ts', 20],
  'opportunity-board': ['packages/elements/src/board/opportunity-board.ts', 20],
};
const EXTERNAL = [
  'lit',
  'lit/*',
  '@lit/*',
  'yjs',
  'y-protocols',
  'y-protocols/*',
  'y-websocket',
  'y-indexeddb',
  'lib0',
  'lib0/*',
];

let passed = 0;
let failed = 0;
console.log('element                       min KB   gzip KB   budget KB');
for (const [name, [entry, budgetKb]] of Object.entries(ENTRIES)) {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    external: EXTERNAL,
    tsconfig: 'packages/elements/tsconfig.json',
    logLevel: 'silent',
  });
  const code = out.outputFiles[0].contents;
  const gz = gzipSync(code, { level: 9 }).length / 1024;
  const ok = gz <= budgetKb;
  ok ? passed++ : failed++;
  console.log(
    `${name.padEnd(28)} ${(code.length / 1024).toFixed(1).padStart(7)} ${gz.toFixed(1).padStart(9)} ${String(budgetKb).padStart(11)}  ${ok ? 'ok' : 'OVER BUDGET'}`,
  );
}

if (!existsSync(join(KIT_DIR, KIT_ENTRY))) {
  console.log('\nbuilding the kit (node scripts/build.mjs version kit)…');
  const r = spawnSync(process.execPath, [new URL('build.mjs', import.meta.url).pathname, 'version', 'kit'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const kit = kitFigures();
/**
 * What a page of each kind downloads, and the whole kit. Issue 17 set the whole kit at 80 KB
 * when it was 66.8 KB; issues 20 and 21 then added the record actions, contact roles, process
 * settings, currencies, the analytics views and the board (≈ 26 KB gzip). Gzipped as ONE file
 * (no per-file overhead) the kit would still be 84.9 KB, so 80 KB cannot hold without removing
 * features: the whole-kit line is now 96 KB (94.4 KB measured after a 3.2 KB cut), and each
 * kind of page has a budget of its own, since no page loads every element. The portal's
 * path + form page keeps issue 17's 45 KB.
 */
const KIT_BUDGETS = [
  ['loader (sales-process-kit.js)', kit.loader, 5],
  ['provider + path + form page', kit.pathForm, 45],
  ['provider + board page', kit.board, 22],
  ['provider + designer + fields', kit.admin, 62],
  ['provider + funnel+inbox+bell', kit.manager, 26],
  ['whole kit', kit.whole, 96],
];
console.log('\none-script kit                files   gzip KB   budget KB   (brotli KB)');
for (const [name, figure, budgetKb] of KIT_BUDGETS) {
  const kb = figure.bytes / 1024;
  const ok = kb <= budgetKb;
  ok ? passed++ : failed++;
  console.log(
    `${name.padEnd(28)} ${String(figure.files.length).padStart(6)} ${kb.toFixed(1).padStart(9)} ${String(budgetKb).padStart(11)}  ${ok ? 'ok' : 'OVER BUDGET'}${' '.repeat(ok ? 10 : 1)}(${(figure.brotli / 1024).toFixed(1)})`,
  );
}
console.log(`\nsize: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
