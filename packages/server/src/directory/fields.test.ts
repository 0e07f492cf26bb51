import { processDefinitionSchema } from '@sales-process/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, waitFor, type TestServer } from '../testing/harness.js';

/**
 * Field management (字段管理, SPEC §9): fields are edited, reordered and archived, never
 * deleted; an archived field or option keeps stored values readable and labelled and is
 * not offered for new ones; a field a published stage uses cannot be archived; the lost
 * reason is an ordinary editable select that `lose` checks; every change is audited and
 * announced (cache, stream).
 */
const definition = processDefinitionSchema.parse({
  presale: [
    {
      id: 'visit',
      name: '初次拜访',
      winRate: 10,
      fields: [
        { source: 'customer', key: 'industry', required: false },
        { source: 'stage', key: 'notes', required: false, type: 'text', label: { zh: '记录', en: 'Notes' } },
      ],
    },
    { id: 'offer', name: '报价', winRate: 60 },
  ],
});

type Field = { key: string; label: { zh: string; en: string }; archived?: boolean; options?: Option[] };
type Option = { value: string; label: { zh: string; en: string }; archived?: boolean };
const keys = (items: Field[]) => items.map((f) => f.key);
const option = (f: Field | undefined, value: string) => f?.options?.find((o) => o.value === value);

