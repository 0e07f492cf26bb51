#!/usr/bin/env node
/**
 * Gzip size of each element's own code (Lit, Yjs and their protocol packages are shared
 * externals), against its budget. Prints a table and "size: N passed, N failed".
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ENTRIES = {
  'sales-process-designer': ['packages/elements/src/designer/sales-process-designer.ts', 40],
  'stage-feedback-form': ['packages/elements/src/form/stage-feedback-form.ts', 30],
  'opportunity-stage-path': ['packages/elements/src/stage-path/opportunity-stage-path.ts', 30],
  'stage-approval-inbox': ['packages/elements/src/approvals/stage-approval-inbox.ts', 20],
  'sales-notifications': ['packages/elements/src/notifications/sales-notifications.ts', 20],
  'sales-funnel-chart': ['packages/elements/src/funnel/sales-funnel-chart.ts', 30],
};
const EXTERNAL = ['lit', 'lit/*', '@lit/*', 'yjs', 'y-protocols', 'y-protocols/*', 'y-websocket', 'y-indexeddb', 'lib0', 'lib0/*'];

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
  console.log(`${name.padEnd(28)} ${(code.length / 1024).toFixed(1).padStart(7)} ${gz.toFixed(1).padStart(9)} ${String(budgetKb).padStart(11)}  ${ok ? 'ok' : 'OVER BUDGET'}`);
}
console.log(`\nsize: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
