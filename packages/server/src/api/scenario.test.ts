/**
 * End-to-end scenarios over the REST API, one company through every feature. Over 400 lines
 * on purpose: each scenario builds on the company set up at the top and reads as one story.
 */
import { processDraftSchema, seedProcessDefinition } from '@sales-process/core';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, type Requester, type TestServer } from '../testing/harness.js';

/** A company: sales (with east under it), marketing, service; rep reports to mgr. */
async function company(t: TestServer, tenant = 't1') {
  const admin = t.as('admin', ['admin'], tenant);
  const sync = await admin.post('/directory/sync', {
    departments: [
      { id: 'hq', name: '总部', parentId: null },
      { id: 'sales', name: '销售部', parentId: 'hq' },
      { id: 'east', name: '华东', parentId: 'sales' },
      { id: 'marketing', name: '市场部', parentId: 'hq' },
      { id: 'service', name: '售后', parentId: 'hq' },
    ],
    users: [
      { id: 'admin', name: '管理员', departmentId: 'hq', managerId: null },
      { id: 'mgr', name: '李经理', departmentId: 'sales', managerId: 'admin' },
      { id: 'mgr2', name: '别的经理', departmentId: 'sales', managerId: 'admin' },
      { id: 'rep', name: '张三', departmentId: 'east', managerId: 'mgr' },
      { id: 'rep2', name: '赵六', departmentId: 'east', managerId: 'mgr' },
      { id: 'outsider', name: '吴八', departmentId: 'marketing', managerId: 'admin' },
      { id: 'post', name: '陈工', departmentId: 'service', managerId: 'admin' },
    ],
  });
  expect(sync.status).toBe(200);
  const process = await admin.post('/processes', {
    name: '重要客户销售流程',
    departments: ['sales'],
    definition: seedProcessDefinition,
  });
  expect(process.status).toBe(201);
  const customer = await admin.post('/customers', { name: '宝钢股份', fields: {} });
  return {
    admin,
    processId: process.body.id as string,
    customerId: customer.body.id as string,
    rep: t.as('rep', ['sales'], tenant),
    rep2: t.as('rep2', ['sales'], tenant),
    mgr: t.as('mgr', ['supervisor', 'sales'], tenant),
    mgr2: t.as('mgr2', ['supervisor', 'sales'], tenant),
    outsider: t.as('outsider', ['sales'], tenant),
    post: t.as('post', ['postsale'], tenant),
  };
}

const newOpp = (who: Requester, processId: string, customerId: string, name = '宝钢 数据中台') =>
  who.post('/opportunities', { name, customerId, amount: 2_300_000, expectedCloseDate: '2027-02-28', processId });

/** Takes an opportunity from 初次拜访 into 报价竞标, with contacts, forms and the approval. */
async function toQuote(c: Awaited<ReturnType<typeof company>>, id: string) {
  const customer = (await c.rep.get(`/opportunities/${id}`)).body.customerId;
  if ((await c.admin.get(`/customers/${customer}`)).body.contacts.length < 2) {
    await c.rep.post(`/customers/${customer}/contacts`, { name: '林总' });
    await c.rep.post(`/customers/${customer}/contacts`, { name: '马工' });
  }
  await c.rep.put(`/opportunities/${id}/stage-form`, { values: { industry: 'it', visitNotes: '见面' } });
  expect((await c.rep.post(`/opportunities/${id}/complete-stage`)).status).toBe(200);
  await c.rep.put(`/opportunities/${id}/stage-form`, { values: { needsSummary: '需求' } });
  expect((await c.rep.post(`/opportunities/${id}/complete-stage`)).status).toBe(200);
  await c.rep.put(`/opportunities/${id}/stage-form`, { values: { designDoc: '方案', customerFeedback: '满意' } });
  expect((await c.rep.post(`/opportunities/${id}/complete-stage`)).status).toBe(202);
  const pending = (await c.mgr.get('/approvals?state=pending')).body.items.find(
    (a: { opportunityId: string }) => a.opportunityId === id,
  );
  expect((await c.mgr.post(`/approvals/${pending.id}/approve`, { comment: 'ok' })).status).toBe(200);
}

