import { processDefinitionSchema } from '@sales-process/core';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/open.js';
import { opportunities } from '../db/schema.js';
import { startTestServer, testDatabases, waitFor, type TestServer } from '../testing/harness.js';

/**
 * `GET /opportunities/stream`: a board hears of every change to the opportunities its user
 * may read (of the process it follows), from any instance, and `removed` when one leaves
 * the user's sight; nothing about the others.
 */

const definition = processDefinitionSchema.parse({
  presale: [
    { id: 'a', name: 'A', winRate: 10 },
    { id: 'b', name: 'B', winRate: 40 },
    { id: 'c', name: 'C', winRate: 70 },
  ],
});

const ROLES: Record<string, string[]> = {
  admin: ['admin'],
  mgr: ['supervisor'],
  mgr2: ['supervisor'],
  rep: ['sales'],
  rep2: ['sales'],
  ana: ['analyst'],
};

interface Heard {
  event: string;
  data: Record<string, unknown>;
}

/** An open event stream and what it has heard so far. */
async function listen(t: TestServer, user: string, query = '') {
  const controller = new AbortController();
  const res = await t.server.fetch(
    new Request(`http://test/api/v1/opportunities/stream${query}`, {
      headers: { authorization: `Bearer ${await t.token(user, ROLES[user], 'f1')}` },
      signal: controller.signal,
    }),
  );
  const heard: Heard[] = [];
  if (res.status !== 200) return { status: res.status, body: await res.json(), heard, close: async () => {} };
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? '{}';
        heard.push({ event, data: JSON.parse(data) });
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  await waitFor(() => heard.some((h) => h.event === 'ready'), 3000, `${user}'s stream ready`);
  return {
    status: 200,
    body: null,
    heard,
    /** What it heard about an opportunity, as `event:stageId` (or `removed`). */
    about: (id: string) =>
      heard
        .filter((h) => h.data.id === id)
        .map((h) => (h.event === 'opportunity' ? `${h.data.stageId}@${h.data.ownerId}` : h.event)),
    close: async () => {
      await reader.cancel().catch(() => {});
      controller.abort();
      await reading;
    },
  };
}

for (const kind of testDatabases()) {
  describe(`the opportunity stream on ${kind.name}`, () => {
    let t: TestServer;
    let processId = '';
    let otherProcessId = '';
    let customerId = '';
    const as = (user: string) => t.as(user, ROLES[user], 'f1');

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      const admin = as('admin');
      await admin.post('/directory/sync', {
        departments: [{ id: 'sales', name: '销售部' }],
        users: [
          { id: 'admin', name: '管理员', departmentId: 'sales' },
          { id: 'mgr', name: '李经理', departmentId: 'sales' },
          { id: 'mgr2', name: '王经理', departmentId: 'sales' },
          { id: 'rep', name: '张三', departmentId: 'sales', managerId: 'mgr' },
          { id: 'rep2', name: '李四', departmentId: 'sales', managerId: 'mgr2' },
          { id: 'ana', name: '分析师', departmentId: 'sales' },
        ],
      });
      processId = (await admin.post('/processes', { name: 'P', departments: [], definition })).body.id;
      otherProcessId = (await admin.post('/processes', { name: 'Q', departments: [], definition })).body.id;
      customerId = (await admin.post('/customers', { name: '宝钢', fields: {} })).body.id;
    }, 60_000);
    afterAll(() => t.close());

    const create = async (owner: string, process = processId) => {
      const r = await as(owner).post('/opportunities', { name: 'O', customerId, amount: 1, processId: process });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };

    it('tells each user of the changes they may read, and removed when one leaves their sight', async () => {
      const rep = await listen(t, 'rep', `?processId=${processId}`);
      const rep2 = await listen(t, 'rep2', `?processId=${processId}`);
      const mgr = await listen(t, 'mgr');
      const ana = await listen(t, 'ana', `?processId=${processId}`);
      try {
        const id = await create('rep');
        const theirs = await create('rep2');
        await waitFor(() => rep.about!(id).length && ana.about!(id).length, 3000, 'the new one');
        // Moved in a batch, then one by one.
        const batch = await as('rep').post('/opportunities/commands', {
          commands: [{ opportunityId: id, type: 'completeStage', expectedStageId: 'a' }],
        });
        expect(batch.body.items[0].result).toBe('moved');
        await as('rep').post(`/opportunities/${id}/complete-stage`, {});
        await waitFor(() => rep.about!(id).includes('c@rep'), 3000, 'the moves');
        const last = rep.heard.filter((h) => h.data.id === id).at(-1)!.data;
        expect(last).toEqual({
          id,
          rev: (await t.database.db.select().from(opportunities).where(eq(opportunities.id, id)))[0]!.rev,
          processId,
          stageId: 'c',
          status: 'open',
          phase: 'presale',
          ownerId: 'rep',
        });
        await waitFor(() => mgr.about!(id).includes('c@rep'), 3000, "the supervisor's stream");
        // Given to rep2: rep and their supervisor see it go, rep2 sees it come.
        const moved = await as('admin').post('/opportunities/reassign', { opportunityIds: [id], toOwnerId: 'rep2' });
        expect(moved.status).toBe(200);
        await waitFor(() => rep.about!(id).at(-1) === 'removed', 3000, "rep's removed");
        await waitFor(() => mgr.about!(id).at(-1) === 'removed', 3000, "the supervisor's removed");
        await waitFor(() => rep2.about!(id).at(-1) === 'c@rep2', 3000, "rep2's new one");
        await waitFor(() => ana.about!(id).at(-1) === 'c@rep2', 3000, 'the analyst still reads it');
        // Onto another process: gone from the streams that follow this one.
        const changed = await as('rep2').post(`/opportunities/${id}/change-process`, { processId: otherProcessId });
        expect(changed.status, JSON.stringify(changed.body)).toBe(200);
        await waitFor(() => rep2.about!(id).at(-1) === 'removed', 3000, "rep2's removed");
        await waitFor(() => ana.about!(id).at(-1) === 'removed', 3000, "the analyst's removed");
        // Nobody heard of what they may not read.
        expect(rep.about!(theirs)).toEqual([]);
        expect(mgr.about!(theirs)).toEqual([]);
        expect(rep2.about!(theirs)).toEqual(['a@rep2']);
        expect(
          rep.heard.filter((h) => h.data.id === id && h.event === 'opportunity').every((h) => h.data.ownerId === 'rep'),
        ).toBe(true);
      } finally {
        await Promise.all([rep, rep2, mgr, ana].map((s) => s.close()));
      }
    });

    it('refuses an unknown process (404) and a malformed one (400)', async () => {
      expect((await listen(t, 'rep', '?processId=nope')).status).toBe(404);
      const bad = await listen(t, 'rep', `?processId=${'x'.repeat(200)}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].path).toBe('query.processId');
    });

    if (kind.name === 'postgres')
      it('hears of a move made on another instance within a second', async () => {
        const other = await startTestServer(await openDatabase({ url: t.database.url! }));
        try {
          const stream = await listen(other, 'rep', `?processId=${processId}`);
          try {
            const id = await create('rep');
            const started = Date.now();
            await as('rep').post(`/opportunities/${id}/complete-stage`, {});
            await waitFor(() => stream.about!(id).includes('b@rep'), 1000, 'the move on the other instance');
            console.log(`a move heard on another instance after ${Date.now() - started} ms`);
          } finally {
            await stream.close();
          }
        } finally {
          await other.close();
        }
      });
  });
}
