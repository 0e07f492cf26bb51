import { createHash } from 'node:crypto';
import { and, eq, lte, or, isNull, sql } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import type { ServerContext } from '../context.js';
import { idempotencyKeys } from '../db/schema.js';
import type { Principal } from './auth.js';
import { ApiError } from './errors.js';

export interface IdempotencyOptions {
  /** How long an answer is kept and replayed (default 24 h). */
  ttlMs?: number;
  /** How long a twin waits for the first request's answer before 409 (default 5 s). */
  waitMs?: number;
  /** A key still "in progress" after this long was abandoned (a crash): taken over (default 2 min). */
  abandonedAfterMs?: number;
  /** Largest body read to fingerprint a request (default 11 MiB: uploads). */
  maxBodyBytes?: number;
}

const KEY = /^[\x21-\x7e]{1,255}$/;
/**
 * Answers that say "try again" are not kept: a retry with the same key acts again. Neither
 * are refusals of the request's shape (400, 413, 415): nothing acted, and the client may
 * correct the request and send it again under the same key.
 */
const kept = (status: number) =>
  status < 500 && status !== 409 && status !== 429 && status !== 400 && status !== 413 && status !== 415;
const REPLAYED_HEADERS = ['content-type', 'etag', 'location'];

/**
 * `Idempotency-Key` on POST: the same key from the same user (tenant, user, method, path)
 * within the TTL answers the first answer (status and body) again without acting. The row is
 * inserted before the request acts, so of two concurrent twins exactly one acts; the other
 * waits for its answer (409 CONFLICT `idempotency-key-in-progress` with `Retry-After` if
 * it takes too long). The same key on another request (`requestFingerprint`: another query
 * string, If-Match or body, or the user now holding other roles) is 409 CONFLICT
 * `idempotency-key-reused`. Answers 400, 409, 413, 415, 429 and 5xx are not kept.
 * Expired rows are deleted by `purgeIdempotencyKeys` (the scheduler).
 */
