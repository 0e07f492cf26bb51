import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { Context } from 'hono';
import { NOSNIFF } from './security-headers.js';

/** Content-hashed names: cached for a year, never revalidated. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
/** Tried in this order: brotli first when the client takes both. */
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

export interface AssetPolicy {
  /** The Cache-Control of a file, by its name relative to the folder (`assets/main-AbC123xy.js`). */
  cacheControl(name: string): string;
  /** Headers every answer carries besides type, caching, ETag and encoding. */
  headers?: Record<string, string>;
}

/**
 * A folder of built files, answered the way a CDN would: the `.br` or `.gz` built beside a
 * file to clients that accept it (`Vary: Accept-Encoding` whenever one exists), an ETag per
 * representation and 304 on `If-None-Match`, Cache-Control by the policy. Files are read once
 * and kept while their mtime and size stay the same. Names stay inside the folder.
 */
export function assetFolder(dir: string | undefined, policy: AssetPolicy) {
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

  /** The answer for `name` (a relative name from `assetName`), or undefined when there is no such file. */
  return async function respond(c: Context, name: string): Promise<Response | undefined> {
    if (!root) return undefined;
    const file = resolve(root, name);
    if (!file.startsWith(root + sep)) return undefined;
    const plain = await load(file);
    if (!plain) return undefined;

    const accepted = acceptedEncodings(c.req.header('accept-encoding'));
    let chosen: { loaded: Loaded; encoding?: string } = { loaded: plain };
    let negotiated = false;
    for (const { name: encoding, suffix } of ENCODINGS) {
      const sibling = await load(file + suffix);
      if (!sibling) continue;
      negotiated = true;
      if (accepted.has(encoding) && chosen.encoding === undefined) chosen = { loaded: sibling, encoding };
    }

    const headers: Record<string, string> = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      ...policy.headers,
      ...NOSNIFF,
      'cache-control': policy.cacheControl(name),
      // One ETag per representation: a cache must not answer a gzip client with brotli bytes.
      etag: chosen.encoding ? chosen.loaded.etag.replace(/"$/, `-${chosen.encoding}"`) : chosen.loaded.etag,
    };
    if (negotiated) headers.vary = 'Accept-Encoding';
    if (chosen.encoding) headers['content-encoding'] = chosen.encoding;
    if (matches(c.req.header('if-none-match'), headers.etag!)) return c.body(null, 304, headers);
    return c.body(chosen.loaded.body as Uint8Array<ArrayBuffer>, 200, headers);
  };
}

/** The file a path names under `prefix`, or null for anything that is not a plain relative name. */
export function assetName(path: string, prefix: string): string | null {
  if (!path.startsWith(prefix)) return null;
  let name: string;
  try {
    name = decodeURIComponent(path.slice(prefix.length));
  } catch {
    return null;
  }
  if (!name || name.includes('\0') || name.includes('\\')) return null;
  const parts = name.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.'))) return null;
  return name;
}

/** The content codings a client accepts (`q=0` ones left out). */
export function acceptedEncodings(header: string | undefined): Set<string> {
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
