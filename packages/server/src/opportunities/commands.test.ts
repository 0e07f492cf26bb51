import { processDefinitionSchema, type OpportunityCommandType } from '@sales-process/core';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/open.js';
import { approvals, notifications, opportunities, opportunityChanges, stageHistory, tenants } from '../db/schema.js';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

/**
 * `POST /opportunities/commands` against the single-command endpoints: twin opportunities
 * (same process, customer, name and history) are brought to the same state, then one of
 * each pair gets its command through its single endpoint and the other in one batch; the
 * answers agree and so does everything stored (the row, its history and change rows, its
 * approvals, notifications and webhook events). Then the batch's own limits: 500 commands,
 * repeats, Idempotency-Key, and two overlapping batches at once.
 */

/** a needs a note; b needs the supervisor's approval; c reminds after 3 days. */
const gated = processDefinitionSchema.parse({
  presale: [
    {
      id: 'a',
      name: 'A',
      winRate: 10,
      fields: [{ source: 'stage', key: 'note', required: true, type: 'text', label: { zh: '记录', en: 'Note' } }],
    },
    { id: 'b', name: 'B', winRate: 40, requiresApproval: true },
    { id: 'c', name: 'C', winRate: 70, remindAfterDays: 3 },
  ],
  postsale: [{ id: 'p1', name: '安装', overdueAfterDays: 5 }],
});
/** No gates; a win gets a post-sale team. */
const teamed = processDefinitionSchema.parse({
  presale: [
    { id: 'x', name: 'X', winRate: 20 },
    { id: 'y', name: 'Y', winRate: 60 },
  ],
  postsale: [{ id: 'p1', name: '安装', overdueAfterDays: 5 }],
  postsaleTeam: { userIds: ['post1', 'post2'], departments: [] },
});
/** A win needs an order. */
const ordered = processDefinitionSchema.parse({ ...teamed, rules: { ...teamed.rules, orderRequiredToWin: true } });
/** No gates at all; a reminder after two days in a. */
const plain = processDefinitionSchema.parse({
  presale: [
    { id: 'a', name: 'A', winRate: 10, remindAfterDays: 2 },
    { id: 'b', name: 'B', winRate: 40 },
    { id: 'c', name: 'C', winRate: 70 },
  ],
});

const ENDPOINT: Record<OpportunityCommandType, string> = {
  completeStage: 'complete-stage',
  moveBack: 'move-back',
  win: 'win',
  lose: 'lose',
  invalidate: 'invalidate',
  reopen: 'reopen',
};

type Json = Record<string, unknown>;
interface Case {
  name: string;
  process: 'gated' | 'teamed' | 'ordered';
  owner?: string;
  actor?: string;
  /** Single commands bringing the twins to the state the case starts from: [path after the id, body]. */
  setup?: [string, Json][];
  command: { type: OpportunityCommandType } & Json;
  expect: string;
}

