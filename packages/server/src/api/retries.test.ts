import { processDefinitionSchema } from '@sales-process/core';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/open.js';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

/** Three pre-sale stages with no gates at all: nothing but the caller's expectation stops a second move. */
const gateless = processDefinitionSchema.parse({
  presale: [
    { id: 'a', name: 'A', winRate: 10 },
    { id: 'b', name: 'B', winRate: 50 },
    { id: 'c', name: 'C', winRate: 80 },
  ],
});

for (const kind of testDatabases()) {
  describe(`safe retries on ${kind.name}`, () => {
    let t: TestServer;
    let processId: string;
    let customerId: string;
    /** A raw request with headers of our choosing. */
    const send = async (
      user: string,
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
      roles = ['sales'],
    ) => {
      const h: Record<string, string> = { authorization: `Bearer ${await t.token(user, roles)}`, ...headers };
      if (body !== undefined) h['content-type'] = 'application/json';
      const res = await t.server.fetch(
        new Request(`http://test/api/v1${path}`, {
          method,
          headers: h,
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
    };
    const newOpp = async (name: string) =>
      (await t.as('rep').post('/opportunities', { name, customerId, amount: 1000, processId })).body.id as string;
    const stageOf = async (id: string) => (await t.as('rep').get(`/opportunities/${id}`)).body.stageId as string;

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      const admin = t.as('admin', ['admin']);
      await admin.post('/directory/sync', {
        departments: [{ id: 'hq', name: 'HQ' }],
        users: [
          { id: 'admin', name: 'Admin', departmentId: 'hq' },
          { id: 'rep', name: 'Rep', departmentId: 'hq', managerId: 'admin' },
          { id: 'rep2', name: 'Rep 2', departmentId: 'hq', managerId: 'admin' },
        ],
      });
      processId = (await admin.post('/processes', { name: 'No gates', departments: [], definition: gateless })).body.id;
      customerId = (await t.as('rep').post('/customers', { name: 'ACME', fields: {} })).body.id;
    });
    afterAll(() => t.close());

    it('moves exactly one stage for two concurrent complete-stage calls that saw the same stage', async () => {
      const id = await newOpp('double click');
      const [x, y] = await Promise.all([
        send('rep', 'POST', `/opportunities/${id}/complete-stage`, { expectedStageId: 'a' }),
        send('rep', 'POST', `/opportunities/${id}/complete-stage`, { expectedStageId: 'a' }),
      ]);
      expect([x.status, y.status].sort()).toEqual([200, 409]);
      const refused = x.status === 409 ? x : y;
      expect(refused.body.error.code).toBe('STALE_STATE');
      expect(refused.body.error.details[0]).toMatchObject({ stageId: 'b', status: 'open' });
      expect(await stageOf(id)).toBe('b');
    });

    it('lets one of 20 concurrent retries move, the rest 409 STALE_STATE', async () => {
      const id = await newOpp('retries');
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          send('rep', 'POST', `/opportunities/${id}/complete-stage`, { expectedStageId: 'a' }),
        ),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409 && r.body.error.code === 'STALE_STATE')).toHaveLength(19);
      expect(await stageOf(id)).toBe('b');
    });

    it('reads again before answering STALE_STATE on what this instance knew', async () => {
      const id = await newOpp('moved elsewhere');
      expect(await stageOf(id)).toBe('a'); // this instance now knows it in A
      // Another instance moves it to B (the database bumps rev).
      await t.database.db.execute(
        sql`update opportunities set stage_id = 'b', stage_entry = stage_entry + 1 where id = ${id}`,
      );
      const r = await send('rep', 'POST', `/opportunities/${id}/complete-stage`, { expectedStageId: 'b' });
      expect(r.status).toBe(200);
      expect(r.body.stageId).toBe('c');
      // Known in C, back in A elsewhere: a caller who saw A moves it.
      await t.database.db.execute(
        sql`update opportunities set stage_id = 'a', stage_entry = stage_entry + 1 where id = ${id}`,
      );
      expect((await send('rep', 'POST', `/opportunities/${id}/complete-stage`, { expectedStageId: 'a' })).status).toBe(
        200,
      );
      // Known in B (its own move), in C elsewhere: a caller who saw B matches what this
      // instance knew, but the compare-and-set fails and the fresh read says C.
      await t.database.db.execute(
        sql`update opportunities set stage_id = 'c', stage_entry = stage_entry + 1 where id = ${id}`,
      );
      const stale = await send('rep', 'POST', `/opportunities/${id}/move-back`, { stageId: 'a', expectedStageId: 'b' });
      expect(stale.status).toBe(409);
      expect(stale.body.error.details[0].stageId).toBe('c');
    });

    it('returns an ETag and takes it as If-Match', async () => {
      const id = await newOpp('etag');
      const got = await send('rep', 'GET', `/opportunities/${id}`);
      const etag = got.headers.get('etag')!;
      expect(etag).toMatch(/^W\/"\d+"$/);
      const moved = await send('rep', 'POST', `/opportunities/${id}/complete-stage`, {}, { 'if-match': etag });
      expect(moved.status).toBe(200);
      expect(moved.headers.get('etag')).not.toBe(etag);
      const again = await send('rep', 'POST', `/opportunities/${id}/complete-stage`, {}, { 'if-match': etag });
      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'STALE_STATE', details: [{ stageId: 'b', status: 'open' }] });
      // The strong form of the same tag, a list and * are understood too.
      const now = (await send('rep', 'GET', `/opportunities/${id}`)).headers.get('etag')!;
      expect(
        (await send('rep', 'POST', `/opportunities/${id}/complete-stage`, {}, { 'if-match': `"0", ${now.slice(2)}` }))
          .status,
      ).toBe(200);
      expect(
        (await send('rep', 'POST', `/opportunities/${id}/move-back`, { stageId: 'a' }, { 'if-match': '*' })).status,
      ).toBe(200);
      expect((await send('rep', 'POST', `/opportunities/${id}/win`, {}, { 'if-match': 'nonsense' })).status).toBe(409);
    });

    it('checks the expectation of orders, post-sale staff, stage forms, change-process, win, lose and invalidate', async () => {
      const id = await newOpp('others');
      const stale = { expectedStageId: 'b' };
      for (const [method, path, body] of [
        ['POST', 'orders', { amount: 5, ...stale }],
        ['PUT', 'post-sale-staff', { userIds: [], ...stale }],
        ['PUT', 'stage-form', { values: {}, ...stale }],
        ['POST', 'change-process', { processId, ...stale }],
        ['POST', 'win', stale],
        ['POST', 'lose', stale],
        ['POST', 'invalidate', stale],
      ] as const) {
        const r = await send('rep', method, `/opportunities/${id}/${path}`, body);
        expect([path, r.status, r.body?.error?.code]).toEqual([path, 409, 'STALE_STATE']);
      }
      expect(
        (await send('rep', 'POST', `/opportunities/${id}/orders`, { amount: 5, expectedStageId: 'a' })).status,
      ).toBe(201);
      expect((await send('rep', 'POST', `/opportunities/${id}/invalidate`, { expectedStageId: 'a' })).status).toBe(200);
    });

    describe('Idempotency-Key', () => {
      it('answers a retry with the first answer without acting again', async () => {
        const first = await send(
          'rep',
          'POST',
          '/customers',
          { name: 'Once', fields: {} },
          { 'idempotency-key': 'k-once' },
        );
        expect(first.status).toBe(201);
        const retry = await send(
          'rep',
          'POST',
          '/customers',
          { name: 'Once', fields: {} },
          { 'idempotency-key': 'k-once' },
        );
        expect(retry.status).toBe(201);
        expect(retry.body).toEqual(first.body);
        expect(retry.headers.get('idempotent-replayed')).toBe('true');
        const rows = await t.database.db.execute(sql`select count(*)::int as n from customers where name = 'Once'`);
        expect(rowsOf<{ n: number }>(rows)[0]!.n).toBe(1);
      });

      it('replays a command: a retried complete-stage does not move twice', async () => {
        const id = await newOpp('idempotent move');
        const first = await send(
          'rep',
          'POST',
          `/opportunities/${id}/complete-stage`,
          {},
          { 'idempotency-key': `move-${id}` },
        );
        const retry = await send(
          'rep',
          'POST',
          `/opportunities/${id}/complete-stage`,
          {},
          { 'idempotency-key': `move-${id}` },
        );
        expect([first.status, retry.status]).toEqual([200, 200]);
        expect(retry.body.stageId).toBe('b');
        expect(await stageOf(id)).toBe('b');
      });

      it('lets exactly one of concurrent twins act; the others get its answer', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, () =>
            send('rep', 'POST', '/customers', { name: 'Twins', fields: {} }, { 'idempotency-key': 'k-twins' }),
          ),
        );
        expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
        expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
        const rows = await t.database.db.execute(sql`select count(*)::int as n from customers where name = 'Twins'`);
        expect(rowsOf<{ n: number }>(rows)[0]!.n).toBe(1);
      });

      it('refuses the same key with another body, scopes keys to the user and the path', async () => {
        await send('rep', 'POST', '/customers', { name: 'First', fields: {} }, { 'idempotency-key': 'k-scope' });
        const other = await send(
          'rep',
          'POST',
          '/customers',
          { name: 'Second', fields: {} },
          { 'idempotency-key': 'k-scope' },
        );
        expect(other.status).toBe(409);
        expect(other.body.error.details[0].reason).toBe('idempotency-key-reused');
        // Another user's key of the same name is theirs.
        const rep2 = await send(
          'rep2',
          'POST',
          '/customers',
          { name: 'Second', fields: {} },
          { 'idempotency-key': 'k-scope' },
        );
        expect(rep2.status).toBe(201);
        expect(rep2.headers.get('idempotent-replayed')).toBeNull();
        expect((await send('rep', 'POST', '/customers', {}, { 'idempotency-key': 'x'.repeat(256) })).status).toBe(400);
      });

      it('forgets answers after 24 hours (the scheduler deletes them)', async () => {
        const first = await send(
          'rep',
          'POST',
          '/customers',
          { name: 'Daily', fields: {} },
          { 'idempotency-key': 'k-daily' },
        );
        t.clock.advance(25 * 3600_000);
        await t.server.services.scheduler.tick();
        const rows = await t.database.db.execute(
          sql`select count(*)::int as n from idempotency_keys where key = 'k-daily'`,
        );
        expect(rowsOf<{ n: number }>(rows)[0]!.n).toBe(0);
        const next = await send(
          'rep',
          'POST',
          '/customers',
          { name: 'Daily', fields: {} },
          { 'idempotency-key': 'k-daily' },
        );
        expect(next.status).toBe(201);
        expect(next.body.id).not.toBe(first.body.id);
      });
    });
  });
}
