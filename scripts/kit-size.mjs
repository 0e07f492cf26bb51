/**
 * Gzip figures of the built one-script kit (packages/elements/dist/kit): the loader, pages
 * with given tags (the loader plus each tag's chunk and everything those import statically:
 * the portal's path + form, the board, the admin's designer + field manager, the manager's
 * funnel + inbox + bell), and the whole kit (every .js file). Sizes are gzip level 9 of each file, added up, as a
 * browser fetches them (`brotli`: the same with the .br files the server prefers).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export const KIT_DIR = new URL('../packages/elements/dist/kit', import.meta.url).pathname;
export const KIT_ENTRY = 'sales-process-kit.js';

const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const br = (file) =>
  brotliCompressSync(readFileSync(file), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

/** Static imports of one built module (relative specifiers only), as absolute paths. */
function staticImports(file) {
  const code = readFileSync(file, 'utf8');
  const out = [];
  for (const m of code.matchAll(
    /(?:^|[^\w$.])(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?["'`](\.\.?\/[^"'`]+)["'`]/g,
  ))
    out.push(resolve(dirname(file), m[1]));
  return out;
}

/** The chunk each tag's entry in the loader imports (`"tag":()=>import("./chunks/…")`). */
export function tagChunks(dir = KIT_DIR) {
  const code = readFileSync(join(dir, KIT_ENTRY), 'utf8');
  const map = {};
  for (const m of code.matchAll(
    /["'`]?([a-z][a-z0-9]*-[a-z0-9-]+)["'`]?\s*:\s*\(\)\s*=>\s*import\(\s*["'`](\.\/[^"'`]+)["'`]\s*\)/g,
  ))
    map[m[1]] = resolve(dir, m[2]);
  return map;
}

/** Every file a page with `tags` loads: the loader, and each tag's chunk with its static imports. */
export function pageFiles(tags, dir = KIT_DIR) {
  const chunks = tagChunks(dir);
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const dep of staticImports(file)) visit(dep);
  };
  visit(join(dir, KIT_ENTRY));
  for (const tag of tags) {
    if (!chunks[tag]) throw new Error(`the kit's loader has no chunk for <${tag}>`);
    visit(chunks[tag]);
  }
  return [...seen];
}

export function kitFigures(dir = KIT_DIR) {
  if (!existsSync(join(dir, KIT_ENTRY))) throw new Error(`no kit at ${dir}: run pnpm build`);
  const all = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) all.push(p);
    }
  };
  walk(dir);
  const sum = (files) => files.reduce((n, f) => n + gz(f), 0);
  const sumBr = (files) => files.reduce((n, f) => n + br(f), 0);
  const loaderFiles = pageFiles([], dir);
  const pathFormFiles = pageFiles(['sales-process-provider', 'opportunity-stage-path', 'stage-feedback-form'], dir);
  const page = (tags) => {
    const files = pageFiles(tags, dir);
    return { bytes: sum(files), brotli: sumBr(files), files: files.map((f) => relative(dir, f)) };
  };
  return {
    board: page(['sales-process-provider', 'opportunity-board']),
    admin: page(['sales-process-provider', 'sales-process-designer', 'sales-field-manager']),
    manager: page(['sales-process-provider', 'sales-funnel-chart', 'stage-approval-inbox', 'sales-notifications']),
    tags: Object.keys(tagChunks(dir)),
    loader: { bytes: sum(loaderFiles), brotli: sumBr(loaderFiles), files: loaderFiles.map((f) => relative(dir, f)) },
    pathForm: {
      bytes: sum(pathFormFiles),
      brotli: sumBr(pathFormFiles),
      files: pathFormFiles.map((f) => relative(dir, f)),
    },
    whole: { bytes: sum(all), brotli: sumBr(all), files: all.map((f) => relative(dir, f)) },
  };
}

/** Each .js file of the kit with its gzip and brotli bytes (hash left out of the name), largest first. */
export function fileSizes(dir = KIT_DIR) {
  const { whole } = kitFigures(dir);
  return whole.files
    .map((f) => ({ file: f.replace(/-[\w-]{8}\.js$/, '.js'), gzip: gz(join(dir, f)), brotli: br(join(dir, f)) }))
    .sort((a, b) => b.gzip - a.gzip);
}

// `node scripts/kit-size.mjs`: the three figures as JSON; `--files`: a table of each file.
if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--files')) {
    for (const { file, gzip, brotli } of fileSizes())
      console.log(`${file.padEnd(36)} ${String(gzip).padStart(7)} ${String(brotli).padStart(7)}`);
  } else console.log(JSON.stringify(kitFigures(), null, 2));
}
