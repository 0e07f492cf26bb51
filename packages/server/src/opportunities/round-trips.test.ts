import { randomBytes } from 'node:crypto';
import { seedProcessDefinition } from '@sales-process/core';
import { describe, expect, it } from 'vitest';
import { openDatabase, pgClient } from '../db/open.js';
import { startTestServer } from '../testing/harness.js';

/**
 * What one stage move costs the database once an instance knows the opportunity: its
 * decision is taken on the state this instance last wrote (loads.ts `known`), and the move,
 * its history row, the approval it cancels and the webhook's outbox row go in one
 * group-committed statement (moves.ts `writeMoves`). No lock, no load, no BEGIN/COMMIT, no
 * auth, process or catalog lookup. The feed's NOTIFY (feed.ts) is gathered for 20 ms and
 * shared by the moves of that window. PostgreSQL only: it counts postgres.js's statements.
 */
const url = process.env.TEST_DATABASE_URL;

describe.skipIf(!url)('round trips of a stage move on postgres', () => {
  it('a repeated complete-stage / move-back is one statement each', async () => {
    const name = `sp_test_rt_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const admin = pgClient(url!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const u = new URL(url!);
    u.pathname = `/${name}`;
    let statements: string[] | null = null;
    const database = await openDatabase({ url: u.toString(), debug: (q) => statements?.push(q) });
    const t = await startTestServer(database);
    try {
      const boss = t.as('admin', ['admin']);
      await boss.post('/directory/sync', {
        departments: [{ id: 'sales', name: '销售部' }],
        users: [
          { id: 'admin', name: '管理员', departmentId: 'sales' },
          { id: 'rep', name: '销售', departmentId: 'sales', managerId: 'admin' },
        ],
      });
      const processId = (
        await boss.post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition })
      ).body.id;
      const customerId = (await boss.post('/customers', { name: 'C', fields: { industry: 'it' } })).body.id;
      await boss.post(`/customers/${customerId}/contacts`, { name: 'a' });
      await boss.post(`/customers/${customerId}/contacts`, { name: 'b' });
      const rep = t.as('rep', ['sales']);
      const id = (await rep.post('/opportunities', { name: 'O', customerId, amount: 1000, processId })).body.id;
      await rep.put(`/opportunities/${id}/stage-form`, { values: { visitNotes: 'x' } });
      const move = async (forward: boolean) => {
        const r = forward
          ? await rep.post(`/opportunities/${id}/complete-stage`, {})
          : await rep.post(`/opportunities/${id}/move-back`, { stageId: 'visit' });
        expect(r.status).toBe(200);
      };
      // The first move reads the opportunity; from then on this instance knows it.
      await move(true);
      await move(false);
      // The warm-up's NOTIFY goes out 20 ms after its move (feed.ts): let it go before counting, or
      // a loaded machine counts it with the measured moves. A timer set later fires later.
      await new Promise((r) => setTimeout(r, 50));
      statements = [];
      const moves = 6;
      for (let i = 0; i < moves; i++) await move(i % 2 === 0);
      await new Promise((r) => setTimeout(r, 50)); // the feed's last NOTIFY
      const writes = statements.filter((s) => !s.includes('pg_notify'));
      expect(writes).toHaveLength(moves);
      for (const s of writes) expect(s).toMatch(/^\s*with m as \(/);
      expect(statements.length - writes.length).toBeLessThanOrEqual(moves);
    } finally {
      statements = null;
      await t.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});
