import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { MiddlewareHandler } from 'hono';

/** The largest JSON body, bytes (uploads have their own limit, files/routes.ts). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The API's body limit, 413 past MAX_BODY_BYTES (http/errors.ts renders it). A declared
 * length is checked from the header (Node's parser holds the body to it), so the body is
 * read once, directly, by the route; hono's bodyLimit would first turn every request into a
 * full fetch Request with a web stream. Only chunked bodies go through it. `exempt`
 * requests (uploads) are left to their route.
 */
export function apiBodyLimit(exempt: (method: string, path: string) => boolean): MiddlewareHandler {
  const streamedLimit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new HTTPException(413);
    },
  });
  const jsonLimit: MiddlewareHandler = (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamedLimit(c, next);
    if (!(Number(length) <= MAX_BODY_BYTES)) throw new HTTPException(413);
    return next();
  };
  return (c, next) => (exempt(c.req.method, c.req.path) ? next() : jsonLimit(c, next));
}
