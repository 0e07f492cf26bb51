import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { redactQuery, type AppEnv } from './env.js';
import { SECURITY_HEADERS } from './security-headers.js';

/**
 * Request ids (`x-request-id`, the client's if it sent one), the API's security and cache
 * headers, and one log line per API or live-doc request.
 */
export function requestContext(logger: Logger): MiddlewareHandler<AppEnv> {
  const logRequests = logger.isLevelEnabled('info');
  return async (c, next) => {
    const requestId = c.req.header('x-request-id')?.slice(0, 64) || randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    await next();
    const path = c.req.path;
    const api = path.startsWith('/api/') || path.startsWith('/sync/') || path === '/healthz';
    // On the response's own headers: c.header() after the handler would rebuild the
    // response around a web stream and lose @hono/node-server's direct write.
    try {
      const h = c.res.headers;
      h.set('x-request-id', requestId);
      if (api) {
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) h.set(name, value);
        if (!h.has('cache-control')) h.set('cache-control', 'no-store');
      }
    } catch {
      // a response with immutable headers (none of ours) goes out without them
    }
    if (logRequests && (path.startsWith('/api/') || path.startsWith('/sync/')))
      logger.info(
        {
          requestId,
          method: c.req.method,
          path,
          query: redactQuery(c.req.url) || undefined,
          status: c.res.status,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
  };
}
