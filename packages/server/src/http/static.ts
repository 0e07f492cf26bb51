import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import type { AppEnv } from './env.js';
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
 * Serves a built web app (the demo) at `/`: its files, and its index.html for any other
 * path outside `/api/` (client-side routes). Does nothing without an index.html.
 */
export function serveDemo(app: Hono<AppEnv>, staticDir: string | undefined): void {
  if (!staticDir || !existsSync(join(staticDir, 'index.html'))) return;
  const root = resolve(staticDir);
  const index = readFileSync(join(root, 'index.html'), 'utf8');
  // The demo's pages run only their own code: scripts, styles, data and sockets from this origin.
  app.use('/*', async (c, next) => {
    await next();
    if (c.res.headers.get('content-type')?.startsWith('text/html')) {
      c.res.headers.set('content-security-policy', DEMO_CSP);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    }
  });
  app.use('/*', serveStatic({ root }));
  app.get('*', (c) => (c.req.path.startsWith('/api/') ? c.notFound() : c.html(index)));
}