for (const kind of testDatabases()) {
  describe(`the seed's scenario through HTTP on ${kind.name}`, () => {
    let t: TestServer;
    let c: Awaited<ReturnType<typeof company>>;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      c = await company(t);
    });
    afterAll(() => t.close());

    it('offers the process only to users of its departments (sub-departments included)', async () => {
      expect((await c.admin.get('/processes?usableBy=rep')).body.items.map((p: { id: string }) => p.id)).toEqual([
        c.processId,
      ]);
      expect((await c.admin.get('/processes?usableBy=outsider')).body.items).toEqual([]);
      const refused = await newOpp(c.outsider, c.processId, c.customerId);
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('PROCESS_NOT_APPLICABLE');
    });

    it('runs an opportunity from 初次拜访 to done, refusing every unmet gate on the way', async () => {
      const created = await newOpp(c.rep, c.processId, c.customerId);
      expect(created.status).toBe(201);
      const id = created.body.id;
      expect(created.body).toMatchObject({
        stageId: 'visit',
        status: 'open',
        phase: 'presale',
        winRate: 10,
        weightedAmount: 230_000,
      });

      // Fields and contacts missing: each gate listed.
      let r = await c.rep.post(`/opportunities/${id}/complete-stage`);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('STAGE_GATES_UNMET');
      expect(r.body.error.details.map((d: any) => [d.gate, d.key ?? `${d.have}/${d.need}`])).toEqual([
        ['requiredField', 'industry'],
        ['requiredField', 'visitNotes'],
        ['minContacts', '0/2'],
      ]);
      expect(r.body.error.details[0].message.zh).toContain('行业');

      // Bad values are refused and change nothing.
      r = await c.rep.put(`/opportunities/${id}/stage-form`, {
        values: { industry: 'mining', visitNotes: 5, unknown: 1 },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.details.map((d: any) => d.path).sort()).toEqual([
        'body.values.industry',
        'body.values.unknown',
        'body.values.visitNotes',
      ]);

      // Customer fields are written through to the customer.
      r = await c.rep.put(`/opportunities/${id}/stage-form`, {
        values: { industry: 'manufacturing', visitNotes: '拜访了信息部', amount: 2_500_000 },
      });
      expect(r.status).toBe(200);
      expect((await c.admin.get(`/customers/${c.customerId}`)).body.fields.industry).toBe('manufacturing');
      expect(r.body.amount).toBe(2_500_000);
      r = await c.rep.post(`/opportunities/${id}/complete-stage`);
      expect(r.body.error.details).toMatchObject([{ gate: 'minContacts', have: 0, need: 2 }]);
      await c.rep.post(`/customers/${c.customerId}/contacts`, { name: '林总', title: 'CIO' });
      await c.rep.post(`/customers/${c.customerId}/contacts`, { name: '马工' });
      r = await c.rep.post(`/opportunities/${id}/complete-stage`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ stageId: 'needs', winRate: 30 });

      // Orders only after 方案设计.
      r = await c.rep.post(`/opportunities/${id}/orders`, { amount: 100 });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('ORDER_STAGE_NOT_REACHED');

      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { needsSummary: '数据中台' } });
      expect((await c.rep.post(`/opportunities/${id}/complete-stage`)).body.stageId).toBe('solution');

      // 方案设计 needs the supervisor.
      await c.rep.put(`/opportunities/${id}/stage-form`, {
        values: { designDoc: '方案 v1', customerFeedback: '认可' },
      });
      r = await c.rep.post(`/opportunities/${id}/complete-stage`);
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ stageId: 'solution', approval: { state: 'pending', action: 'complete' } });
      r = await c.rep.post(`/opportunities/${id}/complete-stage`);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('APPROVAL_PENDING');
      const pending = (await c.mgr.get('/approvals?state=pending')).body.items;
      expect(pending).toHaveLength(1);
      expect(pending[0]).toMatchObject({
        opportunityId: id,
        stageName: '方案设计',
        approverId: 'mgr',
        requestedBy: 'rep',
      });
      // Anyone but the direct supervisor is refused.
      for (const who of [c.mgr2, c.rep, c.admin])
        expect((await who.post(`/approvals/${pending[0].id}/approve`, { comment: 'x' })).status).toBe(403);
      r = await c.mgr.post(`/approvals/${pending[0].id}/approve`, { comment: '同意' });
      expect(r.status).toBe(200);
      expect(r.body.opportunity).toMatchObject({ stageId: 'quote', winRate: 80 });
      expect((await c.mgr.post(`/approvals/${pending[0].id}/approve`, {})).status).toBe(409);

      // Win needs an order.
      r = await c.rep.post(`/opportunities/${id}/win`);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('ORDER_REQUIRED');
      r = await c.rep.post(`/opportunities/${id}/orders`, { amount: 2_500_000 });
      expect(r.status).toBe(201);
      r = await c.rep.post(`/opportunities/${id}/win`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'won', phase: 'postsale', stageId: 'install', winRate: 100 });

      // Post-sale staff work the post-sale stages; others cannot.
      expect((await c.post.post(`/opportunities/${id}/complete-stage`)).status).toBe(403);
      expect((await c.rep.put(`/opportunities/${id}/post-sale-staff`, { userIds: ['post'] })).status).toBe(200);
      for (const next of ['training', 'acceptance']) {
        r = await c.post.post(`/opportunities/${id}/complete-stage`);
        expect(r.status).toBe(200);
        expect(r.body.stageId).toBe(next);
      }
      r = await c.post.post(`/opportunities/${id}/complete-stage`);
      expect(r.body).toMatchObject({ status: 'won', phase: 'done', stageId: null });

      const history = (await c.rep.get(`/opportunities/${id}/history`)).body.items;
      expect(history.map((h: any) => [h.action, h.fromStageId, h.toStageId])).toEqual([
        ['create', null, 'visit'],
        ['complete', 'visit', 'needs'],
        ['complete', 'needs', 'solution'],
        ['complete', 'solution', 'quote'],
        ['win', 'quote', 'install'],
        ['complete', 'install', 'training'],
        ['complete', 'training', 'acceptance'],
        ['complete', 'acceptance', null],
      ]);
      expect(history[3].actorId).toBe('mgr');
      expect(history[1].values.stage).toEqual({ visitNotes: '拜访了信息部' });
    });

    it('loses with a reason from the field definition, and invalidates', async () => {
      const a = (await newOpp(c.rep, c.processId, c.customerId, '待输单')).body.id;
      let r = await c.rep.post(`/opportunities/${a}/lose`, {});
      expect(r.status).toBe(400);
      expect(r.body.error.details[0].path).toBe('reason');
      r = await c.rep.post(`/opportunities/${a}/lose`, { reason: 'weather' });
      expect(r.status).toBe(400);
      r = await c.rep.post(`/opportunities/${a}/lose`, { reason: 'price' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        status: 'lost',
        phase: 'done',
        stageId: 'visit',
        lostReason: 'price',
        winRate: 0,
        terminalName: '输单',
      });
      expect((await c.rep.post(`/opportunities/${a}/complete-stage`)).body.error.code).toBe('INVALID_TRANSITION');

      const b = (await newOpp(c.rep, c.processId, c.customerId, '无效')).body.id;
      r = await c.rep.post(`/opportunities/${b}/invalidate`);
      expect(r.body).toMatchObject({ status: 'invalid', phase: 'done' });
    });

    it('moves back to an earlier stage, recorded in the history', async () => {
      const id = (await newOpp(c.rep, c.processId, c.customerId, '退回')).body.id;
      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { visitNotes: 'x' } });
      await c.rep.post(`/opportunities/${id}/complete-stage`);
      let r = await c.rep.post(`/opportunities/${id}/move-back`, { stageId: 'quote' });
      expect(r.status).toBe(422);
      r = await c.rep.post(`/opportunities/${id}/move-back`, { stageId: 'visit' });
      expect(r.body.stageId).toBe('visit');
      const last = (await c.rep.get(`/opportunities/${id}/history`)).body.items.at(-1);
      expect(last).toMatchObject({ action: 'move-back', fromStageId: 'needs', toStageId: 'visit' });
    });

    it("keeps other people's opportunities private within the tenant", async () => {
      const id = (await newOpp(c.rep, c.processId, c.customerId, '私有')).body.id;
      expect((await c.rep2.get(`/opportunities/${id}`)).status).toBe(403);
      expect((await c.rep2.post(`/opportunities/${id}/complete-stage`)).status).toBe(403);
      expect((await c.mgr.get(`/opportunities/${id}`)).status).toBe(200);
      expect((await c.rep2.get('/opportunities')).body.items.some((o: { id: string }) => o.id === id)).toBe(false);
      expect(
        (await c.rep.post('/processes', { name: 'x', definition: { presale: [{ id: 'a', name: 'A' }] } })).status,
      ).toBe(403);
    });

    it('pages the opportunity list with opaque cursors', async () => {
      const all: string[] = [];
      let cursor: string | null = null;
      do {
        const r: { body: { items: { id: string }[]; nextCursor: string | null } } = await c.mgr.get(
          `/opportunities?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        all.push(...r.body.items.map((o) => o.id));
        cursor = r.body.nextCursor;
      } while (cursor);
      const once = (await c.mgr.get('/opportunities?limit=200')).body.items.map((o: { id: string }) => o.id);
      expect(all).toEqual(once);
      expect(new Set(all).size).toBe(all.length);
      expect((await c.mgr.get('/opportunities?cursor=nonsense')).status).toBe(400);
    });

    it('lets exactly one of 100 concurrent complete-stage requests move the opportunity', async () => {
      const id = (await newOpp(c.rep, c.processId, c.customerId, '并发')).body.id;
      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { visitNotes: 'x' } });
      const results = await Promise.all(
        Array.from({ length: 100 }, () => c.rep.post(`/opportunities/${id}/complete-stage`)),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      // The rest find it in 需求分析匹配 with its summary empty.
      expect(results.filter((r) => r.status === 422).length).toBe(99);
      const history = (await c.rep.get(`/opportunities/${id}/history`)).body.items;
      expect(history.filter((h: { action: string }) => h.action === 'complete')).toHaveLength(1);
    });
  });

  // Commands decide on the state this instance last read or wrote; another instance's
  // changes reach it only through the rev the database bumps. Here the changes are made
  // straight in the database, as another instance (or a host's own SQL) would.
  describe(`commands after changes made elsewhere on ${kind.name}`, () => {
    let t: TestServer;
    let c: Awaited<ReturnType<typeof company>>;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      c = await company(t, 'elsewhere');
    });
    afterAll(() => t.close());
    const exec = (q: ReturnType<typeof sql>) => t.database.db.execute(q);

    /** An opportunity whose 初次拜访 is complete-able, read once so this instance knows it. */
    async function ready(name: string) {
      // The rep's own customer: salespeople write customers they own (SPEC §9).
      const customerId = (await c.rep.post('/customers', { name: `客户 ${name}`, fields: {} })).body.id;
      await c.rep.post(`/customers/${customerId}/contacts`, { name: '林总' });
      const second = (await c.rep.post(`/customers/${customerId}/contacts`, { name: '马工' })).body.id as string;
      const id = (await newOpp(c.rep, c.processId, customerId, name)).body.id as string;
      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { industry: 'it', visitNotes: '见面' } });
      expect((await c.rep.get(`/opportunities/${id}`)).body.gates.every((g: { met: boolean }) => g.met)).toBe(true);
      return { id, customerId, second };
    }

    it('refuses a move when a contact it needs was deleted elsewhere', async () => {
      const o = await ready('联系人');
      await exec(sql`delete from contacts where id = ${o.second}`);
      const r = await c.rep.post(`/opportunities/${o.id}/complete-stage`);
      expect(r.status).toBe(422);
      expect(r.body.error.details).toMatchObject([{ gate: 'minContacts', have: 1, need: 2 }]);
    });

    it('refuses a move when a required customer field was emptied elsewhere', async () => {
      const o = await ready('字段');
      await exec(sql`update customers set fields = '{}'::jsonb where id = ${o.customerId}`);
      const r = await c.rep.post(`/opportunities/${o.id}/complete-stage`);
      expect(r.status).toBe(422);
      expect(r.body.error.details.map((d: { key?: string }) => d.key)).toEqual(['industry']);
    });

    it('refuses a supervisor whose report was moved to another supervisor elsewhere', async () => {
      const o = await ready('上级');
      expect((await c.mgr.get(`/opportunities/${o.id}`)).status).toBe(200);
      await exec(sql`update users set manager_id = 'mgr2' where tenant_id = 'elsewhere' and id = 'rep'`);
      try {
        expect((await c.mgr.post(`/opportunities/${o.id}/complete-stage`)).status).toBe(403);
        expect((await c.mgr2.post(`/opportunities/${o.id}/complete-stage`)).status).toBe(200);
      } finally {
        await exec(sql`update users set manager_id = 'mgr' where tenant_id = 'elsewhere' and id = 'rep'`);
      }
    });

    it('moves on what it knows when nothing changed, and after a change to the opportunity itself', async () => {
      const o = await ready('未变');
      expect((await c.rep.post(`/opportunities/${o.id}/complete-stage`)).status).toBe(200);
      await c.rep.put(`/opportunities/${o.id}/stage-form`, { values: { needsSummary: '需求' } });
      expect((await c.rep.get(`/opportunities/${o.id}`)).body.stageId).toBe('needs');
      // Back to 初次拜访 elsewhere (without touching rev: the database bumps it). Deciding on
      // what this instance knew would complete 需求分析匹配 instead.
      await exec(sql`update opportunities set stage_id = 'visit', stage_entry = stage_entry + 1 where id = ${o.id}`);
      const r = await c.rep.post(`/opportunities/${o.id}/complete-stage`);
      expect(r.status).toBe(200);
      expect(r.body.stageId).toBe('needs');
      const history = (await c.rep.get(`/opportunities/${o.id}/history`)).body.items;
      expect(
        history
          .filter((h: { action: string }) => h.action === 'complete')
          .map((h: { fromStageId: string }) => h.fromStageId),
      ).toEqual(['visit', 'visit']);
    });
  });

  describe(`publishing and lifecycle on ${kind.name}`, () => {
    let t: TestServer;
    let c: Awaited<ReturnType<typeof company>>;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      c = await company(t);
    });
    afterAll(() => t.close());

    it('publishes update-existing: a removed stage needs a target, then every live opportunity moves', async () => {
      const inQuote = (await newOpp(c.rep, c.processId, c.customerId, 'Q')).body.id;
      await toQuote(c, inQuote);
      const inVisit = (await newOpp(c.rep, c.processId, c.customerId, 'V')).body.id;
      const lost = (await newOpp(c.rep, c.processId, c.customerId, 'L')).body.id;
      await c.rep.post(`/opportunities/${lost}/lose`, { reason: 'price' });

      const { body: current } = await c.admin.get(`/processes/${c.processId}/draft`);
      expect(current.problems).toEqual([]);
      const draft = structuredClone(current.draft);
      draft.definition.presale = draft.definition.presale.filter((s: { id: string }) => s.id !== 'quote');
      draft.definition.presale.push({
        id: 'negotiate',
        name: '商务谈判',
        winRate: 90,
        requirements: '',
        remindAfterDays: null,
        requiresApproval: false,
        minContacts: 0,
        fields: [],
      });
      draft.definition.presale[0].name = '首次拜访';
      expect((await c.admin.put(`/processes/${c.processId}/draft`, draft)).status).toBe(200);

      const preview = await c.admin.post(`/processes/${c.processId}/publish/preview`, { mode: 'update-existing' });
      expect(preview.status).toBe(200);
      expect(preview.body.unmapped).toEqual([{ stageId: 'quote', name: '报价竞标', count: 1 }]);
      expect(preview.body.affected).toBe(2); // the lost one stays on its version
      expect(preview.body.changes.map((x: { kind: string }) => x.kind)).toEqual(
        expect.arrayContaining(['removed', 'added', 'renamed']),
      );

      let r = await c.admin.post(`/processes/${c.processId}/publish`, { mode: 'update-existing' });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('PUBLISH_MAPPING_REQUIRED');
      expect(r.body.error.details[0]).toMatchObject({ stageId: 'quote', count: 1 });
      expect((await c.admin.get(`/processes/${c.processId}`)).body.version).toBe(1);
      r = await c.admin.post(`/processes/${c.processId}/publish`, {
        mode: 'update-existing',
        stageMapping: { quote: 'nowhere' },
      });
      expect(r.status).toBe(422);

      r = await c.admin.post(`/processes/${c.processId}/publish`, {
        mode: 'update-existing',
        stageMapping: { quote: 'negotiate' },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ processId: c.processId, version: 2, moved: 2 });
      expect((await c.rep.get(`/opportunities/${inQuote}`)).body).toMatchObject({
        processVersion: 2,
        stageId: 'negotiate',
        winRate: 90,
      });
      expect((await c.rep.get(`/opportunities/${inVisit}`)).body).toMatchObject({
        processVersion: 2,
        stageId: 'visit',
        stageName: '首次拜访',
      });
      expect((await c.rep.get(`/opportunities/${lost}`)).body).toMatchObject({ processVersion: 1, status: 'lost' });
      expect((await c.rep.get(`/opportunities/${inQuote}/history`)).body.items.at(-1)).toMatchObject({
        action: 'migrate',
        fromStageId: 'quote',
        toStageId: 'negotiate',
      });
      const fresh = await newOpp(c.rep, c.processId, c.customerId, 'new');
      expect(fresh.body).toMatchObject({ processVersion: 2, stageName: '首次拜访' });
      const process = (await c.admin.get(`/processes/${c.processId}`)).body;
      expect(process.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    });

    it('publishes new-process: a new process for new opportunities, the old one untouched and optionally disabled', async () => {
      const before = (await newOpp(c.rep, c.processId, c.customerId, 'old')).body;
      const { body } = await c.admin.get(`/processes/${c.processId}/draft`);
      body.draft.name = '重要客户销售流程 2027';
      await c.admin.put(`/processes/${c.processId}/draft`, body.draft);
      const r = await c.admin.post(`/processes/${c.processId}/publish`, { mode: 'new-process', disableOld: true });
      expect(r.status).toBe(200);
      expect(r.body.processId).not.toBe(c.processId);
      const old = (await c.admin.get(`/processes/${c.processId}`)).body;
      expect(old).toMatchObject({ status: 'disabled', version: before.processVersion });
      expect((await c.admin.get(`/processes/${r.body.processId}`)).body).toMatchObject({
        name: '重要客户销售流程 2027',
        status: 'enabled',
        version: 1,
        derivedFrom: c.processId,
      });
      // The old draft went back to the old process' own version.
      expect((await c.admin.get(`/processes/${c.processId}/draft`)).body.draft.name).toBe('重要客户销售流程');
      expect((await c.rep.get(`/opportunities/${before.id}`)).body).toMatchObject({
        processId: c.processId,
        processVersion: before.processVersion,
      });
      expect((await c.admin.get('/processes?usableBy=rep')).body.items.map((p: { id: string }) => p.id)).toEqual([
        r.body.processId,
      ]);
      // Disabled: no new opportunities, but existing ones keep flowing.
      expect((await newOpp(c.rep, c.processId, c.customerId)).body.error.code).toBe('PROCESS_DISABLED');
      await c.rep.put(`/opportunities/${before.id}/stage-form`, { values: { visitNotes: '继续' } });
      expect((await c.rep.post(`/opportunities/${before.id}/complete-stage`)).status).toBe(200);
      // Change process: only to an enabled, applicable one.
      expect((await c.rep.post(`/opportunities/${before.id}/change-process`, { processId: c.processId })).status).toBe(
        422,
      );
      const moved = await c.rep.post(`/opportunities/${before.id}/change-process`, { processId: r.body.processId });
      // It lands in the stage with the id it was in (需求分析匹配), which the new process has too.
      expect(moved.body).toMatchObject({ processId: r.body.processId, stageId: 'needs', processVersion: 1 });
      // Enable brings it back.
      await c.admin.post(`/processes/${c.processId}/enable`);
      expect((await newOpp(c.rep, c.processId, c.customerId)).status).toBe(201);
    });

    it('deletes only unused processes, by the tenant setting', async () => {
      const inUse = await c.admin.delete(`/processes/${c.processId}`);
      expect(inUse.status).toBe(409);
      expect(inUse.body.error.code).toBe('PROCESS_IN_USE');
      const unused = (
        await c.admin.post('/processes', {
          name: '临时',
          departments: [],
          definition: { presale: [{ id: 'a', name: 'A' }] },
        })
      ).body.id;
      expect((await c.admin.get('/settings')).body).toEqual({ deleteRequiresStatus: 'enabled' });
      await c.admin.post(`/processes/${unused}/disable`);
      // The seed's rule: only enabled ones can be deleted.
      expect((await c.admin.delete(`/processes/${unused}`)).status).toBe(409);
      await c.admin.put('/settings', { deleteRequiresStatus: 'disabled' });
      expect((await c.admin.delete(`/processes/${unused}`)).status).toBe(204);
      expect((await c.admin.get(`/processes/${unused}`)).status).toBe(404);
    });

    it('refuses to publish an invalid draft, naming each problem', async () => {
      const { body } = await c.admin.get(`/processes/${c.processId}/draft`);
      body.draft.definition.presale[1].name = '';
      body.draft.definition.presale.push({ ...body.draft.definition.presale[0], id: 'dup' });
      await c.admin.put(`/processes/${c.processId}/draft`, body.draft);
      const r = await c.admin.post(`/processes/${c.processId}/publish`, { mode: 'update-existing' });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('DEFINITION_INVALID');
      expect(r.body.error.details.map((d: { code: string }) => d.code)).toEqual([
        'STAGE_NAME_REQUIRED',
        'DUPLICATE_STAGE_NAME',
      ]);
      const bad = await c.admin.put(`/processes/${c.processId}/draft`, {
        ...body.draft,
        definition: { presale: [{ id: 'a', winRate: 250 }] },
      });
      expect(bad.status).toBe(400);
    });
  });

  describe(`tenant isolation on ${kind.name}`, () => {
    it("never shows or changes another tenant's records: 404 on every endpoint", async () => {
      const t = await startTestServer(await kind.open());
      try {
        const c = await company(t, 't1');
        const opp = (await newOpp(c.rep, c.processId, c.customerId)).body.id;
        await c.rep.post(`/customers/${c.customerId}/contacts`, { name: '林总' });
        const contactId = (await c.admin.get(`/customers/${c.customerId}`)).body.contacts[0].id;
        await c.rep.put(`/opportunities/${opp}/stage-form`, { values: { industry: 'it', visitNotes: 'x' } });
        const c2 = await company(t, 't2');
        const intruders = [
          c2.admin,
          t.as('mgr', ['admin', 'supervisor', 'analyst'], 't2'),
          t.as('rep', ['sales'], 't2'),
        ];
        const calls: [string, string, unknown?][] = [
          ['GET', `/customers/${c.customerId}`],
          ['POST', `/customers/${c.customerId}/contacts`, { name: 'x' }],
          ['DELETE', `/customers/${c.customerId}/contacts/${contactId}`],
          ['GET', `/processes/${c.processId}`],
          ['GET', `/processes/${c.processId}/draft`],
          ['PUT', `/processes/${c.processId}/draft`, processDraftSchema.parse({ name: 'x' })],
          ['POST', `/processes/${c.processId}/publish/preview`, { mode: 'update-existing' }],
          ['POST', `/processes/${c.processId}/publish`, { mode: 'update-existing' }],
          ['POST', `/processes/${c.processId}/enable`],
          ['POST', `/processes/${c.processId}/disable`],
          ['DELETE', `/processes/${c.processId}`],
          ['GET', `/opportunities/${opp}`],
          ['PUT', `/opportunities/${opp}/stage-form`, { values: { visitNotes: 'y' } }],
          ['POST', `/opportunities/${opp}/complete-stage`],
          ['POST', `/opportunities/${opp}/move-back`, { stageId: 'visit' }],
          ['POST', `/opportunities/${opp}/win`],
          ['POST', `/opportunities/${opp}/lose`, { reason: 'price' }],
          ['POST', `/opportunities/${opp}/invalidate`],
          ['POST', `/opportunities/${opp}/change-process`, { processId: c2.processId }],
          ['GET', `/opportunities/${opp}/history`],
          ['GET', `/opportunities/${opp}/orders`],
          ['POST', `/opportunities/${opp}/orders`, { amount: 1 }],
          ['PUT', `/opportunities/${opp}/post-sale-staff`, { userIds: ['post'] }],
        ];
        for (const who of intruders)
          for (const [method, path, body] of calls) {
            const r = await who.request(method, path, body);
            expect(r.status, `${method} ${path}`).toBe(404);
          }
        // Opportunities of t2 cannot point at t1's process or customer either.
        expect((await newOpp(c2.rep, c.processId, c2.customerId)).status).toBe(400);
        expect((await newOpp(c2.rep, c2.processId, c.customerId)).status).toBe(400);
        // Lists never leak.
        for (const who of intruders) {
          expect(
            (await who.get('/opportunities?limit=200')).body.items.every((o: { id: string }) => o.id !== opp),
          ).toBe(true);
          expect((await who.get('/processes')).body.items.every((p: { id: string }) => p.id !== c.processId)).toBe(
            true,
          );
          expect((await who.get('/customers')).body.items.every((x: { id: string }) => x.id !== c.customerId)).toBe(
            true,
          );
          expect((await who.get('/approvals')).body.items).toEqual([]);
        }
        // And nothing changed in t1.
        const after = (await c.rep.get(`/opportunities/${opp}`)).body;
        expect(after).toMatchObject({ stageId: 'visit', status: 'open', processVersion: 1 });
        expect((await c.admin.get(`/processes/${c.processId}`)).body).toMatchObject({ status: 'enabled', version: 1 });
        expect((await c.admin.get(`/customers/${c.customerId}`)).body.contacts).toHaveLength(1);
      } finally {
        await t.close();
      }
    });
  });
}

for (const kind of testDatabases()) {
  describe(`a process designed from scratch on ${kind.name}`, () => {
    it('starts unpublished and disabled, cannot be enabled or used, and its first publish enables it as v1', async () => {
      const t = await startTestServer(await kind.open());
      try {
        const c = await company(t);
        const created = await c.admin.post('/processes', { name: '新流程', departments: ['sales'], asDraft: true });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({
          status: 'disabled',
          version: 0,
          versions: [],
          definition: { presale: [] },
        });
        const id = created.body.id;
        expect((await c.admin.post(`/processes/${id}/enable`)).body.error.code).toBe('CONFLICT');
        expect((await newOpp(c.rep, id, c.customerId)).body.error.code).toBe('PROCESS_DISABLED');
        const { body } = await c.admin.get(`/processes/${id}/draft`);
        expect(body.problems.map((p: { code: string }) => p.code)).toEqual(['PRESALE_REQUIRED']);
        expect((await c.admin.post(`/processes/${id}/publish`, { mode: 'update-existing' })).body.error.code).toBe(
          'DEFINITION_INVALID',
        );
        body.draft.definition.presale = [
          {
            id: 'a',
            name: '初次拜访',
            winRate: 10,
            requirements: '',
            remindAfterDays: null,
            requiresApproval: false,
            minContacts: 0,
            fields: [],
          },
        ];
        await c.admin.put(`/processes/${id}/draft`, body.draft);
        expect((await c.admin.post(`/processes/${id}/publish`, { mode: 'update-existing' })).body).toMatchObject({
          version: 1,
          moved: 0,
        });
        expect((await c.admin.get(`/processes/${id}`)).body).toMatchObject({ status: 'enabled', version: 1 });
        expect((await newOpp(c.rep, id, c.customerId)).body).toMatchObject({ stageId: 'a', processVersion: 1 });
      } finally {
        await t.close();
      }
    });
  });
}
