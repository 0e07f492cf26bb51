import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { Context, Handler } from 'hono';
import { notFound } from './errors.js';
import { NOSNIFF } from './security-headers.js';

/** The kit's one-script entry: short cache (a new release must reach pages within minutes). */
export const KIT_ENTRY = 'sales-process-kit.js';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=300';
/** A content hash before the extension (`foo-AbC123xy.js`, `chunk-5XQ2LZ7M.js.map`): at least 8 characters with a digit or capital, so `sales-process-kit.js` is no hash. */
const HASHED = /-(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{8,}\.js(\.map)?$/;
/** In `chunks/` every name is `[name]-[hash].js` (vite.kit.config.ts), whatever letters the hash drew. */
const CHUNK = /^chunks\/[^/]*-[A-Za-z0-9_-]{8,}\.js(\.map)?$/;
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const ENCODINGS = [
  { name: 'br', suffix: '.br' },
  { name: 'gzip', suffix: '.gz' },
] as const;

interface Loaded {
  mtimeMs: number;
  size: number;
  body: Uint8Array;
  etag: string;
}

/**
 * `GET /kit/*`: the built kit (`pnpm build` → `packages/elements/dist/kit`), public code for
 * pages on any origin: `Access-Control-Allow-Origin: *` (module scripts are fetched in CORS
 * mode), `Cross-Origin-Resource-Policy: cross-origin`, a year and `immutable` on
 * content-hashed names, five minutes and an ETag elsewhere; a `.br`/`.gz` beside a file is
 * sent to clients that accept it. Paths stay inside the folder.
 */
export function kitAssets(dir: string | undefined): Handler {
  const root = dir ? resolve(dir) : undefined;
  const cache = new Map<string, Loaded>();

  async function load(file: string): Promise<Loaded | undefined> {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === info.mtimeMs && hit.size === info.size) return hit;
    const body = new Uint8Array(await readFile(file));
    const loaded = {
      mtimeMs: info.mtimeMs,
      size: info.size,
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
    cache.set(file, loaded);
    return loaded;
  }

  return async (c: Context) => {
    const name = assetName(c.req.path);
    if (!root || !name) throw notFound('file');
    const file = resolve(root, name);
    if (!file.startsWith(root + sep)) throw notFound('file');
    const plain = await load(file);
    if (!plain) throw notFound('file');

    const accepted = acceptedEncodings(c.req.header('accept-encoding'));
    let chosen: { loaded: Loaded; encoding?: string } = { loaded: plain };
    let negotiated = false;
    for (const { name: encoding, suffix } of ENCODINGS) {
      const sibling = await load(file + suffix);
      if (!sibling) continue;
      negotiated = true;
      if (accepted.has(encoding) && chosen.encoding === undefined) chosen = { loaded: sibling, encoding };
    }

    const base = name.slice(name.lastIndexOf('/') + 1);
    const headers: Record<string, string> = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'access-control-allow-origin': '*',
      'cross-origin-resource-policy': 'cross-origin',
      ...NOSNIFF,
      'cache-control': base !== KIT_ENTRY && (HASHED.test(base) || CHUNK.test(name)) ? IMMUTABLE : SHORT,
      // One ETag per representation: a cache must not answer a gzip client with brotli bytes.
      etag: chosen.encoding ? chosen.loaded.etag.replace(/"$/, `-${chosen.encoding}"`) : chosen.loaded.etag,
    };
    if (negotiated) headers.vary = 'Accept-Encoding';
    if (chosen.encoding) headers['content-encoding'] = chosen.encoding;
    if (matches(c.req.header('if-none-match'), headers.etag!)) return c.body(null, 304, headers);
    return c.body(chosen.loaded.body as Uint8Array<ArrayBuffer>, 200, headers);
  };
}

/** The file under /kit/ a path names, or null for anything that is not a plain relative name. */
function assetName(path: string): string | null {
  const raw = path.replace(/^\/kit\//, '');
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (!name || name.includes('\0') || name.includes('\\')) return null;
  const parts = name.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.'))) return null;
  return name;
}

function acceptedEncodings(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (token && !(q && Number(q.slice(2)) === 0)) out.add(token);
  }
  return out;
}

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
