import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

for (const kind of testDatabases()) {
  describe(`directory sync on ${kind.name}`, () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
    });
    afterAll(() => t.close());
    const admin = () => t.as('admin', ['admin']);

    it('syncs 10,000 departments and 10,000 users set-based, and again as updates', { timeout: 120_000 }, async () => {
      const departments = Array.from({ length: 10_000 }, (_, i) => ({
        id: `d${i}`,
        name: `部门 ${i}`,
        parentId: i === 0 ? null : `d${Math.floor((i - 1) / 10)}`,
      }));
      const users = Array.from({ length: 10_000 }, (_, i) => ({
        id: `u${i}`,
        name: `用户 ${i}`,
        departmentId: `d${i}`,
        managerId: i === 0 ? null : `u${Math.floor((i - 1) / 10)}`,
        roles: ['sales' as const],
      }));
      let started = performance.now();
      const first = await admin().post('/directory/sync', { departments });
      const insertMs = performance.now() - started;
      expect(first.status).toBe(200);
      started = performance.now();
      expect((await admin().post('/directory/sync', { users })).status).toBe(200);
      const usersMs = performance.now() - started;
      // Renamed and moved, every one: updates this time.
      const renamed = departments.map((d, i) => ({ ...d, name: `新 ${i}`, parentId: i === 0 ? null : 'd0' }));
      started = performance.now();
      const second = await admin().post('/directory/sync', { departments: renamed });
      const updateMs = performance.now() - started;
      expect(second.status).toBe(200);
      expect(
        (
          await admin().post('/directory/sync', {
            users: users.map((u) => ({ ...u, roles: undefined, managerId: 'u0' })),
          })
        ).status,
      ).toBe(200);
      console.log(
        `directory sync on ${kind.name}: 10,000 departments inserted in ${Math.round(insertMs)} ms, updated in ${Math.round(updateMs)} ms; 10,000 users inserted in ${Math.round(usersMs)} ms`,
      );
      const { body } = await admin().get('/directory');
      expect(body.departments).toHaveLength(10_000);
      expect(body.departments.find((d: { id: string }) => d.id === 'd9999')).toEqual({
        id: 'd9999',
        name: '新 9999',
        parentId: 'd0',
      });
      // Users synced without roles keep theirs.
      expect(body.users.find((u: { id: string }) => u.id === 'u42')).toMatchObject({
        managerId: 'u0',
        departmentId: 'd42',
        roles: ['sales'],
      });
    });

    it('refuses unknown parents and cycles, writing nothing', async () => {
      const before = (await admin().get('/directory')).body.departments.length;
      const unknown = await admin().post('/directory/sync', {
        departments: [{ id: 'x1', name: 'X', parentId: 'nowhere' }],
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.details[0].path).toBe('body.departments.0.parentId');
      const cycle = await admin().post('/directory/sync', {
        departments: [
          { id: 'c1', name: 'C1', parentId: 'c2' },
          { id: 'c2', name: 'C2', parentId: 'c1' },
          { id: 'ok', name: 'OK', parentId: null },
        ],
      });
      expect(cycle.status).toBe(400);
      expect(cycle.body.error.details.map((d: { path: string }) => d.path)).toEqual([
        'body.departments.0.parentId',
        'body.departments.1.parentId',
      ]);
      // A cycle through departments already synced: d1 under d10, whose parent is d0 → fine; d0 under d5 (a child of d0) → a cycle.
      expect(
        (await admin().post('/directory/sync', { departments: [{ id: 'd0', name: 'root', parentId: 'd5' }] })).status,
      ).toBe(400);
      expect(
        (await admin().post('/directory/sync', { departments: [{ id: 'self', name: 'S', parentId: 'self' }] })).status,
      ).toBe(400);
      expect((await admin().get('/directory')).body.departments.length).toBe(before);
      // A parent later in the same batch is fine.
      const ok = await admin().post('/directory/sync', {
        departments: [
          { id: 'kid', name: 'Kid', parentId: 'mom' },
          { id: 'mom', name: 'Mom', parentId: null },
        ],
      });
      expect(ok.status).toBe(200);
      expect((await admin().get('/directory')).body.departments.find((d: { id: string }) => d.id === 'kid')).toEqual({
        id: 'kid',
        name: 'Kid',
        parentId: 'mom',
      });
    });
  });
}
