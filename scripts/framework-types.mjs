#!/usr/bin/env node
/**
 * Framework typings from custom-elements.json, into packages/elements/dist/types/:
 * - jsx.d.ts: React 19's `JSX.IntrinsicElements` (module 'react'): attributes (kebab-case),
 *   properties (camelCase, typed from the element classes) and `on<event-name>` listeners,
 *   as React 19 passes them to custom elements;
 * - vue.d.ts: Vue 3's `GlobalComponents`, in the shape Vue documents for custom elements
 *   (`$props` for attributes and properties, `$emit` for `@sp-…` handlers);
 * - svelte.d.ts: `SvelteHTMLElements` of 'svelte/elements' (Svelte 5 `onsp-…`, Svelte 4 `on:sp-…`).
 * Each has an empty .js beside it so that `import '@sales-process/elements/jsx'` also works.
 * Hosts: `import type {} from '@sales-process/elements/jsx'` (or /vue, /svelte) once.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = new URL('../packages/elements/', import.meta.url).pathname;
const outDir = join(pkg, 'dist/types');

export function frameworkTypes() {
  const manifest = JSON.parse(readFileSync(join(pkg, 'custom-elements.json'), 'utf8'));
  const index = readFileSync(join(pkg, 'dist/index.d.ts'), 'utf8');
  const exported = (name) =>
    new RegExp(`\\b${name}\\b`).test(index) ||
    (/export \* from '\.\/shared\/events\.js'/.test(index) && /^Sp\w+Event$/.test(name) && sharedEvent(name));
  const sharedEvents = readFileSync(join(pkg, 'dist/shared/events.d.ts'), 'utf8');
  const sharedEvent = (name) => new RegExp(`export declare class ${name}\\b`).test(sharedEvents);

  const elements = [];
  for (const mod of manifest.modules)
    for (const d of mod.declarations ?? []) {
      if (!d.tagName) continue;
      if (!exported(d.name)) throw new Error(`${d.name} (<${d.tagName}>) is not exported from the package's index`);
      const fields = (d.members ?? []).filter(
        (m) => m.kind === 'field' && !m.static && !m.privacy && !m.readonly && !m.name.startsWith('_'),
      );
      elements.push({
        tag: d.tagName,
        className: d.name,
        description: (d.summary ?? d.description ?? '').replace(/\s+/g, ' ').trim(),
        attributes: (d.attributes ?? [])
          .filter((a) => a.name)
          .map((a) => ({ name: a.name, type: attrType(a.type?.text), description: a.description })),
        properties: fields.map((f) => f.name),
        events: (d.events ?? [])
          .filter((e) => e.name)
          .map((e) => ({
            name: e.name,
            type: e.type?.text && exported(e.type.text) ? e.type.text : 'Event',
            description: e.description,
          })),
      });
    }
  elements.sort((a, b) => a.tag.localeCompare(b.tag));
  const imports = [
    ...new Set(elements.flatMap((e) => [e.className, ...e.events.map((ev) => ev.type)]).filter((n) => n !== 'Event')),
  ].sort();
  const header = (what) =>
    `// Generated from custom-elements.json by scripts/framework-types.mjs: ${what}.\nimport type { ${imports.join(', ')} } from '../index.js';\n`;
  const doc = (text, indent) => (text ? `${indent}/** ${text.replace(/\*\//g, '*\\/')} */\n` : '');
  const attrs = (e, indent) =>
    e.attributes.map((a) => `${doc(a.description, indent)}${indent}${q(a.name)}?: ${a.type};\n`).join('');
  const propsOf = (e) =>
    e.properties.length ? `Partial<Pick<${e.className}, ${e.properties.map((p) => `'${p}'`).join(' | ')}>>` : '{}';

  let jsx = header("React 19 JSX (`import type {} from '@sales-process/elements/jsx'`)");
  jsx += `import type { DetailedHTMLProps, HTMLAttributes } from 'react';\n\n`;
  for (const e of elements) {
    jsx += `/** Props of \`<${e.tag}>\` in React 19 JSX. */\nexport type ${e.className}JSXProps = DetailedHTMLProps<HTMLAttributes<${e.className}>, ${e.className}> &\n  ${propsOf(e)} & {\n`;
    jsx += attrs(e, '    ');
    for (const ev of e.events)
      jsx += `${doc(ev.description, '    ')}    ${q(`on${ev.name}`)}?: (event: ${ev.type}) => void;\n`;
    jsx += `  };\n\n`;
  }
  jsx += `declare module 'react' {\n  namespace JSX {\n    interface IntrinsicElements {\n`;
  for (const e of elements) jsx += `${doc(e.description, '      ')}      '${e.tag}': ${e.className}JSXProps;\n`;
  jsx += `    }\n  }\n}\n`;

  let vue = header("Vue 3 templates (`import type {} from '@sales-process/elements/vue'`)");
  vue += `import type { EmitFn, HTMLAttributes, PublicProps } from 'vue';