export function idempotency(
  ctx: ServerContext,
  options: IdempotencyOptions = {},
): MiddlewareHandler<{ Variables: { principal: Principal } }> {
  const ttlMs = options.ttlMs ?? 86_400_000;
  const waitMs = options.waitMs ?? 5000;
  const abandonedAfterMs = options.abandonedAfterMs ?? 120_000;
  const maxBodyBytes = options.maxBodyBytes ?? 11 * 1024 * 1024;
  return async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const key = c.req.header('idempotency-key');
    if (key === undefined) return next();
    if (!KEY.test(key))
      throw new ApiError('VALIDATION_FAILED', [
        {
          path: 'header.Idempotency-Key',
          message: {
            zh: 'Idempotency-Key 须为 1–255 个可见 ASCII 字符',
            en: 'Idempotency-Key must be 1–255 visible ASCII characters',
          },
        },
      ]);
    const p = c.get('principal');
    if (!p) return next(); // a route without a user (signed links) has no one to scope a key to
    // Read the body once, bounded, and hand the route a request that carries it.
    const raw = c.req.raw;
    const body = await readBounded(raw, maxBodyBytes);
    const headers = new Headers(raw.headers);
    headers.delete('transfer-encoding');
    headers.set('content-length', String(body.byteLength));
    c.req.raw = new Request(raw.url, {
      method: raw.method,
      headers,
      body: body.byteLength ? (body as Uint8Array<ArrayBuffer>) : undefined,
      signal: raw.signal,
    });
    const fingerprint = requestFingerprint(c.req.raw, p, body);
    const id = { tenantId: p.tenantId, userId: p.userId, method: 'POST', path: c.req.path, key };
    const where = and(
      eq(idempotencyKeys.tenantId, id.tenantId),
      eq(idempotencyKeys.userId, id.userId),
      eq(idempotencyKeys.method, id.method),
      eq(idempotencyKeys.path, id.path),
      eq(idempotencyKeys.key, id.key),
    );
    const { db } = ctx.database;
    const started = Date.now();
    for (;;) {
      const now = ctx.clock.now();
      // Insert first: the unique key decides which of two twins acts. An expired answer
      // or an abandoned attempt is taken over.
      const claimed = await db
        .insert(idempotencyKeys)
        .values({ ...id, fingerprint, createdAt: now, expiresAt: new Date(now.getTime() + ttlMs) })
        .onConflictDoUpdate({
          target: [
            idempotencyKeys.tenantId,
            idempotencyKeys.userId,
            idempotencyKeys.method,
            idempotencyKeys.path,
            idempotencyKeys.key,
          ],
          set: {
            fingerprint,
            status: null,
            headers: null,
            body: null,
            createdAt: now,
            expiresAt: new Date(now.getTime() + ttlMs),
          },
          setWhere: or(
            lte(idempotencyKeys.expiresAt, now),
            and(
              isNull(idempotencyKeys.status),
              lte(idempotencyKeys.createdAt, new Date(now.getTime() - abandonedAfterMs)),
            ),
          ),
        })
        .returning({ createdAt: idempotencyKeys.createdAt });
      if (claimed.length) {
        const mine = and(where, eq(idempotencyKeys.createdAt, claimed[0]!.createdAt), isNull(idempotencyKeys.status));
        try {
          await next();
        } catch (error) {
          await db
            .delete(idempotencyKeys)
            .where(mine)
            .catch(() => {});
          throw error;
        }
        const res = c.res;
        if (!kept(res.status)) {
          await db.delete(idempotencyKeys).where(mine);
          return;
        }
        const stored: Record<string, string> = {};
        for (const h of REPLAYED_HEADERS) {
          const v = res.headers.get(h);
          if (v !== null) stored[h] = v;
        }
        const text = await res.clone().text();
        await db.update(idempotencyKeys).set({ status: res.status, headers: stored, body: text }).where(mine);
        return;
      }
      const [row] = await db.select().from(idempotencyKeys).where(where);
      if (!row) continue; // the first one's answer was not kept: act now
      if (row.fingerprint !== fingerprint)
        throw new ApiError('CONFLICT', [
          {
            reason: 'idempotency-key-reused',
            message: {
              zh: '同一 Idempotency-Key 已用于另一个请求',
              en: 'This Idempotency-Key was used for a different request',
            },
          },
        ]);
      if (row.status !== null) {
        const out = new Headers(row.headers ?? {});
        out.set('idempotent-replayed', 'true');
        return c.newResponse(
          row.status === 204 || row.body === '' ? null : row.body,
          row.status as 200,
          Object.fromEntries(out),
        );
      }
      if (Date.now() - started >= waitMs) {
        c.header('retry-after', '1');
        throw new ApiError('CONFLICT', [
          {
            reason: 'idempotency-key-in-progress',
            message: {
              zh: '同一 Idempotency-Key 的请求仍在处理中',
              en: 'A request with this Idempotency-Key is still in progress',
            },
          },
        ]);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
}

/**
 * What a replay must match besides its scope (tenant, user, method, path, key): everything
 * else the answer depends on. The query string (`POST /files?name=…`), If-Match (the state
 * the command expects), the content type and the body (hashed), and the user's roles, so a
 * user whose token lost the role that allowed the first request gets no replay of its answer.
 */
export function requestFingerprint(req: Request, principal: Principal, body: Uint8Array): string {
  const url = new URL(req.url);
  const parts = [
    req.method,
    url.pathname,
    url.search,
    req.headers.get('if-match') ?? '',
    req.headers.get('content-type') ?? '',
    [...principal.roles].sort().join(','),
  ];
  // JSON keeps the parts apart (no value can pass for two); the body follows a separator.
  return createHash('sha256').update(JSON.stringify(parts)).update('\n').update(body).digest('hex');
}

/** Deletes expired answers; returns how many. */
export async function purgeIdempotencyKeys(ctx: ServerContext): Promise<number> {
  const deleted = await ctx.database.db
    .delete(idempotencyKeys)
    .where(lte(idempotencyKeys.expiresAt, ctx.clock.now()))
    .returning({ k: sql`1` });
  return deleted.length;
}

async function readBounded(req: Request, max: number): Promise<Uint8Array<ArrayBuffer>> {
  if (!req.body) return new Uint8Array(0);
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > max) throw payloadTooLarge(max);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge(max);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    out.set(ch, at);
    at += ch.byteLength;
  }
  return out;
}

const payloadTooLarge = (limit: number) =>
  new ApiError('PAYLOAD_TOO_LARGE', [{ limit, message: { zh: '请求体过大', en: 'The body is too large' } }]);
