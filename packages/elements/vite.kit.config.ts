/**
 * The one-script embed, built with Vite (Rolldown): `vite build -c packages/elements/vite.kit.config.ts`
 * (scripts/build.mjs runs it). dist/kit/sales-process-kit.js is the loader (src/kit); each
 * element is a content-hashed chunk it imports on first sight of its tag
 * (chunks/<element>-<hash>.js; the stage path and the stage form share one,
 * chunks/stage-path-form-<hash>.js, see src/kit/stage-path-form.ts); code shared by several
 * elements sits in two shared chunks:
 * `lit` (Lit, the client, shared element code, the provider) and `yjs` (Yjs and the live-doc client), which
 * only the live elements pull in. Imports between them are relative, so the kit works from
 * any URL and origin. scripts/build.mjs writes a .br and a .gz beside each file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { minify, type MinifyOptions } from 'terser';
import { defineConfig, parseSync, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const terserVersion = (createRequire(import.meta.url)('terser/package.json') as { version: string }).version;

/**
 * lib0/dom.js builds three schemas at load time (`$.$custom(…)`), which keeps all of
 * lib0/schema.js (6.6 KB) in every bundle that logs through lib0; marking those calls pure
 * lets the bundler drop what nothing uses.
 */
function pureLib0Schemas(): Plugin {
  return {
    name: 'sales-process-pure-lib0-schemas',
    transform: {
      filter: { id: /lib0[\\/]dom\.js$/ },
      handler(code) {
        return { code: code.replace(/= \$\.\$custom\(/g, '= /* @__PURE__ */ $.$custom('), map: null };
      },
    },
  };
}

/**
 * Browser stand-ins for three lib0 modules, in the kit only (a browser bundle; the npm build
 * keeps lib0 as it is). What they drop is Node and debugging machinery the kit never uses:
 * - `environment`: reads lib0 settings from `process.env`, the page's query string and
 *   localStorage (`?node_env=development` turns on Yjs's deep-freezing dev mode, `--no-color`
 *   etc.). In the kit: not Node, no settings, so Yjs runs as in production.
 * - `logging`: colour formatting for Node and the browser console (with lib0/dom, pair, json,
 *   eventloop). Yjs only prints two warnings through it; they still print, without colours.
 * - `broadcastchannel`: the same subscribe/unsubscribe/publish on `BroadcastChannel`, without
 *   the localStorage fallback for browsers that lack it (every browser the kit supports has it;
 *   live docs disable cross-tab messaging anyway: `disableBc`).
 * Saves ≈ 1.35 KB gzip on every page with a live element.
 */
const LIB0_BROWSER: Record<string, string> = {
  environment: `export const isNode = false;
export const isBrowser = typeof window !== 'undefined' && typeof document !== 'undefined';
export const isMac = typeof navigator !== 'undefined' && /Mac/.test(navigator.platform);
export const hasParam = () => false;
export const getParam = (_name, defaultVal) => defaultVal;
export const getVariable = () => null;
export const getConf = () => null;
export const ensureConf = (name) => { throw new Error('Expected configuration "' + name.toUpperCase().replaceAll('-', '_') + '"'); };
export const hasConf = () => false;
export const production = false;
export const supportsColor = false;`,
  logging: `export const BOLD = Symbol(), UNBOLD = Symbol(), BLUE = Symbol(), GREY = Symbol(), GREEN = Symbol(), RED = Symbol(), PURPLE = Symbol(), ORANGE = Symbol(), UNCOLOR = Symbol();
const plain = (args) => args.filter((a) => typeof a !== 'symbol');
export const print = (...args) => console.log(...plain(args));
export const warn = (...args) => console.warn(...plain(args));
export const printError = (err) => console.error(err);`,
  broadcastchannel: `const channels = new Map();
const channel = (room) => {
  let c = channels.get(room);
  if (!c) {
    const subs = new Set();
    const bc = new BroadcastChannel(room);
    bc.onmessage = (e) => subs.forEach((sub) => sub(e.data, 'broadcastchannel'));
    channels.set(room, (c = { bc, subs }));
  }
  return c;
};
export const subscribe = (room, f) => (channel(room).subs.add(f), f);
export const unsubscribe = (room, f) => {
  const c = channel(room);
  const gone = c.subs.delete(f);
  if (gone && !c.subs.size) {
    c.bc.close();
    channels.delete(room);
  }
  return gone;
};
export const publish = (room, data, origin = null) => {
  const c = channel(room);
  c.bc.postMessage(data);
  c.subs.forEach((sub) => sub(data, origin));
};`,
};

function lib0ForBrowsers(): Plugin {
  return {
    name: 'sales-process-lib0-for-browsers',
    // By resolved file, so lib0's own relative imports (./environment.js) get it too.
    load: {
      filter: { id: /[\\/]lib0[\\/](environment|logging|broadcastchannel)\.js$/ },
      handler(id) {
        const name = /(environment|logging|broadcastchannel)\.js$/.exec(id)![1]!;
        return { code: LIB0_BROWSER[name]!, map: null };
      },
    },
  };
}

/**
 * Yjs's XML types (XmlFragment, XmlElement, XmlHook, XmlText, with their tree walker and
 * events) in the kit: 1.3 KB gzip on every live page, and the kit's docs never hold one (core's
 * live protocol: maps, arrays and text; the server's checkers drop anything else). Yjs keeps
 * them because its decoder must read every type a doc may hold. Here a doc that holds one still
 * decodes and encodes to the same bytes: the type is read as an opaque `YOpaque` that keeps its
 * type reference and name and writes them back, with its content as plain items (as any type's);
 * the kit only has no XML API for it (`Doc#getXmlElement`, `#getXmlFragment` go, nothing of the
 * kit calls them). test/package/kit-yjs.test.ts round-trips a doc with each XML type. Each edit
 * must find its text: a Yjs upgrade that changes it fails the build instead of shipping the types.
 */
export const YJS_OPAQUE_XML: readonly (readonly [string, string])[] = [
  [
    `  getXmlElement (name = '') {
    return /** @type {YXmlElement<{[key:string]:string}>} */ (this.get(name, YXmlElement))
  }`,
    '',
  ],
  [
    `  getXmlFragment (name = '') {
    return this.get(name, YXmlFragment)
  }`,
    '',
  ],
  [
    `const typeRefs = [
  readYArray,
  readYMap,
  readYText,
  readYXmlElement,
  readYXmlFragment,
  readYXmlHook,
  readYXmlText
];`,
    `class YOpaque extends AbstractType { constructor (ref, name) { super(); this._ref = ref; this._name = name } _copy () { return new YOpaque(this._ref, this._name) } _write (encoder) { encoder.writeTypeRef(this._ref); if (this._name !== undefined) encoder.writeKey(this._name) } }
const typeRefs = [
  readYArray,
  readYMap,
  readYText,
  decoder => new YOpaque(3, decoder.readKey()),
  () => new YOpaque(4),
  decoder => new YOpaque(5, decoder.readKey()),
  () => new YOpaque(6)];`,
  ],
];

/**
 * yjs.mjs with `YJS_OPAQUE_XML`'s edits (throws when one does not find its text). Each keeps
 * its text's line count, so Yjs's lines in the source maps stay where they were.
 */
export function opaqueXmlTypes(code: string): string {
  const lines = (text: string) => text.split('\n').length;
  for (const [from, to] of YJS_OPAQUE_XML) {
    const at = code.indexOf(from);
    if (at < 0 || code.indexOf(from, at + 1) >= 0 || lines(to) > lines(from))
      throw new Error(
        `yjs.mjs changed: the kit's opaque XML types need updating (at ${JSON.stringify(from.slice(0, 40))})`,
      );
    code = code.slice(0, at) + to + '\n'.repeat(lines(from) - lines(to)) + code.slice(at + from.length);
  }
  return code;
}

function yjsWithoutXml(): Plugin {
  return {
    name: 'sales-process-yjs-without-xml',
    transform: {
      filter: { id: /[\\/]yjs[\\/]dist[\\/]yjs\.mjs$/ },
      handler(code) {
        return { code: opaqueXmlTypes(code), map: null };
      },
    },
  };
}

/**
 * The path's record actions and the form's contact gates as one lazily loaded chunk
 * (src/kit/path-form-extras.ts says why): their two dynamic imports become imports of that
 * module. Through one entry module the chunk needs no namespace objects (two entries in one
 * chunk would pull Rolldown's runtime helper into a chunk of its own, on the page).
 */
function oneExtrasChunk(): Plugin {
  const imports = /import\((["'])\.\/(record-actions|contact-gates)\.js\1\)/;
  return {
    name: 'sales-process-one-extras-chunk',
    transform: {
      filter: { id: /[\\/]src[\\/](stage-path[\\/]opportunity-stage-path|form[\\/]stage-feedback-form)\.ts$/ },
      handler(code, id) {
        if (!imports.test(code)) throw new Error(`${id}: its lazy import moved (vite.kit.config.ts, oneExtrasChunk)`);
        return { code: code.replace(imports, "import('../kit/path-form-extras.js')"), map: null };
      },
    },
  };
}

/**
 * The minifier leaves template literals alone, so the elements' Lit templates and styles ship
 * with their source indentation. In our own modules, inside `html`, `svg` and `css` tagged
 * templates only: each line's indentation goes (HTML collapses that whitespace anyway; none
 * of our templates has whitespace-sensitive content); `css` becomes one line without comments
 * or the spaces after `:`, `;`, `,` and around `{`, `}`. Every line break stays in its
 * template (in css, gathered where whitespace already was), so line numbers and the source
 * maps still match.
 */
function compactTemplates(): Plugin {
  const walk = (node: unknown, visit: (n: Record<string, any>) => void): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const child of node) walk(child, visit);
      return;
    }
    const n = node as Record<string, any>;
    if (typeof n.type === 'string') visit(n);
    for (const key in n) if (key !== 'parent') walk(n[key], visit);
  };
  const compactHtml = (raw: string) => raw.replace(/\n[ \t]+/g, '\n');
  const compactCss = (raw: string) => {
    const out = raw
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\s+/g, ' ')
      .replace(/([:;,{}]) /g, '$1')
      .replace(/ ?([{}]) ?| (?=!important)/g, '$1')
      .replace(/;}/g, '}');
    // The line breaks it took out go where whitespace was already (the end or the start).
    const breaks = '\n'.repeat(raw.split('\n').length - out.split('\n').length);
    if (/\n\s*$/.test(raw)) return out.trimEnd() + breaks;
    if (/^\s*\n/.test(raw)) return breaks + out.trimStart();
    return compactHtml(raw);
  };
  return {
    name: 'sales-process-compact-templates',
    transform: {
      filter: { id: /[\\/]packages[\\/]elements[\\/]src[\\/].*\.ts$/ },
      handler(code, id) {
        const edits: [number, number, string][] = [];
        walk(parseSync(id, code).program, (n) => {
          if (n.type !== 'TaggedTemplateExpression' || n.tag.type !== 'Identifier') return;
          const compact =
            n.tag.name === 'css' ? compactCss : n.tag.name === 'html' || n.tag.name === 'svg' ? compactHtml : null;
          if (!compact) return;
          for (const q of n.quasi.quasis) {
            const start = q.start + 1; // after the backtick or the `}` of `${…}`
            const raw = q.value.raw as string;
            const out = compact(raw);
            if (out !== raw) edits.push([start, start + raw.length, out]);
          }
        });
        if (!edits.length) return null;
        let out = code;
        for (const [start, end, text] of edits.sort((a, b) => b[0] - a[0]))
          out = out.slice(0, start) + text + out.slice(end);
        return { code: out, map: null };
      },
    },
  };
}

