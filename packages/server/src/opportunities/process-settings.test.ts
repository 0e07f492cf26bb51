import { processDefinitionSchema, seedProcessDefinition } from '@sales-process/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

/**
 * The process settings of issue 20 as the server enforces them: contact roles (a stage's
 * `requiredContactRoles` gate, roles on contacts, the field's archive rule), post-sale teams
 * assigned on a win and on entering a stage with its own team (and the reminders that follow
 * them), field conditions (`appliesWhen`) on listing, creating and changing process, and
 * changing process with a landing stage and its preview. Each in a tenant of its own.
 */

const DAY = 86_400_000;

/** The seed's process with 初次拜访 requiring a 关键决策人 (core's seed itself requires none). */
const withRoles = processDefinitionSchema.parse({
  ...seedProcessDefinition,
  presale: seedProcessDefinition.presale.map((s) =>
    s.id === 'visit' ? { ...s, requiredContactRoles: ['decisionMaker'] } : s,
  ),
});

/** No gates; two post-sale stages, the second with a team of its own. */
const teamed = processDefinitionSchema.parse({
  presale: [
    { id: 'a', name: 'A', winRate: 10 },
    { id: 'b', name: 'B', winRate: 50 },
  ],
  postsale: [
    { id: 'p1', name: '安装', remindAfterDays: 2, overdueAfterDays: 5 },
    { id: 'p2', name: '培训', team: { userIds: ['trainer'], departments: [] } },
  ],
  postsaleTeam: { userIds: ['lead', 'ghost'], departments: ['service'] },
});