for (const kind of testDatabases()) {
  describe(`field management on ${kind.name}`, () => {
    let t: TestServer;
    let processId: string;
    const admin = () => t.as('adm', ['admin', 'sales']);
    const sales = () => t.as('rep', ['sales']);
    const field = async (object: string, key: string, all = true): Promise<Field | undefined> =>
      (await admin().get(`/fields/${object}${all ? '?includeArchived=true' : ''}`)).body.items.find(
        (f: Field) => f.key === key,
      );
    const customer = async (name: string, fields: Record<string, unknown>) => {
      const r = await admin().post('/customers', { name, fields });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };
    const opportunity = async (name: string, customerId: string) => {
      const r = await admin().post('/opportunities', { name, customerId, amount: 1000, processId });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };
    const audit = async () =>
      (await admin().get('/audit?targetType=field')).body.items as {
        action: string;
        targetId: string;
        diff: Record<string, [unknown, unknown]>;
      }[];

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      await admin().post('/directory/sync', {
        departments: [{ id: 'd1', name: '销售部' }],
        users: [
          { id: 'adm', name: '管理员', departmentId: 'd1', roles: ['admin', 'sales'] },
          { id: 'rep', name: '销售', departmentId: 'd1', managerId: 'adm', roles: ['sales'] },
        ],
      });
      const p = await admin().post('/processes', { name: '重要客户销售流程', departments: [], definition });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      processId = p.body.id;
    });
    afterAll(() => t.close());

    it('adds a field, then renames it, re-options it and makes it required; each change audited', async () => {
      const created = await admin().post('/fields/opportunity', {
        key: 'region',
        label: { zh: '区域', en: 'Region' },
        type: 'select',
        options: [
          { value: 'north', label: { zh: '北区', en: 'North' } },
          { value: 'south', label: { zh: '南区', en: 'South' } },
        ],
      });
      expect(created.status).toBe(201);
      const patched = await admin().patch('/fields/opportunity/region', {
        label: { zh: '大区', en: 'Area' },
        required: true,
        options: [
          { value: 'west', label: { zh: '西区', en: 'West' } },
          { value: 'north', label: { zh: '北方大区', en: 'Northern area' } },
          { value: 'south', label: { zh: '南区', en: 'South' }, archived: true },
        ],
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expect(patched.body).toMatchObject({ key: 'region', label: { zh: '大区' }, required: true });
      // Pickers: no archived option; the manager: all of them, in the order given.
      const offered = await field('opportunity', 'region', false);
      expect(offered?.options?.map((o) => o.value)).toEqual(['west', 'north']);
      const all = await field('opportunity', 'region');
      expect(all?.options?.map((o) => [o.value, !!o.archived])).toEqual([
        ['west', false],
        ['north', false],
        ['south', true],
      ]);
      expect(option(all, 'north')?.label.zh).toBe('北方大区');

      const entries = (await audit()).filter((e) => e.targetId === 'opportunity.region');
      expect(entries.map((e) => e.action)).toEqual(['field.update', 'field.create']);
      expect(entries[0]!.diff.label).toEqual([
        { zh: '区域', en: 'Region' },
        { zh: '大区', en: 'Area' },
      ]);
      expect(entries[0]!.diff.required).toEqual([false, true]);
      expect(entries[0]!.diff.options).toBeDefined();
      expect(entries[1]!.diff.type).toEqual([null, 'select']);
    });

    it('refuses what would lose data or is not a field of the tenant', async () => {
      // An option left out of the list (a stale list, or a removal): 409, naming it.
      const removed = await admin().patch('/fields/opportunity/region', {
        options: [{ value: 'west', label: { zh: '西区', en: 'West' } }],
      });
      expect(removed.status).toBe(409);
      expect(removed.body.error.details[0]).toMatchObject({ path: 'body.options', missing: ['north', 'south'] });
      const none = await admin().patch('/fields/opportunity/region', {
        options: ['west', 'north', 'south'].map((value) => ({
          value,
          label: { zh: value, en: value },
          archived: true,
        })),
      });
      expect(none.status).toBe(400);
      expect(none.body.error.details[0].path).toBe('body.options');
      await admin().post('/fields/opportunity', { key: 'memo', label: { zh: '备注', en: 'Memo' }, type: 'text' });
      const textOptions = await admin().patch('/fields/opportunity/memo', {
        options: [{ value: 'a', label: { zh: 'a', en: 'a' } }],
      });
      expect(textOptions.status).toBe(400);
      expect((await admin().patch('/fields/opportunity/amount', { required: true })).status).toBe(409);
      expect((await admin().delete('/fields/customer/name')).status).toBe(409);
      expect((await admin().patch('/fields/opportunity/nothing', { required: true })).status).toBe(404);
      expect((await admin().delete('/fields/opportunity/nothing')).status).toBe(404);
      // Key and type stay what they are: the body is strict.
      const retyped = await admin().patch('/fields/opportunity/memo', { type: 'number' });
      expect(retyped.status).toBe(400);
      expect(retyped.body.error.details[0]).toMatchObject({ path: 'body', code: 'unrecognized_keys' });
      expect(retyped.body.error.details[0].message.en).toContain('type');
      expect((await sales().patch('/fields/opportunity/memo', { required: true })).status).toBe(403);
      expect((await sales().delete('/fields/opportunity/memo')).status).toBe(403);
      expect((await field('opportunity', 'memo'))?.archived).toBeUndefined();
    });

    it('keeps an archived option readable, labelled and valid where stored, and refuses it as a new value', async () => {
      const it1 = await customer('中信银行', { industry: 'it' });
      const retail = await customer('万达', { industry: 'retail' });
      const industry = (await field('customer', 'industry'))!;
      const archived = await admin().patch('/fields/customer/industry', {
        options: industry.options!.map((o) => (o.value === 'it' ? { ...o, archived: true } : o)),
      });
      expect(archived.status).toBe(200);

      const fresh = await admin().post('/customers', { name: '新客户', fields: { industry: 'it' } });
      expect(fresh.status).toBe(400);
      expect(fresh.body.error.details[0].path).toBe('body.fields.industry');
      expect((await admin().get(`/customers/${it1}`)).body.fields.industry).toBe('it');

      // Its opportunity's form shows the stored value with its label; another's does not offer it.
      const held = await opportunity('网点改造', it1);
      const view = (await admin().get(`/opportunities/${held}`)).body;
      const form = view.form.find((f: { key: string }) => f.key === 'industry');
      expect(form.value).toBe('it');
      expect(form.options.find((o: Option) => o.value === 'it')).toMatchObject({
        label: { zh: '信息技术', en: 'IT' },
        archived: true,
      });
      const unchanged = await admin().put(`/opportunities/${held}/stage-form`, { values: { industry: 'it' } });
      expect(unchanged.status, JSON.stringify(unchanged.body)).toBe(200);

      const other = await opportunity('门店系统', retail);
      const otherForm = (await admin().get(`/opportunities/${other}`)).body.form;
      expect(
        otherForm.find((f: { key: string }) => f.key === 'industry').options.map((o: Option) => o.value),
      ).not.toContain('it');
      const refused = await admin().put(`/opportunities/${other}/stage-form`, { values: { industry: 'it' } });
      expect(refused.status).toBe(400);
      expect(refused.body.error.details[0].path).toBe('body.values.industry');
      expect(
        (await admin().put(`/opportunities/${other}/stage-form`, { values: { industry: 'finance' } })).status,
      ).toBe(200);
    });

    it('refuses to archive a field a published stage uses, naming the processes', async () => {
      const r = await admin().delete('/fields/customer/industry');
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('CONFLICT');
      expect(r.body.error.details).toEqual([
        expect.objectContaining({ processId, processName: '重要客户销售流程', stages: ['visit'] }),
      ]);
      expect((await field('customer', 'industry'))?.archived).toBeUndefined();
      // The lost reason is asked by every lose: its options are archived, not it.
      expect((await admin().delete('/fields/opportunity/lostReason')).status).toBe(409);
    });

    it('archives an unused field: hidden from pickers and new values, its stored values kept; restorable', async () => {
      expect(
        (await admin().post('/fields/customer', { key: 'tier', label: { zh: '客户级别', en: 'Tier' }, type: 'text' }))
          .status,
      ).toBe(201);
      const holder = await customer('宝钢', { tier: 'A' });
      const archived = await admin().delete('/fields/customer/tier');
      expect(archived.status).toBe(200);
      expect(archived.body).toMatchObject({ key: 'tier', archived: true });
      expect((await admin().delete('/fields/customer/tier')).status).toBe(200);
      expect(keys((await admin().get('/fields/customer')).body.items)).not.toContain('tier');
      // The manager still lists it, with its label (what shows a stored value).
      expect(await field('customer', 'tier')).toMatchObject({ label: { zh: '客户级别' }, archived: true });
      const fresh = await admin().post('/customers', { name: '鞍钢', fields: { tier: 'B' } });
      expect(fresh.status).toBe(400);
      expect(fresh.body.error.details[0].path).toBe('body.fields.tier');
      expect((await admin().get(`/customers/${holder}`)).body.fields.tier).toBe('A');
      // A draft may not bring it back into a stage form.
      const bad = await admin().post('/processes', {
        name: '用归档字段',
        departments: [],
        definition: {
          ...definition,
          presale: [{ ...definition.presale[0]!, fields: [{ source: 'customer', key: 'tier', required: false }] }],
        },
      });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details.map((d: { code: string }) => d.code)).toContain('FIELD_ARCHIVED');
      const entries = (await audit()).filter((e) => e.targetId === 'customer.tier');
      expect(entries.map((e) => e.action)).toEqual(['field.archive', 'field.create']);
      expect(entries[0]!.diff.archived).toEqual([false, true]);

      const restored = await admin().patch('/fields/customer/tier', { archived: false });
      expect(restored.status).toBe(200);
      expect(restored.body.archived).toBeUndefined();
      expect(keys((await admin().get('/fields/customer')).body.items)).toContain('tier');
      expect((await admin().post('/customers', { name: '鞍钢', fields: { tier: 'B' } })).status).toBe(201);
    });

    it('treats lost reasons as an editable select: renamed, added, archived; lose takes only those offered', async () => {
      const lost = (await field('opportunity', 'lostReason'))!;
      expect(lost.options!.map((o) => o.value)).toEqual(['price', 'competitor', 'noBudget', 'other']);
      const edited = await admin().patch('/fields/opportunity/lostReason', {
        options: [
          ...lost.options!.map((o) =>
            o.value === 'price'
              ? { ...o, label: { zh: '价格过高', en: 'Too expensive' } }
              : o.value === 'competitor'
                ? { ...o, archived: true }
                : o,
          ),
          { value: 'timing', label: { zh: '时机不对', en: 'Bad timing' } },
        ],
      });
      expect(edited.status, JSON.stringify(edited.body)).toBe(200);
      // The lose panel's list: the renamed and the new reason, not the archived one.
      const offered = (await field('opportunity', 'lostReason', false))!;
      expect(offered.options!.map((o) => [o.value, o.label.zh])).toEqual([
        ['price', '价格过高'],
        ['noBudget', '无预算'],
        ['other', '其他'],
        ['timing', '时机不对'],
      ]);

      const c = await customer('华润', {});
      const a = await opportunity('丢单一', c);
      const archived = await admin().post(`/opportunities/${a}/lose`, { reason: 'competitor' });
      expect(archived.status).toBe(400);
      expect(archived.body.error.details[0].path).toBe('body.reason');
      const added = await admin().post(`/opportunities/${a}/lose`, { reason: 'timing' });
      expect(added.status, JSON.stringify(added.body)).toBe(200);
      expect(added.body).toMatchObject({ status: 'lost', lostReason: 'timing' });
      const b = await opportunity('丢单二', c);
      expect((await admin().post(`/opportunities/${b}/lose`, { reason: 'price' })).status).toBe(200);
    });

    it('reorders the custom fields of an object; a list that is not the current one is 409', async () => {
      const active = keys((await admin().get('/fields/customer')).body.items).filter((k) => k !== 'name');
      expect(active).toEqual(['industry', 'tier']);
      const r = await admin().put('/fields/customer/order', { keys: ['tier', 'industry'] });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(keys((await admin().get('/fields/customer')).body.items)).toEqual(['name', 'tier', 'industry']);
      const stale = await admin().put('/fields/customer/order', { keys: ['tier'] });
      expect(stale.status).toBe(409);
      expect(stale.body.error.details[0]).toMatchObject({ missing: ['industry'], unknown: [] });
      expect((await admin().put('/fields/customer/order', { keys: ['tier', 'industry', 'ghost'] })).status).toBe(409);
      const entry = (await audit()).find((e) => e.action === 'field.reorder')!;
      expect(entry).toMatchObject({
        targetId: 'customer',
        diff: {
          order: [
            ['industry', 'tier'],
            ['tier', 'industry'],
          ],
        },
      });
      // New fields go last.
      await admin().post('/fields/customer', { key: 'size', label: { zh: '规模', en: 'Size' }, type: 'number' });
      expect(keys((await admin().get('/fields/customer')).body.items)).toEqual(['name', 'tier', 'industry', 'size']);
    });

    it('announces every change on GET /fields/stream, and another instance drops its cached catalog', async () => {
      const other = await startTestServer(t.database);
      try {
        const token = await t.token('rep', ['sales']);
        const res = await other.server.fetch(
          new Request('http://test/api/v1/fields/stream', { headers: { authorization: `Bearer ${token}` } }),
        );
        expect(res.headers.get('content-type')).toContain('text/event-stream');
        const reader = res.body!.getReader();
        const text: string[] = [];
        const reading = (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            text.push(new TextDecoder().decode(value));
          }
        })();
        await waitFor(() => text.join('').includes('event: ready'), 2000, 'stream ready');
        // The other instance caches the catalog now, then this one changes a field.
        const before = (await other.as('adm', ['admin']).get('/fields/opportunity')).body.items;
        expect(
          option(
            before.find((f: Field) => f.key === 'lostReason'),
            'noBudget',
          )?.label.zh,
        ).toBe('无预算');
        const lost = (await field('opportunity', 'lostReason'))!;
        await admin().patch('/fields/opportunity/lostReason', {
          options: lost.options!.map((o) =>
            o.value === 'noBudget' ? { ...o, label: { zh: '没有预算', en: 'No budget' } } : o,
          ),
        });
        await waitFor(
          () => text.join('').includes('"key":"lostReason","action":"update"'),
          3000,
          'the change on the stream',
        );
        expect(text.join('')).toContain('event: fields');
        const after = (await other.as('adm', ['admin']).get('/fields/opportunity')).body.items;
        expect(
          option(
            after.find((f: Field) => f.key === 'lostReason'),
            'noBudget',
          )?.label.zh,
        ).toBe('没有预算');
        await reader.cancel();
        await reading.catch(() => {});
      } finally {
        await other.server.close();
      }
    });
  });
}