/**
 * Terser (compress passes: 2) over each chunk before Rolldown's own minifier (Oxc) runs: the
 * two together find what either alone leaves (0.6 KB gzip less on the path + form page, 1.4 KB
 * on the whole kit). In renderChunk, so chunk hashes and source maps cover the final code.
 * Terser takes seconds for the Yjs chunk, so results are cached by chunk content in
 * node_modules/.cache/sales-process-kit: a rebuild pays only for the chunks that changed.
 */
function terserFirst(): Plugin {
  const TERSER: MinifyOptions = {
    module: true,
    ecma: 2020,
    compress: { passes: 2 },
    mangle: true,
    format: { comments: false },
  };
  const cacheDir = join(here, 'node_modules/.cache/sales-process-kit');
  return {
    name: 'sales-process-terser-first',
    async renderChunk(code, chunk) {
      const key = createHash('sha256')
        .update(JSON.stringify([terserVersion, TERSER, chunk.fileName, code]))
        .digest('hex')
        .slice(0, 32);
      const file = join(cacheDir, `${key}.json`);
      if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { code: string; map: string };
      const out = await minify(code, { ...TERSER, sourceMap: { asObject: false } });
      const result = { code: out.code!, map: out.map as string };
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(file, JSON.stringify(result));
      return result;
    },
  };
}

