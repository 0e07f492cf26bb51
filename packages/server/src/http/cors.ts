import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/** Request headers a host page may send to the API from another origin. */
export const CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'If-Match',
  'Accept-Language',
  'X-Request-Id',
  'X-File-Name',
];
/** Response headers its script may read. */
export const CORS_EXPOSE_HEADERS = ['ETag', 'X-Request-Id', 'Retry-After', 'Location', 'Content-Disposition'];
const ALLOW_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * `ALLOWED_ORIGINS` entries as browsers send them in `Origin` (`scheme://host[:port]`).
 * No wildcard: the API answers bearer-authenticated data, so each host is named.
 */
export function normalizeOrigins(list: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of list) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry === '*' || entry === 'null')
      throw new Error(`ALLOWED_ORIGINS: "${entry}" is not allowed; name each origin, e.g. https://crm.example.com`);
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`ALLOWED_ORIGINS: "${entry}" is not an origin like https://crm.example.com`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`ALLOWED_ORIGINS: "${entry}" must be http: or https:`);
    out.add(url.origin);
  }
  return [...out];
}

/**
 * CORS for `/api/*` (REST and the SSE streams), by hono/cors: a preflight is answered here,
 * before authentication; an allowed origin is echoed (never `*`, never credentials: tokens
 * travel in `Authorization`); any other origin gets no `Access-Control-Allow-Origin`, so the
 * browser withholds the answer from its page. Requests without `Origin` (servers, same-origin
 * GETs) skip it and keep their response untouched.
 */
export function apiCors(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(allowedOrigins);
  const handler = cors({
    origin: (origin) => origin, // only allowed origins get here (below)
    allowMethods: ALLOW_METHODS,
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: 600,
    credentials: false,
  });
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin === undefined) return next();
    if (allowed.has(origin)) return handler(c, next);
    // Another origin: nothing that grants or advertises anything. A preflight still ends
    // here (never reaches auth), so the browser sees a plain refusal, not a 401.
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method') !== undefined)
      return c.body(null, 204, { vary: 'Origin' });
    return next();
  };
}

/**
 * A websocket upgrade's `Origin`: absent (Node clients), the server's own origin (its host
 * equals `Host`), or an allowed origin. Browsers always send it, and do not apply CORS to
 * websockets, so this check is what keeps other sites' pages off live documents.
 */
export function websocketOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: ReadonlySet<string>,
): boolean {
  if (origin === undefined) return true;
  if (allowedOrigins.has(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