const CASES: Case[] = [
  { name: 'gate unmet', process: 'gated', command: { type: 'completeStage' }, expect: 'refused' },
  {
    name: 'moves on',
    process: 'gated',
    setup: [['stage-form', { values: { note: 'x' } }]],
    command: { type: 'completeStage', expectedStageId: 'a' },
    expect: 'moved',
  },
  {
    name: 'approval requested',
    process: 'gated',
    setup: [
      ['stage-form', { values: { note: 'x' } }],
      ['complete-stage', {}],
    ],
    command: { type: 'completeStage', expectedStageId: 'b' },
    expect: 'approvalRequested',
  },
  {
    name: 'approval pending',
    process: 'gated',
    setup: [
      ['stage-form', { values: { note: 'x' } }],
      ['complete-stage', {}],
      ['complete-stage', {}],
    ],
    command: { type: 'completeStage' },
    expect: 'refused',
  },
  {
    name: 'stale',
    process: 'gated',
    setup: [['stage-form', { values: { note: 'x' } }]],
    command: { type: 'completeStage', expectedStageId: 'b' },
    expect: 'stale',
  },
  {
    name: 'skip not allowed',
    process: 'gated',
    setup: [['stage-form', { values: { note: 'x' } }]],
    command: { type: 'completeStage', toStageId: 'c' },
    expect: 'refused',
  },
  {
    name: 'move back',
    process: 'gated',
    setup: [
      ['stage-form', { values: { note: 'x' } }],
      ['complete-stage', {}],
    ],
    command: { type: 'moveBack', stageId: 'a', expectedStageId: 'b' },
    expect: 'moved',
  },
  {
    name: 'win with a post-sale team',
    process: 'teamed',
    setup: [['complete-stage', {}]],
    command: { type: 'win', expectedStageId: 'y' },
    expect: 'moved',
  },
  {
    name: 'win too early',
    process: 'teamed',
    command: { type: 'win' },
    expect: 'refused',
  },
  {
    name: 'win needs an order',
    process: 'ordered',
    setup: [['complete-stage', {}]],
    command: { type: 'win' },
    expect: 'refused',
  },
  {
    name: 'lose',
    process: 'teamed',
    command: { type: 'lose', reason: 'price', comment: '价格太高', expectedStageId: 'x' },
    expect: 'moved',
  },
  {
    name: 'lose for a reason not offered',
    process: 'teamed',
    command: { type: 'lose', reason: 'nope' },
    expect: 'refused',
  },
  { name: 'invalidate', process: 'teamed', command: { type: 'invalidate' }, expect: 'moved' },
  {
    name: 'reopen',
    process: 'teamed',
    setup: [['lose', { reason: 'price' }]],
    command: { type: 'reopen', stageId: 'y', comment: '客户重新询价', expectedStageId: 'x' },
    expect: 'moved',
  },
  {
    name: 'reopen an open one',
    process: 'teamed',
    command: { type: 'reopen', stageId: 'x' },
    expect: 'refused',
  },
  {
    name: "someone else's",
    process: 'teamed',
    owner: 'rep2',
    command: { type: 'completeStage' },
    expect: 'refused',
  },
  {
    name: 'a supervisor moves a report’s',
    process: 'gated',
    actor: 'mgr',
    setup: [['stage-form', { values: { note: 'x' } }]],
    command: { type: 'completeStage' },
    expect: 'moved',
  },
  {
    name: 'approval without a supervisor',
    process: 'gated',
    owner: 'loner',
    actor: 'loner',
    setup: [
      ['stage-form', { values: { note: 'x' } }],
      ['complete-stage', {}],
    ],
    command: { type: 'completeStage' },
    expect: 'refused',
  },
];

const ROLES: Record<string, string[]> = {
  admin: ['admin'],
  mgr: ['supervisor', 'sales'],
  rep: ['sales'],
  rep2: ['sales'],
  loner: ['sales'],
};

/** A single endpoint's answer as a batch item says it. */
function outcomeOf(res: { status: number; body: any }) {
  if (res.status === 200) return { result: 'moved' };
  if (res.status === 202) return { result: 'approvalRequested' };
  const error = { code: res.body.error.code, details: res.body.error.details };
  return { result: error.code === 'STALE_STATE' ? 'stale' : 'refused', error };
}

/** A batch's path of a command's key as the single endpoint names it (`body.commands.3.reason` → `body.reason`). */
const singlePath = (details: Json[]) =>
  details.map((d) =>
    typeof d.path === 'string' ? { ...d, path: d.path.replace(/^body\.commands\.\d+\./, 'body.') } : d,
  );

