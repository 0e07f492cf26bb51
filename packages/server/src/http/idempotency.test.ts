import { Hono } from 'hono';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdjustableClock, defaultIds, type ServerContext } from '../context.js';
import { testDatabases } from '../testing/harness.js';
import type { Role } from '@sales-process/core';
import type { Principal } from './auth.js';
import { ApiError, errorResponse } from './errors.js';
import { idempotency, purgeIdempotencyKeys } from './idempotency.js';

for (const kind of testDatabases()) {
  describe(`Idempotency-Key middleware on ${kind.name}`, () => {
    let ctx: ServerContext;
    let app: Hono<{ Variables: { principal: Principal } }>;
    let acted = 0;
    const clock = new AdjustableClock();
    beforeAll(async () => {
      ctx = { database: await kind.open(), clock, ids: defaultIds, logger: pino({ level: 'silent' }) };
      await ctx.database.db.execute("insert into tenants (id) values ('t1') on conflict do nothing" as never);
      app = new Hono<{ Variables: { principal: Principal } }>();
      app.onError((e, c) => errorResponse(c, e instanceof ApiError ? e : new ApiError('INTERNAL')));
      app.use('*', async (c, next) => {
        const roles = (c.req.header('x-roles') ?? '').split(',').filter(Boolean) as Role[];
        c.set('principal', { tenantId: 't1', userId: c.req.header('x-user') ?? 'u1', roles: new Set(roles) });
        await next();
      });
      app.use('*', idempotency(ctx, { waitMs: 150, abandonedAfterMs: 60_000 }));
      app.post('/slow', async (c) => {
        acted++;
        await new Promise((r) => setTimeout(r, 400));
        return c.json({ n: acted }, 201);
      });
      // Answers that depend on the query string, If-Match and the user's roles.
      app.post('/files', (c) => {
        acted++;
        return c.json({ name: c.req.query('name') }, 201);
      });
      app.post('/move', (c) => {
        acted++;
        return c.json({ ifMatch: c.req.header('if-match') ?? null }, 200);
      });
      app.post('/admin-only', (c) => {
        if (!c.get('principal').roles.has('admin')) throw new ApiError('FORBIDDEN');
        acted++;
        return c.json({ made: true }, 201);
      });
      app.post('/fails', () => {
        acted++;
        throw new Error('boom');
      });
    });
    afterAll(() => ctx.database.close());
    const post = (path: string, key: string, body = '{}', headers: Record<string, string> = {}) =>
      app.fetch(
        new Request(`http://x${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key, ...headers },
          body,
        }),
      );
    const reason = async (res: Response) =>
      ((await res.json()) as { error: { details: { reason?: string }[] } }).error.details[0]?.reason;

    it('answers 409 idempotency-key-reused, not the first answer, for the same key with another query string', async () => {
      acted = 0;
      const first = await post('/files?name=first.txt', 'k-query', '"same bytes"');
      expect([first.status, await first.json()]).toEqual([201, { name: 'first.txt' }]);
      const other = await post('/files?name=second.txt', 'k-query', '"same bytes"');
      expect([other.status, await reason(other)]).toEqual([409, 'idempotency-key-reused']);
      const again = await post('/files?name=first.txt', 'k-query', '"same bytes"');
      expect([again.status, await again.json(), again.headers.get('idempotent-replayed')]).toEqual([
        201,
        { name: 'first.txt' },
        'true',
      ]);
      expect(acted).toBe(1);
    });

    it('answers 409 idempotency-key-reused for the same key with another If-Match (or none)', async () => {
      acted = 0;
      expect((await post('/move', 'k-if-match', '{}', { 'if-match': 'W/"0"' })).status).toBe(200);
      const other = await post('/move', 'k-if-match', '{}', { 'if-match': 'W/"7"' });
      expect([other.status, await reason(other)]).toEqual([409, 'idempotency-key-reused']);
      const none = await post('/move', 'k-if-match', '{}');
      expect([none.status, await reason(none)]).toEqual([409, 'idempotency-key-reused']);
      const again = await post('/move', 'k-if-match', '{}', { 'if-match': 'W/"0"' });
      expect([again.status, await again.json(), again.headers.get('idempotent-replayed')]).toEqual([
        200,
        { ifMatch: 'W/"0"' },
        'true',
      ]);
      expect(acted).toBe(1);
    });

    it('does not replay an answer to the same user once their roles changed', async () => {
      acted = 0;
      expect((await post('/admin-only', 'k-roles', '{}', { 'x-roles': 'admin,sales' })).status).toBe(201);
      // Same user, same request, a token that now says analyst: not the stored 201.
      const demoted = await post('/admin-only', 'k-roles', '{}', { 'x-roles': 'analyst' });
      expect([demoted.status, await reason(demoted)]).toEqual([409, 'idempotency-key-reused']);
      // The same roles in another order are the same roles.
      const again = await post('/admin-only', 'k-roles', '{}', { 'x-roles': 'sales,admin' });
      expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
      // Without a key the demoted user gets the route's own answer.
      expect(
        (await app.fetch(new Request('http://x/admin-only', { method: 'POST', headers: { 'x-roles': 'analyst' } })))
          .status,
      ).toBe(403);
      expect(acted).toBe(1);
    });

    it('answers a twin that outlasts its wait 409 in progress, with Retry-After, and acts once', async () => {
      acted = 0;
      const [a, b] = await Promise.all([
        post('/slow', 'k1'),
        new Promise((r) => setTimeout(r, 20)).then(() => post('/slow', 'k1')),
      ]);
      expect(a.status).toBe(201);
      expect(b.status).toBe(409);
      expect(b.headers.get('retry-after')).toBe('1');
      expect(((await b.json()) as { error: { details: { reason: string }[] } }).error.details[0]!.reason).toBe(
        'idempotency-key-in-progress',
      );
      // Once done, the retry gets the answer.
      const c = await post('/slow', 'k1');
      expect([c.status, await c.json(), c.headers.get('idempotent-replayed')]).toEqual([201, { n: 1 }, 'true']);
      expect(acted).toBe(1);
    });

    it('does not keep a 5xx: the retry acts again', async () => {
      acted = 0;
      expect((await post('/fails', 'k2')).status).toBe(500);
      expect((await post('/fails', 'k2')).status).toBe(500);
      expect(acted).toBe(2);
    });

    it('takes over an attempt abandoned by a crash, and forgets answers once expired', async () => {
      acted = 0;
      const now = clock.now();
      await ctx.database.db.execute(
        `insert into idempotency_keys (tenant_id, user_id, method, path, key, fingerprint, created_at, expires_at)
         values ('t1', 'u1', 'POST', '/slow', 'k3', 'x', '${new Date(now.getTime() - 120_000).toISOString()}', '${new Date(now.getTime() + 3600_000).toISOString()}')` as never,
      );
      // Same fingerprint or not, an attempt older than abandonedAfterMs is taken over.
      expect((await post('/slow', 'k3')).status).toBe(201);
      expect(acted).toBe(1);
      clock.advance(25 * 3600_000);
      expect(await purgeIdempotencyKeys(ctx)).toBeGreaterThan(0);
      expect((await post('/slow', 'k3')).headers.get('idempotent-replayed')).toBeNull();
      expect(acted).toBe(2);
    });
  });
}
