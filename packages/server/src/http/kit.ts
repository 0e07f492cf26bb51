import type { Context, Handler } from 'hono';
import { IMMUTABLE, assetFolder, assetName } from './assets.js';
import { notFound } from './errors.js';

/** The kit's one-script entry: short cache (a new release must reach pages within minutes). */
export const KIT_ENTRY = 'sales-process-kit.js';
const SHORT = 'public, max-age=300';
/** A content hash before the extension (`foo-AbC123xy.js`, `chunk-5XQ2LZ7M.js.map`): at least 8 characters with a digit or capital, so `sales-process-kit.js` is no hash. */
const HASHED = /-(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{8,}\.js(\.map)?$/;
/** In `chunks/` every name is `[name]-[hash].js` (vite.kit.config.ts), whatever letters the hash drew. */
const CHUNK = /^chunks\/[^/]*-[A-Za-z0-9_-]{8,}\.js(\.map)?$/;

/**
 * `GET /kit/*`: the built kit (`pnpm build` → `packages/elements/dist/kit`), public code for
 * pages on any origin: `Access-Control-Allow-Origin: *` (module scripts are fetched in CORS
 * mode), `Cross-Origin-Resource-Policy: cross-origin`, a year and `immutable` on
 * content-hashed names, five minutes and an ETag elsewhere; a `.br`/`.gz` beside a file is
 * sent to clients that accept it (assets.ts). Paths stay inside the folder.
 */
export function kitAssets(dir: string | undefined): Handler {
  const respond = assetFolder(dir, {
    cacheControl: (name) => {
      const base = name.slice(name.lastIndexOf('/') + 1);
      return base !== KIT_ENTRY && (HASHED.test(base) || CHUNK.test(name)) ? IMMUTABLE : SHORT;
    },
    headers: { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' },
  });
  return async (c: Context) => {
    const name = assetName(c.req.path, '/kit/');
    const res = name ? await respond(c, name) : undefined;
    if (!res) throw notFound('file');
    return res;
  };
}
