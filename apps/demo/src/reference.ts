/**
 * The elements' reference, rendered from the package's custom-elements.json (generated from
 * the elements' JSDoc on every build), so it cannot drift from the code.
 */
import manifest from '../../../packages/elements/custom-elements.json';

interface Named {
  name: string;
  description?: string;
  type?: { text: string };
  default?: string;
  fieldName?: string;
  attribute?: string;
  kind?: string;
  privacy?: string;
  static?: boolean;
}
interface Element {
  name: string;
  tagName?: string;
  summary?: string;
  description?: string;
  customElement?: boolean;
  attributes?: Named[];
  members?: Named[];
  events?: Named[];
  slots?: Named[];
  cssParts?: Named[];
  cssProperties?: Named[];
}
interface Module {
  path: string;
  declarations?: Element[];
}

const esc = (s = '') => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const code = (s = '') => `<code>${esc(s)}</code>`;

function table(title: string, rows: Named[], columns: [string, (r: Named) => string][]): string {
  if (!rows.length) return '';
  return `<h3>${title}</h3><table><thead><tr>${columns.map(([h]) => `<th>${h}</th>`).join('')}</tr></thead>
    <tbody>${rows.map((r) => `<tr>${columns.map(([, f]) => `<td>${f(r)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

const elements = (manifest as { modules: Module[] }).modules
  .flatMap((m) => (m.declarations ?? []).map((d) => ({ ...d, path: m.path })))
  .filter((d): d is Element & { path: string; tagName: string } => !!d.customElement && !!d.tagName)
  .sort((a, b) => a.tagName.localeCompare(b.tagName));

document.querySelector('#reference')!.innerHTML = `
  <section class="card"><p>${elements.length} elements. Each takes <code>base-url</code>, <code>token</code> and
  <code>tokenProvider</code>, or inherits them from a <code>&lt;sales-process-provider&gt;</code>.
  Generated from <code>custom-elements.json</code>.</p>
  <ul>${elements.map((e) => `<li><a href="#${e.tagName}">${code(`<${e.tagName}>`)}</a> ${esc(e.summary ?? '')}</li>`).join('')}</ul></section>
  ${elements
    .map((e) => {
      const props = (e.members ?? []).filter(
        (m) => m.kind === 'field' && !m.static && (m.privacy ?? 'public') === 'public',
      );
      return `<section class="card" id="${esc(e.tagName)}">
        <h2>${code(`<${e.tagName}>`)} <span class="muted">${esc(e.name)} · ${esc(e.path)}</span></h2>
        <p>${esc(e.summary ?? '')}</p>${e.description ? `<p>${esc(e.description)}</p>` : ''}
        ${table('Attributes', e.attributes ?? [], [
          ['name', (r) => code(r.name)],
          ['type', (r) => code(r.type?.text)],
          ['default', (r) => code(r.default)],
          ['description', (r) => esc(r.description)],
        ])}
        ${table('Properties', props, [
          ['name', (r) => code(r.name)],
          ['attribute', (r) => code(r.attribute)],
          ['type', (r) => code(r.type?.text)],
          ['description', (r) => esc(r.description)],
        ])}
        ${table('Events', e.events ?? [], [
          ['name', (r) => code(r.name)],
          ['type', (r) => code(r.type?.text)],
          ['description', (r) => esc(r.description)],
        ])}
        ${table('Slots', e.slots ?? [], [
          ['name', (r) => code(r.name || '(default)')],
          ['description', (r) => esc(r.description)],
        ])}
        ${table('CSS parts', e.cssParts ?? [], [
          ['name', (r) => code(`::part(${r.name})`)],
          ['description', (r) => esc(r.description)],
        ])}
        ${table('CSS custom properties', e.cssProperties ?? [], [
          ['name', (r) => code(r.name)],
          ['default', (r) => code(r.default)],
          ['description', (r) => esc(r.description)],
        ])}
      </section>`;
    })
    .join('')}`;
