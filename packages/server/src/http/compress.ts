/**
 * JSON reads compressed for the clients that accept it, as a CDN would serve them: the API's
 * GET answers of at least one packet (1,400 bytes; below that nothing is saved) in brotli or
 * gzip. Commands are not compressed: their answers are small and on the hot path. The ETag
 * stays as it is: it names the record's revision, which If-Match compares, not the bytes.
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { MiddlewareHandler } from 'hono';
import { acceptedEncodings } from './assets.js';

/** Smaller answers fit in one packet either way. */
export const COMPRESS_MIN_BYTES = 1400;
/** Brotli's default (11) costs milliseconds per answer; 5 is gzip's speed at a better ratio. */
const BROTLI_QUALITY = 5;

export function compressJsonReads(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const res = c.res;
    if (c.req.method !== 'GET' || res.status !== 200 || !res.body) return;
    if (!res.headers.get('content-type')?.startsWith('application/json') || res.headers.has('content-encoding')) return;
    if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(res.headers.get('cache-control') ?? '')) return;
    // Whether or not this one is compressed, a cache must not hand it to a client that asks otherwise.
    const vary = res.headers.get('vary');
    if (!vary) res.headers.set('vary', 'Accept-Encoding');
    else if (vary !== '*' && !/accept-encoding/i.test(vary)) res.headers.set('vary', `${vary}, Accept-Encoding`);
    const accepted = acceptedEncodings(c.req.header('accept-encoding'));
    const encoding = accepted.has('br') ? 'br' : accepted.has('gzip') ? 'gzip' : null;
    if (!encoding) return;
    const body = Buffer.from(await res.arrayBuffer());
    const small = body.length < COMPRESS_MIN_BYTES;
    const out = small
      ? body
      : encoding === 'br'
        ? brotliCompressSync(body, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
              [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
              [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
            },
          })
        : gzipSync(body);
    c.res = new Response(out, res); // Hono keeps the first answer's headers
    c.res.headers.set('content-length', String(out.length));
    if (!small) c.res.headers.set('content-encoding', encoding);
  };
}