for (const kind of testDatabases()) {
  describe(`process settings on ${kind.name}`, () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
    });
    afterAll(() => t.close());

    /** A tenant with a small company: sales, a service department (and a sub-team), ops. */
    async function company(tenant: string) {
      const admin = t.as('admin', ['admin'], tenant);
      const sync = await admin.post('/directory/sync', {
        departments: [
          { id: 'sales', name: '销售部' },
          { id: 'service', name: '售后服务部' },
          { id: 'service-north', name: '售后北区', parentId: 'service' },
          { id: 'ops', name: '运维部' },
        ],
        users: [
          { id: 'admin', name: '管理员', departmentId: 'sales', roles: ['admin'] },
          { id: 'mgr', name: '李经理', departmentId: 'sales', roles: ['supervisor'] },
          { id: 'rep', name: '张三', departmentId: 'sales', managerId: 'mgr', roles: ['sales'] },
          { id: 'lead', name: '甲组长', departmentId: 'sales', roles: ['sales'] },
          { id: 'trainer', name: '乙讲师', departmentId: 'sales', roles: [] },
          { id: 'post1', name: '陈工', departmentId: 'service', roles: ['postsale'] },
          { id: 'post2', name: '丁工', departmentId: 'service-north', roles: ['postsale'] },
          { id: 'clerk', name: '文员', departmentId: 'service', roles: [] },
          { id: 'ops1', name: '运维一', departmentId: 'ops', roles: [] },
          { id: 'ops2', name: '运维二', departmentId: 'ops', roles: [] },
        ],
      });
      expect(sync.status).toBe(200);
      const as = (user: string, roles = ['sales']) => t.as(user, roles, tenant);
      const rep = as('rep');
      const customer = async (name: string, fields: Record<string, unknown> = { industry: 'it' }) => {
        const r = await admin.post('/customers', { name, fields });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        return r.body.id as string;
      };
      const process = async (name: string, definition: unknown, departments: string[] = []) => {
        const r = await admin.post('/processes', { name, departments, definition });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        return r.body.id as string;
      };
      const opp = async (customerId: string, processId?: string, fields: Record<string, unknown> = {}) => {
        const r = await rep.post('/opportunities', { name: 'O', customerId, amount: 100, fields, processId });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        return r.body;
      };
      const move = async (user: string, id: string, path: string, body: unknown = {}, roles = ['sales']) => {
        const r = await as(user, roles).post(`/opportunities/${id}/${path}`, body);
        expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
        return r.body;
      };
      return { admin, as, rep, customer, process, opp, move };
    }

    describe('contact roles', () => {
      it('stores roles on contacts, refusing unknown and archived ones at body.roles.N', async () => {
        const c = await company('roles1');
        const cus = await c.customer('华润');
        const added = await c.rep.post(`/customers/${cus}/contacts`, {
          name: '刘总',
          roles: ['direct', 'decisionMaker'],
        });
        // The customer is the admin's: the salesperson may write it once they own an opportunity on it.
        expect(added.status).toBe(403);
        const ok = await c.admin.post(`/customers/${cus}/contacts`, {
          name: '刘总',
          roles: ['direct', 'decisionMaker'],
        });
        expect(ok.status).toBe(201);
        expect(ok.body).toMatchObject({ name: '刘总', roles: ['direct', 'decisionMaker'] });
        const plain = await c.admin.post(`/customers/${cus}/contacts`, { name: '钱经理' });
        expect(plain.body.roles).toEqual([]);
        const buyer = await c.admin.post(`/customers/${cus}/contacts`, { name: '采购员', roles: ['procurement'] });
        expect(buyer.status).toBe(201);

        const unknown = await c.admin.post(`/customers/${cus}/contacts`, { name: 'X', roles: ['direct', 'ceo'] });
        expect(unknown.status).toBe(400);
        expect(unknown.body.error.code).toBe('VALIDATION_FAILED');
        expect(unknown.body.error.details.map((d: { path: string }) => d.path)).toEqual(['body.roles.1']);
        const twice = await c.admin.post(`/customers/${cus}/contacts`, { name: 'X', roles: ['direct', 'direct'] });
        expect(twice.status).toBe(400);

        // 采购 archived: no longer given to anyone, kept by whoever holds it.
        const field = (await c.admin.get('/fields/contact?includeArchived=true')).body.items.find(
          (f: { key: string }) => f.key === 'role',
        );
        expect(field.options.map((o: { value: string }) => o.value)).toEqual([
          'direct',
          'decisionMaker',
          'technical',
          'procurement',
        ]);
        const archived = await c.admin.patch('/fields/contact/role', {
          options: field.options.map((o: { value: string }) =>
            o.value === 'procurement' ? { ...o, archived: true } : o,
          ),
        });
        expect(archived.status, JSON.stringify(archived.body)).toBe(200);
        const refused = await c.admin.post(`/customers/${cus}/contacts`, { name: 'Y', roles: ['procurement'] });
        expect(refused.status).toBe(400);
        expect(refused.body.error.details[0]).toMatchObject({ path: 'body.roles.0' });
        expect(refused.body.error.details[0].message.zh).toContain('采购');
        const toPlain = await c.admin.patch(`/customers/${cus}/contacts/${plain.body.id}`, { roles: ['procurement'] });
        expect([toPlain.status, toPlain.body.error?.details[0].path]).toEqual([400, 'body.roles.0']);
        const kept = await c.admin.patch(`/customers/${cus}/contacts/${buyer.body.id}`, {
          title: '采购主管',
          roles: ['procurement', 'technical'],
        });
        expect(kept.status, JSON.stringify(kept.body)).toBe(200);
        expect(kept.body).toMatchObject({ title: '采购主管', roles: ['procurement', 'technical'] });

        // PATCH: only what is given; null empties; another customer's contact is 404.
        const edited = await c.admin.patch(`/customers/${cus}/contacts/${ok.body.id}`, {
          name: '刘总经理',
          phone: '010-1',
          roles: ['decisionMaker'],
        });
        expect(edited.body).toMatchObject({ name: '刘总经理', phone: '010-1', roles: ['decisionMaker'] });
        expect((await c.admin.patch(`/customers/${cus}/contacts/${ok.body.id}`, { phone: null })).body.phone).toBe(
          null,
        );
        const other = await c.customer('别家');
        expect((await c.admin.patch(`/customers/${other}/contacts/${ok.body.id}`, { name: 'Z' })).status).toBe(404);
        const contacts = (await c.admin.get(`/customers/${cus}`)).body.contacts;
        expect(contacts.map((x: { name: string; roles: string[] }) => [x.name, x.roles])).toEqual([
          ['刘总经理', ['decisionMaker']],
          ['钱经理', []],
          ['采购员', ['procurement', 'technical']],
        ]);
      });

      it('blocks 初次拜访 until a contact is a 关键决策人, naming the role in both languages', async () => {
        const c = await company('roles2');
        const processId = await c.process('要决策人', withRoles);
        const cus = await c.customer('宝钢');
        const o = await c.opp(cus, processId);
        const first = (await c.rep.post(`/customers/${cus}/contacts`, { name: '马工', roles: ['technical'] })).body;
        await c.rep.post(`/customers/${cus}/contacts`, { name: '郑经理', roles: ['direct'] });
        await c.rep.put(`/opportunities/${o.id}/stage-form`, { values: { industry: 'it', visitNotes: '见面' } });

        const blocked = await c.rep.post(`/opportunities/${o.id}/complete-stage`, {});
        expect(blocked.status).toBe(422);
        expect(blocked.body.error.code).toBe('STAGE_GATES_UNMET');
        expect(blocked.body.error.details).toEqual([
          {
            gate: 'contactRole',
            role: 'decisionMaker',
            message: {
              zh: '客户还没有“关键决策人”角色的联系人',
              en: 'The customer has no contact with the role "Decision maker"',
            },
          },
        ]);
        const view = (await c.rep.get(`/opportunities/${o.id}`)).body;
        expect(view.gates.find((g: { gate: string }) => g.gate === 'contactRole')).toMatchObject({
          role: 'decisionMaker',
          met: false,
          message: { zh: '客户还没有“关键决策人”角色的联系人' },
        });
        expect(view.actions).toContain('completeStage');

        // PATCH a contact's roles: the gate is met at once (the view and the command).
        const patched = await c.rep.patch(`/customers/${cus}/contacts/${first.id}`, {
          roles: ['technical', 'decisionMaker'],
        });
        expect(patched.status, JSON.stringify(patched.body)).toBe(200);
        expect(
          (await c.rep.get(`/opportunities/${o.id}`)).body.gates.find((g: { gate: string }) => g.gate === 'contactRole')
            .met,
        ).toBe(true);
        // Taken away again: refused again (the role change is seen by the next command, not a stale state).
        expect((await c.rep.patch(`/customers/${cus}/contacts/${first.id}`, { roles: ['technical'] })).status).toBe(
          200,
        );
        expect((await c.rep.post(`/opportunities/${o.id}/complete-stage`, {})).status).toBe(422);
        await c.rep.patch(`/customers/${cus}/contacts/${first.id}`, { roles: ['technical', 'decisionMaker'] });
        expect((await c.move('rep', o.id, 'complete-stage')).stageId).toBe('needs');

        // A contact added with the role (POST) meets it too.
        const cus2 = await c.customer('海尔');
        const o2 = await c.opp(cus2, processId);
        await c.rep.post(`/customers/${cus2}/contacts`, { name: 'a' });
        await c.rep.put(`/opportunities/${o2.id}/stage-form`, { values: { industry: 'it', visitNotes: '见面' } });
        expect((await c.rep.post(`/customers/${cus2}/contacts`, { name: 'b' })).status).toBe(201);
        expect((await c.rep.post(`/opportunities/${o2.id}/complete-stage`, {})).status).toBe(422);
        await c.rep.post(`/customers/${cus2}/contacts`, { name: '林总', roles: ['decisionMaker'] });
        expect((await c.move('rep', o2.id, 'complete-stage')).stageId).toBe('needs');
      });

      it('refuses to archive contact.role while a published process requires roles; an option may be archived', async () => {
        const c = await company('roles3');
        // No process requires roles: the field may be archived and restored.
        expect((await c.admin.delete('/fields/contact/role')).status).toBe(200);
        expect((await c.admin.patch('/fields/contact/role', { archived: false })).status).toBe(200);
        await c.process('普通', seedProcessDefinition);
        const processId = await c.process('要决策人', withRoles);
        const refused = await c.admin.delete('/fields/contact/role');
        expect(refused.status).toBe(409);
        expect(refused.body.error.code).toBe('CONFLICT');
        expect(refused.body.error.details).toEqual([
          expect.objectContaining({ processId, processName: '要决策人', stages: ['visit'] }),
        ]);
        // Archiving the option it requires is allowed; publishing it anew is then refused.
        const field = (await c.admin.get('/fields/contact')).body.items.find((f: { key: string }) => f.key === 'role');
        const options = field.options.map((o: { value: string }) =>
          o.value === 'decisionMaker' ? { ...o, archived: true } : o,
        );
        expect((await c.admin.patch('/fields/contact/role', { options })).status).toBe(200);
        const again = await c.admin.post('/processes', { name: '再来', departments: [], definition: withRoles });
        expect(again.status).toBe(422);
        expect(again.body.error.details).toEqual([
          expect.objectContaining({ code: 'CONTACT_ROLE_UNKNOWN', path: 'presale.0.requiredContactRoles.0' }),
        ]);
      });
    });

    describe('post-sale teams', () => {
      it("assigns the process's team on a win (users, then the department's post-sale members), recorded in the history", async () => {
        const c = await company('team1');
        const processId = await c.process('带团队', teamed);
        const cus = await c.customer('甲');
        const o = await c.opp(cus, processId);
        // Assigned by hand before the win: kept, first.
        expect((await c.rep.put(`/opportunities/${o.id}/post-sale-staff`, { userIds: ['ops1'] })).status).toBe(200);
        await c.move('rep', o.id, 'complete-stage');
        t.clock.advance(1000);
        const won = await c.move('rep', o.id, 'win');
        // lead (a user), not ghost (no such user), then service's members with the postsale
        // role, its sub-team's included (by id), not its clerk.
        expect(won).toMatchObject({
          phase: 'postsale',
          stageId: 'p1',
          postsaleStaff: ['ops1', 'lead', 'post1', 'post2'],
        });
        const history = (await c.rep.get(`/opportunities/${o.id}/history`)).body.items;
        expect(history.map((h: { action: string }) => h.action)).toEqual([
          'create',
          'complete',
          'win',
          'postsale-team',
        ]);
        expect(history.at(-1)).toMatchObject({
          kind: 'change',
          actorId: 'rep',
          changes: { postsaleStaff: [['ops1'], ['ops1', 'lead', 'post1', 'post2']] },
        });

        // The staff work it, and get its post-sale reminders and overdue notices.
        const tick = () => t.server.services.scheduler.tick();
        const about = async (user: string, roles: string[]) =>
          (await c.as(user, roles).get('/notifications?limit=200')).body.items
            .filter((n: { opportunityId: string }) => n.opportunityId === o.id)
            .map((n: { kind: string }) => n.kind)
            .sort();
        t.clock.advance(2 * DAY + 1000);
        await tick();
        for (const user of ['ops1', 'lead', 'post1', 'post2'])
          expect(await about(user, ['postsale'])).toEqual(['reminder']);
        expect(await about('rep', ['sales'])).toEqual([]);
        t.clock.advance(3 * DAY);
        await tick();
        expect(await about('post1', ['postsale'])).toEqual(['overdue', 'reminder']);
        expect(await about('rep', ['sales'])).toEqual(['overdue']);

        // Edited by hand; entering 培训 adds its own team, keeping everyone there.
        expect((await c.rep.put(`/opportunities/${o.id}/post-sale-staff`, { userIds: ['post1'] })).status).toBe(200);
        const p2 = await c.move('post1', o.id, 'complete-stage', {}, ['postsale']);
        expect(p2).toMatchObject({ stageId: 'p2', postsaleStaff: ['post1', 'trainer'] });
        expect((await c.rep.get(`/opportunities/${o.id}/history`)).body.items.at(-1)).toMatchObject({
          action: 'postsale-team',
          actorId: 'post1',
          changes: { postsaleStaff: [['post1'], ['post1', 'trainer']] },
        });
        // Back and forth: the team is there already, nothing more is recorded.
        await c.move('post1', o.id, 'move-back', { stageId: 'p1' }, ['postsale']);
        await c.move('post1', o.id, 'complete-stage', {}, ['postsale']);
        const actions = (await c.rep.get(`/opportunities/${o.id}/history`)).body.items.map(
          (h: { action: string }) => h.action,
        );
        expect(actions.filter((a: string) => a === 'postsale-team')).toHaveLength(2);
      });

      it("takes a department's members when none holds the postsale role, and assigns nobody without a team", async () => {
        const c = await company('team2');
        const ops = await c.process(
          '运维团队',
          processDefinitionSchema.parse({ ...teamed, postsaleTeam: { userIds: [], departments: ['ops', 'nowhere'] } }),
        );
        const none = await c.process(
          '无团队',
          processDefinitionSchema.parse({ ...teamed, postsaleTeam: { userIds: [], departments: [] } }),
        );
        const cus = await c.customer('乙');
        const a = await c.opp(cus, ops);
        await c.move('rep', a.id, 'complete-stage');
        expect((await c.move('rep', a.id, 'win')).postsaleStaff).toEqual(['ops1', 'ops2']);
        const b = await c.opp(cus, none);
        await c.move('rep', b.id, 'complete-stage');
        expect((await c.move('rep', b.id, 'win')).postsaleStaff).toEqual([]);
        const history = (await c.rep.get(`/opportunities/${b.id}/history`)).body.items;
        expect(history.map((h: { action: string }) => h.action)).toEqual(['create', 'complete', 'win']);
        // With no staff, the post-sale reminder goes to the owner.
        t.clock.advance(2 * DAY + 1000);
        await t.server.services.scheduler.tick();
        const mine = (await c.rep.get('/notifications?limit=200')).body.items.filter(
          (n: { opportunityId: string }) => n.opportunityId === b.id,
        );
        expect(mine.map((n: { kind: string }) => n.kind)).toEqual(['reminder']);
      });

      it('assigns the team when a supervisor approves the win', async () => {
        const c = await company('team3');
        const processId = await c.process(
          '审批赢单',
          processDefinitionSchema.parse({
            ...teamed,
            presale: [{ id: 'a', name: 'A', winRate: 10, requiresApproval: true }],
          }),
        );
        const o = await c.opp(await c.customer('丙'), processId);
        const asked = await c.rep.post(`/opportunities/${o.id}/win`, {});
        expect(asked.status).toBe(202);
        const mgr = c.as('mgr', ['supervisor']);
        const approval = (await mgr.get('/approvals?state=pending')).body.items[0];
        const decided = await mgr.post(`/approvals/${approval.id}/approve`, {});
        expect(decided.status, JSON.stringify(decided.body)).toBe(200);
        expect(decided.body.opportunity).toMatchObject({
          phase: 'postsale',
          postsaleStaff: ['lead', 'post1', 'post2'],
        });
      });
    });

    describe('applicability', () => {
      /** A tenant with 客户类型 and 产品线 fields, and one process per kind of customer. */
      async function conditioned(tenant: string) {
        const c = await company(tenant);
        expect(
          (
            await c.admin.post('/fields/customer', {
              key: 'customerType',
              label: { zh: '客户类型', en: 'Customer type' },
              type: 'select',
              options: [
                { value: 'key', label: { zh: '大客户', en: 'Key account' } },
                { value: 'small', label: { zh: '中小客户', en: 'Small business' } },
              ],
            })
          ).status,
        ).toBe(201);
        expect(
          (
            await c.admin.post('/fields/opportunity', {
              key: 'productLine',
              label: { zh: '产品线', en: 'Product line' },
              type: 'select',
              options: [
                { value: 'hardware', label: { zh: '硬件', en: 'Hardware' } },
                { value: 'software', label: { zh: '软件', en: 'Software' } },
              ],
            })
          ).status,
        ).toBe(201);
        const plain = {
          presale: [
            { id: 'a', name: 'A' },
            { id: 'b', name: 'B' },
          ],
        };
        const key = await c.process('大客户硬件', {
          ...plain,
          appliesWhen: [
            { source: 'customer', key: 'customerType', values: ['key'] },
            { source: 'opportunity', key: 'productLine', values: ['hardware'] },
          ],
        });
        const small = await c.process('中小客户', {
          ...plain,
          appliesWhen: [{ source: 'customer', key: 'customerType', values: ['small'] }],
        });
        const big = await c.customer('大客户甲', { customerType: 'key' });
        const little = await c.customer('小客户乙', { customerType: 'small' });
        return { ...c, key, small, big, little };
      }

      it('judges each usable process for a customer and the values given, and suggests the one that applies', async () => {
        const c = await conditioned('apply1');
        const list = async (query: string) => {
          const r = await c.rep.get(`/processes?usableBy=rep${query}`);
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          return r.body;
        };
        const plainList = await list('');
        expect(plainList.suggestedId).toBeUndefined();
        expect(plainList.items.find((p: { id: string }) => p.id === c.small).appliesWhen).toEqual([
          { source: 'customer', key: 'customerType', values: ['small'] },
        ]);
        // The big customer: the key-account process applies as far as can be told (its product
        // line is not known yet: undecided, not hidden); the small one's does not.
        const forBig = await list(`&customerId=${c.big}`);
        const byId = (body: any, id: string) => body.items.find((p: { id: string }) => p.id === id);
        expect(byId(forBig, c.key)).toMatchObject({
          applies: true,
          unmet: [],
          undecided: [{ source: 'opportunity', key: 'productLine', values: ['hardware'] }],
        });
        expect(byId(forBig, c.small)).toMatchObject({
          applies: false,
          unmet: [{ source: 'customer', key: 'customerType', values: ['small'] }],
          undecided: [],
        });
        expect(forBig.suggestedId).toBe(c.key);
        const software = await list(`&customerId=${c.big}&fields=${encodeURIComponent('{"productLine":"software"}')}`);
        expect(byId(software, c.key)).toMatchObject({
          applies: false,
          unmet: [{ source: 'opportunity', key: 'productLine', values: ['hardware'] }],
        });
        expect(software.suggestedId).toBeNull();
        expect((await list(`&customerId=${c.little}`)).suggestedId).toBe(c.small);
        // Bad input: not an object, no such customer.
        const bad = await c.rep.get('/processes?fields=%5B1%5D');
        expect([bad.status, bad.body.error.details[0].path]).toEqual([400, 'query.fields']);
        expect((await c.rep.get('/processes?customerId=nope')).status).toBe(404);
      });

      it('creates only where the conditions hold, picking the one that applies when none is named', async () => {
        const c = await conditioned('apply2');
        const create = (body: Record<string, unknown>) =>
          c.rep.post('/opportunities', { name: 'O', amount: 100, ...body });
        const refused = await create({ customerId: c.little, processId: c.key, fields: { productLine: 'software' } });
        expect(refused.status).toBe(422);
        expect(refused.body.error.code).toBe('PROCESS_NOT_APPLICABLE');
        expect(refused.body.error.details).toEqual([
          {
            source: 'customer',
            key: 'customerType',
            values: ['key'],
            message: { zh: '客户的“客户类型”须为 大客户', en: `The customer's "Customer type" must be Key account` },
          },
          {
            source: 'opportunity',
            key: 'productLine',
            values: ['hardware'],
            message: { zh: '商机的“产品线”须为 硬件', en: `The opportunity's "Product line" must be Hardware` },
          },
        ]);
        // Named and holding: created.
        expect(
          (await create({ customerId: c.big, processId: c.key, fields: { productLine: 'hardware' } })).status,
        ).toBe(201);
        // None named: the one that applies.
        const picked = await create({ customerId: c.big, fields: { productLine: 'hardware' } });
        expect([picked.status, picked.body.processId]).toEqual([201, c.key]);
        const small = await create({ customerId: c.little });
        expect([small.status, small.body.processId]).toEqual([201, c.small]);
        // None applies (the product line fails the key-account process): 400 as before.
        const none = await create({ customerId: c.big, fields: { productLine: 'software' } });
        expect(none.status).toBe(400);
        expect(none.body.error.details[0]).toMatchObject({ path: 'body.processId', candidates: [] });
        // Several apply: name one.
        await c.process('通用', { presale: [{ id: 'a', name: 'A' }] });
        const several = await create({ customerId: c.little });
        expect(several.status).toBe(400);
        expect(several.body.error.details[0].candidates.sort()).toEqual(
          [
            c.small,
            (await c.rep.get('/processes?usableBy=rep')).body.items.find((p: any) => p.name === '通用').id,
          ].sort(),
        );
        // Editing the opportunity later does not judge the conditions again.
        const edited = await c.rep.patch(`/opportunities/${picked.body.id}`, { fields: { productLine: 'software' } });
        expect(edited.status).toBe(200);
        expect(edited.body.fields.productLine).toBe('software');
      });
    });

    describe('changing process', () => {
      async function setup(tenant: string) {
        const c = await company(tenant);
        const from = await c.process('原流程', {
          presale: [
            { id: 'visit', name: '拜访' },
            { id: 'needs', name: '需求' },
            { id: 'quote', name: '报价' },
          ],
          postsale: [{ id: 'install', name: '安装' }],
        });
        const to = await c.process('新流程', {
          presale: [
            { id: 'first', name: '接触' },
            {
              id: 'needs',
              name: '需求确认',
              minContacts: 1,
              requiredContactRoles: ['decisionMaker'],
              fields: [
                {
                  source: 'stage',
                  key: 'summary',
                  type: 'text',
                  required: true,
                  label: { zh: '需求摘要', en: 'Summary' },
                },
                { source: 'opportunity', key: 'expectedCloseDate', required: false },
              ],
            },
            { id: 'other', name: '其他' },
          ],
          postsale: [{ id: 'p1', name: '交付' }],
        });
        const elsewhere = await c.process('另一流程', {
          presale: [
            { id: 'x', name: 'X' },
            { id: 'y', name: 'Y' },
          ],
        });
        const cus = await c.customer('客户');
        const o = await c.opp(cus, from);
        await c.move('rep', o.id, 'complete-stage');
        return { ...c, from, to, elsewhere, cus, o };
      }

      it('previews where it lands (same id, chosen, first) and then does exactly that, recorded in the history', async () => {
        const c = await setup('change1');
        const preview = async (query: string) => {
          const r = await c.rep.get(`/opportunities/${c.o.id}/change-process?${query}`);
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          return r.body;
        };
        const before = (await c.rep.get(`/opportunities/${c.o.id}`)).body;
        const same = await preview(`processId=${c.to}`);
        expect(same).toEqual({
          processId: c.to,
          processName: '新流程',
          version: 1,
          landing: { stageId: 'needs', stageName: '需求确认', reason: 'sameId' },
          stages: [
            { id: 'first', name: '接触' },
            { id: 'needs', name: '需求确认' },
            { id: 'other', name: '其他' },
          ],
          gates: [
            {
              gate: 'requiredField',
              source: 'stage',
              key: 'summary',
              met: false,
              message: { zh: '必填字段“需求摘要”未填写', en: 'Required field "Summary" is empty' },
            },
            {
              gate: 'minContacts',
              have: 0,
              need: 1,
              met: false,
              message: expect.objectContaining({ zh: expect.any(String), en: expect.any(String) }),
            },
            {
              gate: 'contactRole',
              role: 'decisionMaker',
              met: false,
              message: {
                zh: '客户还没有“关键决策人”角色的联系人',
                en: 'The customer has no contact with the role "Decision maker"',
              },
            },
          ],
        });
        expect((await preview(`processId=${c.to}&stageId=other`)).landing).toEqual({
          stageId: 'other',
          stageName: '其他',
          reason: 'chosen',
        });
        expect((await preview(`processId=${c.elsewhere}`)).landing).toEqual({
          stageId: 'x',
          stageName: 'X',
          reason: 'first',
        });
        // The preview wrote nothing.
        const after = (await c.rep.get(`/opportunities/${c.o.id}`)).body;
        expect(after.updatedAt).toBe(before.updatedAt);
        expect((await c.rep.get(`/opportunities/${c.o.id}/history`)).body.items).toHaveLength(2);

        // A contact with the role: the preview's gates and the view after the change agree.
        await c.rep.post(`/customers/${c.cus}/contacts`, { name: '林总', roles: ['decisionMaker'] });
        const expected = await preview(`processId=${c.to}`);
        t.clock.advance(60_000);
        const changed = await c.rep.post(`/opportunities/${c.o.id}/change-process`, {
          processId: c.to,
          expectedStageId: 'needs',
        });
        expect(changed.status, JSON.stringify(changed.body)).toBe(200);
        expect(changed.body).toMatchObject({
          processId: c.to,
          processVersion: 1,
          stageId: expected.landing.stageId,
          stageName: expected.landing.stageName,
          status: 'open',
          phase: 'presale',
        });
        expect(changed.body.gates).toEqual(expected.gates);
        expect(
          changed.body.path.presale.map((s: { id: string; name: string }) => ({ id: s.id, name: s.name })),
        ).toEqual(expected.stages);
        expect(changed.body.path.maxStageIndex).toBe(1);
        const last = (await c.rep.get(`/opportunities/${c.o.id}/history`)).body.items.at(-1);
        expect(last).toMatchObject({
          kind: 'move',
          action: 'change-process',
          processId: c.to,
          fromStageId: 'needs',
          toStageId: 'needs',
          actorId: 'rep',
          comment: `from 原流程 (${c.from})`,
        });

        // A chosen stage: there it lands.
        const chosen = await c.rep.post(`/opportunities/${c.o.id}/change-process`, {
          processId: c.elsewhere,
          stageId: 'y',
        });
        expect(chosen.body).toMatchObject({ processId: c.elsewhere, stageId: 'y' });
        expect((await c.rep.get(`/opportunities/${c.o.id}/history`)).body.items.at(-1).comment).toBe(
          `from 新流程 (${c.to})`,
        );
      });

      it('refuses in the preview exactly as in the change', async () => {
        const c = await setup('change2');
        const both = async (body: { processId: string; stageId?: string }, user = 'rep', roles = ['sales']) => {
          const query = new URLSearchParams(body).toString();
          const preview = await c.as(user, roles).get(`/opportunities/${c.o.id}/change-process?${query}`);
          const post = await c.as(user, roles).post(`/opportunities/${c.o.id}/change-process`, body);
          expect(post.status, 'the POST matches the preview').toBe(preview.status);
          expect(post.body.error?.code).toBe(preview.body.error?.code);
          expect(post.body.error?.details).toEqual(preview.body.error?.details);
          return [preview.status, preview.body.error?.code];
        };
        // Not a pre-sale stage of the target, and no such stage.
        expect(await both({ processId: c.to, stageId: 'p1' })).toEqual([422, 'INVALID_TRANSITION']);
        expect(await both({ processId: c.to, stageId: 'nope' })).toEqual([422, 'INVALID_TRANSITION']);
        // The same process, one that does not exist, one disabled, one out of the owner's department.
        expect(await both({ processId: c.from })).toEqual([422, 'INVALID_TRANSITION']);
        expect(await both({ processId: 'proc_none' })).toEqual([404, 'NOT_FOUND']);
        await c.admin.post(`/processes/${c.elsewhere}/disable`);
        expect(await both({ processId: c.elsewhere })).toEqual([422, 'PROCESS_DISABLED']);
        const ops = await c.process('运维专用', { presale: [{ id: 'a', name: 'A' }] }, ['ops']);
        expect(await both({ processId: ops })).toEqual([422, 'PROCESS_NOT_APPLICABLE']);
        // Conditions unmet for the customer.
        expect(
          (
            await c.admin.post('/fields/customer', {
              key: 'customerType',
              label: { zh: '客户类型', en: 'Customer type' },
              type: 'select',
              options: [{ value: 'key', label: { zh: '大客户', en: 'Key account' } }],
            })
          ).status,
        ).toBe(201);
        const keyOnly = await c.process('大客户专用', {
          presale: [{ id: 'a', name: 'A' }],
          appliesWhen: [{ source: 'customer', key: 'customerType', values: ['key'] }],
        });
        expect(await both({ processId: keyOnly })).toEqual([422, 'PROCESS_NOT_APPLICABLE']);
        // Someone who may not act on it.
        expect(await both({ processId: c.to }, 'lead')).toEqual([403, 'FORBIDDEN']);
        // A closed one.
        await c.move('rep', c.o.id, 'lose', { reason: 'price' });
        expect(await both({ processId: c.to })).toEqual([422, 'INVALID_TRANSITION']);
        expect((await c.rep.get(`/opportunities/${c.o.id}`)).body).toMatchObject({ processId: c.from, status: 'lost' });
      });
    });
  });
}
