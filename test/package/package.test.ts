/**
 * The packages as published: what the tarballs hold, and that they install with plain npm in
 * an empty folder and type-check there with plain strict settings (no decorator flags),
 * through the main entry, the React wrappers and the React 19 / Vue 3 typings.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packKit, ROOT } from './pack.js';

const run = promisify(execFile);
const TAGS = [
  'sales-process-provider',
  'sales-process-designer',
  'opportunity-stage-path',
  'stage-feedback-form',
  'stage-approval-inbox',
  'sales-funnel-chart',
  'sales-notifications',
  'sales-field-manager',
  'opportunity-board',
];

let dir: string;
let tarballs: { core: string; elements: string };
const list = async (tgz: string) =>
  (await run('tar', ['tzf', tgz], { maxBuffer: 16 << 20 })).stdout
    .split('\n')
    .filter(Boolean)
    .map((p) => p.replace(/^package\//, ''));
const packedJson = async (tgz: string) =>
  JSON.parse((await run('tar', ['xzf', tgz, '-O', 'package/package.json'])).stdout) as Record<string, any>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sp-pack-'));
  tarballs = await packKit(join(dir, 'tarballs'));
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the tarballs', () => {
  it('@sales-process/elements holds dist JS, declarations, the manifest and the kit; no sources, tests or fixtures', async () => {
    const files = await list(tarballs.elements);
    expect(files).toContain('custom-elements.json');
    expect(files).toContain('package.json');
    for (const m of [
      'index',
      'react/index',
      'react/opportunity-stage-path',
      'provider/sales-process-provider',
      'stage-path/opportunity-stage-path',
      'form/stage-feedback-form',
      'designer/sales-process-designer',
      'funnel/sales-funnel-chart',
      'approvals/stage-approval-inbox',
      'notifications/sales-notifications',
      'field-manager/sales-field-manager',
      'board/opportunity-board',
    ]) {
      expect(files).toContain(`dist/${m}.js`);
      expect(files).toContain(`dist/${m}.d.ts`);
      expect(files).toContain(`dist/${m}.js.map`);
    }
    for (const t of ['jsx', 'vue', 'svelte']) expect(files).toContain(`dist/types/${t}.d.ts`);
    expect(files).toContain('dist/kit/sales-process-kit.js');
    expect(files).toContain('dist/kit/sales-process-kit.js.br');
    expect(files).toContain('dist/kit/sales-process-kit.js.gz');
    // The stage path and the stage form share one chunk (src/kit/stage-path-form.ts).
    expect(files.filter((f) => /^dist\/kit\/chunks\/stage-path-form-[\w-]{8,}\.js$/.test(f))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /\.test\.|(^|\/)testing\/|fixtures|^src\/|tsconfig|\.config\./.test(f))).toEqual([]);
  });

  it('@sales-process/core holds dist JS and declarations, no sources, tests or testing helpers', async () => {
    const files = await list(tarballs.core);
    for (const m of ['index', 'field-values', 'publishable', 'ydraft']) {
      expect(files).toContain(`dist/${m}.js`);
      expect(files).toContain(`dist/${m}.d.ts`);
    }
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /\.test\.|(^|\/)testing\//.test(f))).toEqual([]);
  });

  it('package.json points at dist, is public, versioned and depends on core by version', async () => {
    const elements = await packedJson(tarballs.elements);
    const core = await packedJson(tarballs.core);
    const own = JSON.parse(readFileSync(join(ROOT, 'packages/elements/package.json'), 'utf8'));
    for (const pkg of [elements, core]) {
      expect(pkg.private).toBeUndefined();
      expect(pkg.license).toBe('MIT');
      expect(pkg.version).toBe(own.version);
      expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
      expect(JSON.stringify(pkg.exports)).not.toContain('./src/');
      expect(JSON.stringify(pkg.dependencies)).not.toContain('workspace:');
    }
    expect(elements.dependencies['@sales-process/core']).toBe(`^${core.version}`);
    expect(elements.customElements).toBe('custom-elements.json');
    expect(elements.sideEffects).toContain('./dist/index.js');
    expect(elements.peerDependenciesMeta.react.optional).toBe(true);
  });
});

describe('an outside project', () => {
  let app: string;
  beforeAll(async () => {
    app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'outside-host', private: true, type: 'module' }));
    await run(
      'npm',
      [
        'install',
        tarballs.core,
        tarballs.elements,
        'react@19.3.1',
        '@types/react@19.3.0',
        '@lit/react@1.0.8',
        'vue@3.5.45',
        'vue-tsc@3.2.4',
        'typescript@5.9.3',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
      ],
      { cwd: app, maxBuffer: 64 << 20, timeout: 280_000 },
    );
  }, 300_000);

  it('imports @sales-process/core in Node', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import * as core from '@sales-process/core'; import { FIELD_TYPES } from '@sales-process/core/field-values'; console.log(typeof core.checkPublishable === 'function' || Object.keys(core).length > 10, FIELD_TYPES.includes('text'))",
      ],
      { cwd: app },
    );
    expect(stdout.trim()).toBe('true true');
  });

  it('type-checks the package, its React wrappers and its React/Vue typings with plain strict settings', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'bundler',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          strict: true,
          noEmit: true,
          jsx: 'react-jsx',
          types: [],
        },
        include: ['*.ts', '*.tsx'],
      }),
    );
    writeFileSync(
      join(app, 'host.ts'),
      `import { OpportunityStagePath, SalesProcessProvider, StageFeedbackForm, SpStageChangedEvent, defineAll } from '@sales-process/elements';
import { define } from '@sales-process/elements/form/stage-feedback-form.js';
import type {} from '@sales-process/elements/vue';
import type { GlobalComponents } from 'vue';
defineAll();
define('my-stage-form');
const path = document.createElement('opportunity-stage-path');
const typed: OpportunityStagePath = path;
typed.opportunityId = 'opp-1';
path.addEventListener('sp-stage-changed', (e) => { const s: string = e.detail.opportunityId; console.log(s, e instanceof SpStageChangedEvent); });
const form = document.querySelector('stage-feedback-form');
const f: StageFeedbackForm | null = form;
const p: SalesProcessProvider = document.createElement('sales-process-provider');
p.token = 'jwt';
type VuePath = GlobalComponents['opportunity-stage-path'];
const vueOk: VuePath | undefined = undefined;
console.log(f, vueOk);
`,
    );
    writeFileSync(
      join(app, 'react-host.tsx'),
      `import type {} from '@sales-process/elements/jsx';
import { OpportunityStagePath, SalesProcessProvider, StageFeedbackForm } from '@sales-process/elements/react';
import { SalesFunnelChart } from '@sales-process/elements/react/sales-funnel-chart.js';
export function Wrapped({ token }: { token: string }) {
  return (
    <SalesProcessProvider baseUrl="https://kit.example" token={token}>
      <OpportunityStagePath opportunityId="opp-1" onSpStageChanged={(e) => console.log(e.detail.status)} onSpError={(e) => console.log(e.detail.code)} />
      <StageFeedbackForm opportunityId="opp-1" name="feedback" />
      <SalesFunnelChart processId="p" measure="count" onSpError={(e) => console.log(e.detail.message)} />
    </SalesProcessProvider>
  );
}
export function Plain() {
  return (
    <sales-process-provider base-url="https://kit.example" token="t">
      <opportunity-stage-path opportunity-id="opp-1" read-only onsp-stage-changed={(e) => console.log(e.detail.stageId)} />
      <sales-funnel-chart process-id="p" measure="amount" />
      {/* @ts-expect-error the funnel measures count or amount */}
      <sales-funnel-chart measure="weight" />
    </sales-process-provider>
  );
}
`,
    );
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    const result = await run(tsc, ['-p', app], { cwd: app }).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${result.stdout}${result.stderr}`).toBe('');
  }, 120_000);
  it('type-checks a Vue 3 template with the tags (vue-tsc)', async () => {
    writeFileSync(
      join(app, 'App.vue'),
      `<script setup lang="ts">
import type {} from '@sales-process/elements/vue';
import type { OpportunityStagePath, SpStageChangedEvent } from '@sales-process/elements';
import { ref } from 'vue';
const path = ref<OpportunityStagePath | null>(null);
function changed(e: SpStageChangedEvent) { console.log(e.detail.status, path.value?.opportunityId); }
</script>
<template>
  <sales-process-provider base-url="https://kit.example" token="t">
    <opportunity-stage-path ref="path" opportunity-id="o1" @sp-stage-changed="changed" @sp-error="(e) => console.log(e.detail.code)" />
    <sales-funnel-chart process-id="p" measure="amount" />
  </sales-process-provider>
</template>
`,
    );
    writeFileSync(
      join(app, 'Wrong.vue'),
      `<script setup lang="ts">
import type {} from '@sales-process/elements/vue';
</script>
<template>
  <opportunity-stage-path opportunity-id="o1" @sp-stage-changed="(e) => e.detail.nope" />
  <sales-funnel-chart measure="weight" />
</template>
`,
    );
    writeFileSync(
      join(app, 'tsconfig.vue.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'bundler',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          strict: true,
          noEmit: true,
          types: [],
        },
        include: ['App.vue', 'Wrong.vue'],
      }),
    );
    const result = await run(join(app, 'node_modules/.bin/vue-tsc'), ['-p', 'tsconfig.vue.json'], { cwd: app }).then(
      () => '',
      (e: { stdout: string; stderr: string }) => `${e.stdout}${e.stderr}`,
    );
    // App.vue is clean; in Wrong.vue a wrong detail field and a wrong attribute value are errors (the typings are in force).
    expect(result).not.toMatch(/App\.vue/);
    expect(result).toMatch(/Wrong\.vue.*Property 'nope' does not exist/);
    expect(result).toMatch(/Wrong\.vue.*"weight"' is not assignable/);
  }, 240_000);
});

describe('custom-elements.json in the tarball', () => {
  it('lists all seven tags', async () => {
    const manifest = JSON.parse(
      (await run('tar', ['xzf', tarballs.elements, '-O', 'package/custom-elements.json'], { maxBuffer: 16 << 20 }))
        .stdout,
    );
    const tags = manifest.modules.flatMap((m: { declarations?: { tagName?: string }[] }) =>
      (m.declarations ?? []).map((d) => d.tagName).filter(Boolean),
    );
    expect(tags.sort()).toEqual([...TAGS].sort());
  });
});