/**
 * Vue's documented shape for a custom element in \`GlobalComponents\`: \`$props\` for the template's
 * attributes and properties, \`$emit\` for its events (\`@sp-stage-changed\`), and the element
 * itself for template refs.
 */
export type DefineCustomElement<Element extends HTMLElement, Props, Events extends Record<string, Event> = {}> = new () => Element & {
  /** @deprecated For template type checking only; not on the element. */
  $props: HTMLAttributes & Props & PublicProps;
  /** @deprecated For template type checking only; not on the element. */
  $emit: EmitFn<{ [K in keyof Events]: (event: Events[K]) => void }>;
};

`;
  for (const e of elements) {
    vue += `/** Attributes and properties of \`<${e.tag}>\` in Vue 3 templates. */\nexport type ${e.className}VueProps = ${propsOf(e)} & {\n`;
    vue += attrs(e, '  ');
    vue += `};\n\n/** Events of \`<${e.tag}>\`. */\nexport type ${e.className}VueEvents = {\n`;
    for (const ev of e.events) vue += `${doc(ev.description, '  ')}  '${ev.name}': ${ev.type};\n`;
    vue += `};\n\n`;
  }
  vue += `declare module 'vue' {\n  interface GlobalComponents {\n`;
  for (const e of elements)
    vue += `${doc(e.description, '    ')}    '${e.tag}': DefineCustomElement<${e.className}, ${e.className}VueProps, ${e.className}VueEvents>;\n`;
  vue += `  }\n}\n`;

  let svelte = header("Svelte (`import type {} from '@sales-process/elements/svelte'`)");
  svelte += `import type { HTMLAttributes } from 'svelte/elements';\n\n`;
  for (const e of elements) {
    svelte += `/** Attributes of \`<${e.tag}>\` in Svelte. */\nexport type ${e.className}SvelteProps = HTMLAttributes<${e.className}> & ${propsOf(e)} & {\n`;
    svelte += attrs(e, '  ');
    for (const ev of e.events)
      svelte += `${doc(ev.description, '  ')}  ${q(`on${ev.name}`)}?: (event: ${ev.type}) => void;\n  ${q(`on:${ev.name}`)}?: (event: ${ev.type}) => void;\n`;
    svelte += `};\n\n`;
  }
  svelte += `declare module 'svelte/elements' {\n  interface SvelteHTMLElements {\n`;
  for (const e of elements) svelte += `    '${e.tag}': ${e.className}SvelteProps;\n`;
  svelte += `  }\n}\n`;

  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of Object.entries({ jsx, vue, svelte })) {
    writeFileSync(join(outDir, `${name}.d.ts`), text);
    writeFileSync(join(outDir, `${name}.js`), `// Types only: see ${name}.d.ts.\nexport {};\n`);
  }
  return elements.map((e) => e.tag);
}

/** A manifest type as an attribute's type: simple unions of primitives and literals as they are, else string. */
function attrType(text) {
  if (!text) return 'string';
  const parts = text
    .split('|')
    .map((s) => s.trim())
    .filter((s) => s !== 'undefined' && s !== 'null');
  const simple =
    parts.length > 0 && parts.every((p) => /^(string|number|boolean|'[^']*'|"[^"]*"|-?\d+(\.\d+)?)$/.test(p));
  return simple ? parts.join(' | ') : 'string';
}

function q(name) {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`;
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(`framework types for ${frameworkTypes().length} elements`);
