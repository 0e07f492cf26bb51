import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { IMMUTABLE, assetFolder, assetName } from './assets.js';
import type { AppEnv } from './env.js';
import { notFound } from './errors.js';
import { SECURITY_HEADERS } from './security-headers.js';

/**
 * The Content-Security-Policy of the demo's pages (the static app). Styles allow inline
 * attributes (elements set `style=` for widths and colours); everything else is this origin.
 */
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

/**
 * Serves a built web app (the demo) at `/` as a CDN would (assets.ts): Vite's content-hashed
 * files under `assets/` for a year and `immutable`, everything else (the HTML) `no-cache`
 * with an ETag, so a reload revalidates it with one 304; the `.br`/`.gz` the build wrote
 * beside a file by `Accept-Encoding`. Any other path outside `/api/` and `assets/` gets
 * index.html (client-side routes). Does nothing without an index.html.
 */
export function serveDemo(app: Hono<AppEnv>, staticDir: string | undefined): void {
  if (!staticDir || !existsSync(join(staticDir, 'index.html'))) return;
  const respond = assetFolder(staticDir, {
    cacheControl: (name) => (name.startsWith('assets/') ? IMMUTABLE : 'no-cache'),
  });
  // The demo's pages run only their own code: scripts, styles, data and sockets from this origin.
  app.use('/*', async (c, next) => {
    await next();
    if (c.res.headers.get('content-type')?.startsWith('text/html')) {
      c.res.headers.set('content-security-policy', DEMO_CSP);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    }
  });
  app.get('*', async (c) => {
    if (c.req.path.startsWith('/api/')) return c.notFound();
    const name = assetName(c.req.path, '/');
    const file = name ? await respond(c, name) : undefined;
    if (file) return file;
    if (name?.startsWith('assets/')) throw notFound('file');
    return (await respond(c, 'index.html')) ?? c.notFound();
  });
}