/** KIT_REPORT=1: each chunk's modules by rendered size (to see what a chunk costs). */
function report(): Plugin {
  return {
    name: 'sales-process-kit-report',
    generateBundle(_, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const rows = Object.entries(chunk.modules).map(
          ([id, m]) => [id.replace(/.*node_modules\//, '').replace(here, ''), m.renderedLength] as const,
        );
        console.log(`\n${chunk.fileName}`);
        for (const [id, n] of rows.sort((a, b) => b[1] - a[1]))
          if (n > 0) console.log(`  ${String(n).padStart(7)} ${id}`);
      }
    },
  };
}

// Core's wire contract (doc names, roots, message types) goes with the live client, its main user.
const YJS =
  /[\\/]node_modules[\\/](yjs|lib0|y-protocols)[\\/]|[\\/]src[\\/](client[\\/](live-doc|live-socket|doc-store)|shared[\\/]live-controller|live-protocol)\.ts$/;

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  publicDir: false,
  plugins: [
    pureLib0Schemas(),
    lib0ForBrowsers(),
    yjsWithoutXml(),
    oneExtrasChunk(),
    compactTemplates(),
    terserFirst(),
    ...(process.env.KIT_REPORT ? [report()] : []),
  ],
  build: {
    outDir: 'dist/kit',
    emptyOutDir: true,
    target: 'es2022',
    minify: true,
    sourcemap: true,
    modulePreload: false,
    reportCompressedSize: false,
    // Library mode: no module-preload helper in the loader; the kit is minified all the same.
    lib: { entry: { 'sales-process-kit': 'src/kit/sales-process-kit.ts' }, formats: ['es'] },
    rolldownOptions: {
      // The loader's exports stay (loadElement, discover); chunk groups may add to them.
      preserveEntrySignatures: 'allow-extension',
      output: {
        format: 'es',
        minify: true,
        // The minified code keeps no /* @__PURE__ */ marks (0.2 KB gzip on the path + form page):
        // nothing bundles it again. Legal comments stay.
        comments: { legal: true, annotation: false, jsdoc: false },
        entryFileNames: '[name].js',
        chunkFileNames: 'chunks/[name]-[hash].js',
        codeSplitting: {
          // A group takes only the modules it names (not their imports): the API client stays
          // in `lit`, so elements without live docs never load Yjs. The server-sent event
          // client is in neither: a connection imports it when a stream is first opened
          // (the bell, the inbox, the funnel), so other pages never load it.
          // Core's value checks (field-values) go with their only user in the kit, the stage form.
          // The provider (0.6 KB) sits in `lit` too: nearly every page has one, and in the
          // shared chunk it costs 0.3 KB less than as a chunk of its own.
          // The load task (shared/task.ts) and the stream controller are a group of their own
          // (`task`): only the elements that load through a Task or listen to a stream (the
          // designer, field manager, inbox, funnel, bell) use them; the stage path and form pages
          // never load it.
          includeDependenciesRecursively: false,
          groups: [
            {
              name: 'task',
              test: /[\\/]src[\\/]shared[\\/](task|stream-controller)\.ts$/,
              priority: 3,
            },
            { name: 'yjs', test: YJS, priority: 2 },
            {
              name: 'lit',
              test: /[\\/]node_modules[\\/]|[\\/]src[\\/](provider[\\/]|shared[\\/]|client[\\/](?!event-stream\.)|version\.ts$)|@oxc-project\+runtime/,
              priority: 1,
            },
          ],
        },
      },
    },
  },
});