for (const kind of testDatabases()) {
  describe(`batched commands on ${kind.name}`, () => {
    let t: TestServer;
    const processes: Record<string, string> = {};
    let customerId = '';
    const as = (user: string) => t.as(user, ROLES[user] ?? ['sales'], 'b1');

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      const admin = as('admin');
      const sync = await admin.post('/directory/sync', {
        departments: [{ id: 'sales', name: '销售部' }],
        users: [
          { id: 'admin', name: '管理员', departmentId: 'sales', roles: ['admin'] },
          { id: 'mgr', name: '李经理', departmentId: 'sales', roles: ['supervisor', 'sales'] },
          { id: 'mgr2', name: '王经理', departmentId: 'sales', roles: ['supervisor'] },
          { id: 'rep', name: '张三', departmentId: 'sales', managerId: 'mgr', roles: ['sales'] },
          { id: 'rep2', name: '李四', departmentId: 'sales', managerId: 'mgr2', roles: ['sales'] },
          { id: 'loner', name: '赵六', departmentId: 'sales', roles: ['sales'] },
          { id: 'post1', name: '陈工', departmentId: 'sales', roles: ['postsale'] },
          { id: 'post2', name: '丁工', departmentId: 'sales', roles: ['postsale'] },
        ],
      });
      expect(sync.status).toBe(200);
      for (const [name, definition] of Object.entries({ gated, teamed, ordered, plain })) {
        const r = await admin.post('/processes', { name, departments: [], definition });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        processes[name] = r.body.id;
      }
      customerId = (await admin.post('/customers', { name: '宝钢', fields: {} })).body.id;
      // Every move writes a webhook event (the delivery itself is another test's).
      await t.database.db.update(tenants).set({ webhookUrl: 'http://127.0.0.1:9/hook' }).where(eq(tenants.id, 'b1'));
    }, 60_000);
    afterAll(() => t.close());

    const create = async (owner: string, process: string, name = 'O') => {
      const r = await as(owner).post('/opportunities', {
        name,
        customerId,
        amount: 1000,
        processId: processes[process],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };

    /** `n` copies of a new opportunity, written at once (as many created one by one would be, but for their history). */
    const copies = async (process: string, n: number, name: string) => {
      const template = await create('rep', process, name);
      const rows = rowsOf<{ id: string }>(
        await t.database.db.execute(sql`insert into opportunities
          select (jsonb_populate_record(o, jsonb_build_object('id', ${template} || '_' || g, 'name', ${name} || g))).*
          from opportunities o, generate_series(1, ${n - 1}) g where o.id = ${template} returning id`),
      );
      return [template, ...rows.map((r) => r.id)];
    };

    /** Everything stored about an opportunity that a command writes, without ids and times. */
    async function stored(id: string) {
      const { db } = t.database;
      const [o] = await db.select().from(opportunities).where(eq(opportunities.id, id));
      const history = await db
        .select()
        .from(stageHistory)
        .where(eq(stageHistory.opportunityId, id))
        .orderBy(asc(stageHistory.id));
      const changes = await db
        .select()
        .from(opportunityChanges)
        .where(eq(opportunityChanges.opportunityId, id))
        .orderBy(asc(opportunityChanges.id));
      const apps = await db
        .select()
        .from(approvals)
        .where(eq(approvals.opportunityId, id))
        .orderBy(asc(approvals.requestedAt));
      const notes = await db.select().from(notifications).where(eq(notifications.opportunityId, id));
      const hooks = rowsOf<{ n: number }>(
        await db.execute(
          sql`select count(*)::int as n from webhook_deliveries where event->'data'->>'opportunityId' = ${id}`,
        ),
      )[0]!.n;
      return {
        rev: o!.rev,
        status: o!.status,
        phase: o!.phase,
        stageId: o!.stageId,
        stageEntry: o!.stageEntry,
        maxStageIndex: o!.maxStageIndex,
        lostReason: o!.lostReason,
        closed: o!.closedAt !== null,
        postsaleStaff: o!.postsaleStaff,
        stageValues: o!.stageValues,
        history: history.map((h) => ({
          from: h.fromStageId,
          to: h.toStageId,
          fromStatus: h.fromStatus,
          toStatus: h.toStatus,
          action: h.action,
          actorId: h.actorId,
          comment: h.comment,
          values: h.values,
          // Twins are moved a few milliseconds apart.
          days: h.daysSpent === null ? null : Math.round(h.daysSpent * 100),
        })),
        changes: changes.map((c) => ({ action: c.action, actorId: c.actorId, changes: c.changes, reason: c.reason })),
        approvals: apps.map((a) => ({
          stageId: a.stageId,
          stageEntry: a.stageEntry,
          action: a.action,
          requestedBy: a.requestedBy,
          approverId: a.approverId,
          state: a.state,
          values: a.values,
        })),
        notifications: notes.map((n) => `${n.kind}→${n.userId}`).sort(),
        webhooks: hooks,
      };
    }

    it('decides each command as its single endpoint does, and stores the same', { timeout: 120_000 }, async () => {
      // Twins: one for the single endpoint, one for the batch, brought to the same state.
      const pairs: { single: string; batched: string }[] = [];
      for (const c of CASES) {
        const owner = c.owner ?? 'rep';
        const pair = {
          single: await create(owner, c.process, c.name),
          batched: await create(owner, c.process, c.name),
        };
        for (const id of [pair.single, pair.batched])
          for (const [path, body] of c.setup ?? []) {
            const r =
              path === 'stage-form'
                ? await as(owner).put(`/opportunities/${id}/${path}`, body)
                : await as(owner).post(`/opportunities/${id}/${path}`, body);
            expect(r.status, `${c.name}: ${path} ${JSON.stringify(r.body)}`).toBeLessThan(300);
          }
        pairs.push(pair);
      }
      // The single path, one by one.
      const singles = [];
      for (const [i, c] of CASES.entries()) {
        const { type, ...body } = c.command;
        singles.push(await as(c.actor ?? 'rep').post(`/opportunities/${pairs[i]!.single}/${ENDPOINT[type]}`, body));
      }
      // The batch: one per actor, the commands in case order (and one for an opportunity that does not exist).
      const batched = new Map<number, any>();
      for (const actor of new Set(CASES.map((c) => c.actor ?? 'rep'))) {
        const mine = [...CASES.entries()].filter(([, c]) => (c.actor ?? 'rep') === actor);
        const commands = mine.map(([i, c]) => ({ opportunityId: pairs[i]!.batched, ...c.command }));
        if (actor === 'rep') commands.push({ opportunityId: 'opp_nowhere', type: 'win' });
        const res = await as(actor).post('/opportunities/commands', { commands });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.items.map((x: Json) => x.opportunityId)).toEqual(commands.map((x) => x.opportunityId));
        mine.forEach(([i], k) => batched.set(i, res.body.items[k]));
        if (actor === 'rep')
          expect(res.body.items.at(-1)).toMatchObject({
            opportunityId: 'opp_nowhere',
            result: 'refused',
            error: { code: 'NOT_FOUND' },
          });
      }
      for (const [i, c] of CASES.entries()) {
        const single = outcomeOf(singles[i]!);
        const item = batched.get(i);
        expect(single.result, `${c.name} (single): ${JSON.stringify(singles[i]!.body)}`).toBe(c.expect);
        expect(item.result, `${c.name} (batch): ${JSON.stringify(item)}`).toBe(c.expect);
        if (single.error) {
          expect(item.error.code, c.name).toBe(single.error.code);
          expect(singlePath(item.error.details), c.name).toEqual(single.error.details);
          expect(typeof item.error.message, c.name).toBe('string');
        } else expect(item.error, c.name).toBeUndefined();
        const after = await stored(pairs[i]!.batched);
        expect(await stored(pairs[i]!.single), c.name).toEqual(after);
        // Where it is now, as the caller may read it.
        if (c.name !== "someone else's")
          expect(item, c.name).toMatchObject({
            status: after.status,
            phase: after.phase,
            stageId: after.stageId,
            rev: after.rev,
          });
        else expect(item.rev, c.name).toBeUndefined();
      }
      // The cases cover what they say.
      const byName = (name: string) => batched.get(CASES.findIndex((c) => c.name === name));
      expect(byName('gate unmet').error).toMatchObject({
        code: 'STAGE_GATES_UNMET',
        details: [{ gate: 'requiredField', key: 'note' }],
      });
      expect(byName('stale').error).toMatchObject({ code: 'STALE_STATE', details: [{ stageId: 'a' }] });
      expect(byName("someone else's").error.code).toBe('FORBIDDEN');
      expect(byName('win needs an order').error.code).toBe('ORDER_REQUIRED');
      expect(byName('lose for a reason not offered').error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [
          { path: `body.commands.${CASES.findIndex((c) => c.name === 'lose for a reason not offered')}.reason` },
        ],
      });
      expect(byName('approval without a supervisor').error.code).toBe('INVALID_TRANSITION');
      const won = await stored(pairs[CASES.findIndex((c) => c.name === 'win with a post-sale team')]!.batched);
      expect(won).toMatchObject({ status: 'won', phase: 'postsale', postsaleStaff: ['post1', 'post2'] });
      expect(won.changes).toEqual([
        { action: 'postsale-team', actorId: 'rep', changes: { postsaleStaff: [[], ['post1', 'post2']] }, reason: null },
      ]);
      const approved = await stored(pairs[CASES.findIndex((c) => c.name === 'approval requested')]!.batched);
      expect(approved.approvals).toMatchObject([{ state: 'pending', approverId: 'mgr', requestedBy: 'rep' }]);
      expect(approved.notifications).toEqual(['approval-requested→mgr']);
      // The batched approval is the supervisor's to decide, as a single one is.
      const pending = (await as('mgr').get('/approvals?state=pending')).body.items.find(
        (a: Json) => a.opportunityId === pairs[CASES.findIndex((c) => c.name === 'approval requested')]!.batched,
      );
      expect((await as('mgr').post(`/approvals/${pending.id}/approve`, { comment: 'ok' })).status).toBe(200);
      expect((await as('rep').get(`/opportunities/${pending.opportunityId}`)).body.stageId).toBe('c');
      // No webhook from here on (its worker would keep retrying the address that refuses).
      await t.database.db.update(tenants).set({ webhookUrl: null }).where(eq(tenants.id, 'b1'));
      await t.database.db.execute(sql`delete from webhook_deliveries`);
    });

    it('refuses a batch with a repeated opportunity, none or over 500, or a key its type does not take, storing nothing', async () => {
      const id = await create('rep', 'plain');
      const before = await stored(id);
      const refusals: [unknown, string][] = [
        [
          {
            commands: [
              { opportunityId: id, type: 'completeStage' },
              { opportunityId: id, type: 'win' },
            ],
          },
          'body.commands.1.opportunityId',
        ],
        [{ commands: [] }, 'body.commands'],
        [
          { commands: Array.from({ length: 501 }, (_, i) => ({ opportunityId: `o${i}`, type: 'win' })) },
          'body.commands',
        ],
        [{ commands: [{ opportunityId: id, type: 'moveBack' }] }, 'body.commands.0.stageId'],
        [{ commands: [{ opportunityId: id, type: 'win', reason: 'price' }] }, 'body.commands.0.reason'],
        [{ commands: [{ opportunityId: id, type: 'completeStage', stageId: 'b' }] }, 'body.commands.0.stageId'],
        [{ commands: [{ opportunityId: id, type: 'fly' }] }, 'body.commands.0.type'],
        // An unknown key, at the object that holds it (as every body says it).
        [{ commands: [{ opportunityId: id, type: 'win', extra: 1 }] }, 'body.commands.0'],
      ];
      for (const [body, path] of refusals) {
        const r = await as('rep').post('/opportunities/commands', body);
        expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(400);
        expect(r.body.error.code).toBe('VALIDATION_FAILED');
        expect(r.body.error.details.map((d: Json) => d.path)).toContain(path);
      }
      expect(await stored(id)).toEqual(before);
    });

    it('moves 500 in one batch: every one moved, its history written, in one answer', {
      timeout: 120_000,
    }, async () => {
      const ids = await copies('plain', 500, '批量');
      const started = performance.now();
      const res = await as('rep').post('/opportunities/commands', {
        commands: ids.map((opportunityId) => ({ opportunityId, type: 'completeStage', expectedStageId: 'a' })),
      });
      const ms = performance.now() - started;
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
      expect(res.body.items).toHaveLength(500);
      expect(res.body.items.every((x: Json) => x.result === 'moved' && x.stageId === 'b' && x.rev === 1)).toBe(true);
      const { db } = t.database;
      const rows = await db
        .select({ stageId: opportunities.stageId, rev: opportunities.rev })
        .from(opportunities)
        .where(inArray(opportunities.id, ids));
      expect(rows.every((r) => r.stageId === 'b' && r.rev === 1)).toBe(true);
      const moves = await db
        .select({ id: stageHistory.id })
        .from(stageHistory)
        .where(and(inArray(stageHistory.opportunityId, ids), eq(stageHistory.action, 'complete')));
      expect(moves).toHaveLength(500);
      console.log(`500 commands in one batch on ${kind.name}: ${ms.toFixed(0)} ms`);
      // The list pages a board's column in one request.
      const list = await as('rep').get(`/opportunities?processId=${processes.plain}&status=open&limit=500`);
      expect(list.status).toBe(200);
      expect(list.body.items).toHaveLength(500);
      expect(list.body.nextCursor).toBeTruthy();
    });

    it('answers a retry with the same Idempotency-Key again without acting', async () => {
      const id = await create('rep', 'plain');
      const send = async () => {
        const res = await t.server.fetch(
          new Request('http://test/api/v1/opportunities/commands', {
            method: 'POST',
            headers: {
              authorization: `Bearer ${await t.token('rep', ['sales'], 'b1')}`,
              'content-type': 'application/json',
              'idempotency-key': `batch-${id}`,
            },
            body: JSON.stringify({ commands: [{ opportunityId: id, type: 'completeStage' }] }),
          }),
        );
        return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: await res.json() };
      };
      const first = await send();
      expect(first.status).toBe(200);
      expect(first.body.items[0]).toMatchObject({ result: 'moved', stageId: 'b' });
      const again = await send();
      expect(again).toMatchObject({ status: 200, replayed: 'true', body: first.body });
      const after = await stored(id);
      expect(after.stageId).toBe('b');
      expect(after.history.filter((h) => h.action === 'complete')).toHaveLength(1);
    });

    it('runs two overlapping batches at once without losing a move or deadlocking', { timeout: 120_000 }, async () => {
      const ids = await copies('plain', 60, '并发');
      const sorted = [...ids].sort();
      // The first batch names them in id order, the second (overlapping two thirds) in reverse,
      // while single commands move some of the shared ones.
      const first = sorted.slice(0, 40);
      const second = sorted.slice(20).reverse();
      const singles = sorted.slice(25, 30);
      const batch = (list: string[]) =>
        as('rep').post('/opportunities/commands', {
          commands: list.map((opportunityId) => ({ opportunityId, type: 'completeStage' })),
        });
      const answers = await Promise.all([
        batch(first),
        batch(second),
        ...singles.map((id) => as('rep').post(`/opportunities/${id}/complete-stage`, {})),
      ]);
      const [a, b, ...rest] = answers as [
        { status: number; body: { items: Json[] } },
        ...{ status: number; body: any }[],
      ];
      expect(a.status, JSON.stringify(a.body).slice(0, 300)).toBe(200);
      expect(b.status, JSON.stringify(b.body).slice(0, 300)).toBe(200);
      // A single command that came third finds it at c: refused, as the batch's would be.
      for (const r of rest) if (r.status !== 200) expect(r.body.error.code).toBe('INVALID_TRANSITION');
      // Each opportunity moved once per command that reached it, and never further than c.
      const commandsOn = new Map<string, number>();
      for (const id of [...first, ...second, ...singles]) commandsOn.set(id, (commandsOn.get(id) ?? 0) + 1);
      const { db } = t.database;
      const rows = await db
        .select({ id: opportunities.id, stageId: opportunities.stageId, rev: opportunities.rev })
        .from(opportunities)
        .where(inArray(opportunities.id, ids));
      const history = await db
        .select({ id: stageHistory.opportunityId })
        .from(stageHistory)
        .where(and(inArray(stageHistory.opportunityId, ids), eq(stageHistory.action, 'complete')));
      const moved = [...a.body.items, ...b.body.items].filter((x) => x.result === 'moved').length;
      const refused = [...a.body.items, ...b.body.items].filter((x) => x.result === 'refused');
      // A third move on one at c is refused (the last stage), as a single command would be.
      for (const r of refused) expect((r.error as Json).code).toBe('INVALID_TRANSITION');
      expect(history.length).toBe(moved + rest.filter((r) => r.status === 200).length);
      for (const r of rows) {
        const n = history.filter((h) => h.id === r.id).length;
        expect(n).toBe(Math.min(commandsOn.get(r.id) ?? 0, 2));
        expect(r.stageId).toBe(['a', 'b', 'c'][n]);
        expect(r.rev).toBe(n);
      }
    });

    // Last: it moves the clock.
    it("lists a board's cards: by process and status, up to 500 a page, with rev, reminder days, stale and overdue", async () => {
      const fresh = await create('rep', 'plain', '看板');
      const won = await create('rep', 'teamed', '看板赢单');
      await as('rep').post(`/opportunities/${won}/complete-stage`, {});
      expect((await as('rep').post(`/opportunities/${won}/win`, {})).status).toBe(200);
      const card = async (process: string, id: string, status = '') => {
        const r = await as('rep').get(`/opportunities?processId=${processes[process]}${status}&limit=500`);
        expect(r.status).toBe(200);
        expect(r.body.items.every((x: Json) => x.processId === processes[process])).toBe(true);
        return r.body.items.find((x: Json) => x.id === id);
      };
      expect(await card('plain', fresh, '&status=open')).toMatchObject({
        id: fresh,
        name: '看板',
        customerId,
        customerName: '宝钢',
        amount: 1000,
        currency: 'CNY',
        ownerId: 'rep',
        ownerName: '张三',
        departmentId: 'sales',
        processId: processes.plain,
        processVersion: 1,
        stageId: 'a',
        stageName: 'A',
        status: 'open',
        phase: 'presale',
        rev: (await stored(fresh)).rev,
        remindAfterDays: 2,
        stale: false,
        overdue: false,
      });
      expect(typeof (await card('plain', fresh)).stageEnteredAt).toBe('string');
      // Won, it is not an open one.
      expect(await card('teamed', won, '&status=open')).toBeUndefined();
      expect(await card('teamed', won, '&status=won')).toMatchObject({
        phase: 'postsale',
        stageId: 'p1',
        remindAfterDays: null,
        stale: false,
        overdue: false,
      });
      t.clock.advance(2 * 86_400_000);
      expect(await card('plain', fresh)).toMatchObject({ stale: true, daysInStage: 2 });
      t.clock.advance(3 * 86_400_000);
      expect(await card('teamed', won)).toMatchObject({ overdue: true, stale: false });
      const tooMany = await as('rep').get('/opportunities?limit=501');
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error.details[0].path).toBe('query.limit');
    });
  });
}
