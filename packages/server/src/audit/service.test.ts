import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';
import { diffOf } from './service.js';

describe('diffOf', () => {
  it('keeps only changed keys, as [before, after], and hides secrets', () => {
    expect(diffOf({ a: 1, b: [1], c: 'x', s: 'old' }, { a: 1, b: [2], d: true, s: 'new' }, ['s'])).toEqual({
      b: [[1], [2]],
      c: ['x', null],
      d: [null, true],
      s: ['…', '…'],
    });
    expect(diffOf(null, null)).toEqual({});
  });
});

for (const kind of testDatabases()) {
  describe(`the audit trail on ${kind.name}`, () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      // Tenants exist once someone of theirs signs in.
      await t.as('adm', ['admin']).get('/me');
      await t.as('adm', ['admin'], 't2').get('/me');
    });
    afterAll(async () => {
      await t?.close();
    });

    it('lists entries newest first in pages of 50, filtered by target, for admins only, within the tenant', async () => {
      const { audit } = t.server.services;
      const { db } = t.server.services.ctx.database;
      const admin = { tenantId: 't1', userId: 'adm', roles: new Set(['admin']) } as never;
      for (let i = 0; i < 55; i++)
        await audit.record(db, admin, {
          action: 'process.update',
          targetType: i % 5 ? 'process' : 'field',
          targetId: `x${i % 2}`,
          diff: { i: [i - 1, i] },
        });
      await audit.record(db, null, { action: 'directory.sync', targetType: 'directory', diff: { users: 3 } }, 't2');

      const first = await t.as('adm', ['admin']).get('/audit');
      expect(first.status).toBe(200);
      const page1 = first.body as { items: { diff: { i: number[] }; actorId: string }[]; nextCursor: string };
      expect(page1.items).toHaveLength(50);
      expect(page1.items[0]!.diff.i).toEqual([53, 54]);
      expect(page1.items[0]!.actorId).toBe('adm');
      const page2 = (await t.as('adm', ['admin']).get(`/audit?cursor=${page1.nextCursor}`)).body as {
        items: unknown[];
        nextCursor: string | null;
      };
      expect(page2.items).toHaveLength(5);
      expect(page2.nextCursor).toBeNull();

      const fields = (await t.as('adm', ['admin']).get('/audit?targetType=field&targetId=x0')).body as {
        items: { targetType: string; targetId: string }[];
      };
      expect(fields.items.length).toBe(6);
      expect(fields.items.every((e) => e.targetType === 'field' && e.targetId === 'x0')).toBe(true);

      expect((await t.as('s1', ['sales']).get('/audit')).status).toBe(403);
      expect((await t.as('adm', ['admin']).get('/audit?cursor=abc')).status).toBe(400);
      const other = (await t.as('adm', ['admin'], 't2').get('/audit')).body as { items: unknown[] };
      expect(other.items).toHaveLength(1);
    });
  });
}
