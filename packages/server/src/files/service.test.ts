import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/open.js';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

for (const kind of testDatabases()) {
  describe(`file and user field values on ${kind.name}`, () => {
    let t: TestServer;
    let opp: string;
    let customerId: string;
    const admin = () => t.as('adm', ['admin']);
    const s1 = () => t.as('s1', ['sales']);
    const upload = async (user: string, name: string, body: string, tenant = 't1') => {
      const token = await t.token(user, ['sales'], tenant);
      const res = await t.server.fetch(
        new Request('http://test/api/v1/files', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'x-file-name': name },
          body,
        }),
      );
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; name: string; size: number };
    };

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      const sync = await admin().post('/directory/sync', {
        departments: [{ id: 'd1', name: '销售部' }],
        users: [
          { id: 'adm', name: '管理员', departmentId: 'd1' },
          { id: 's1', name: '销售一', departmentId: 'd1' },
          { id: 's2', name: '销售二', departmentId: 'd1' },
        ],
      });
      expect(sync.status).toBe(200);
      await t
        .as('eve', ['admin'], 't2')
        .post('/directory/sync', { departments: [], users: [{ id: 'eve', name: '外人' }] });
      expect(
        (
          await admin().post('/fields/customer', {
            key: 'contract',
            label: { zh: '合同', en: 'Contract' },
            type: 'file',
          })
        ).status,
      ).toBe(201);
      expect(
        (
          await admin().post('/fields/opportunity', {
            key: 'advisor',
            label: { zh: '顾问', en: 'Advisor' },
            type: 'user',
          })
        ).status,
      ).toBe(201);
      const process = await admin().post('/processes', {
        name: '流程',
        definition: {
          presale: [
            {
              id: 'visit',
              name: '拜访',
              fields: [
                { source: 'stage', key: 'doc', label: { zh: '附件', en: 'File' }, type: 'file' },
                { source: 'stage', key: 'who', label: { zh: '陪同', en: 'With' }, type: 'user' },
                { source: 'customer', key: 'contract' },
                { source: 'opportunity', key: 'advisor' },
              ],
            },
            { id: 'offer', name: '报价' },
          ],
        },
      });
      expect(process.status).toBe(201);
      customerId = (await s1().post('/customers', { name: '甲' })).body.id;
      const created = await s1().post('/opportunities', {
        name: 'O',
        customerId,
        amount: 1,
        processId: process.body.id,
      });
      expect(created.status).toBe(201);
      opp = created.body.id;
    });
    afterAll(() => t.close());

    /** What the database holds for the opportunity's stage form, its fields and its customer's fields. */
    const stored = async () =>
      rowsOf<{ stage: any; opp: any; cust: any }>(
        await t.database.db.execute(
          sql`select o.stage_values -> 'visit' as stage, o.fields as opp, c.fields as cust from opportunities o join customers c on c.id = o.customer_id where o.id = ${opp}`,
        ),
      )[0]!;
    /** GET /files/{id} as a user: its status (the body is the file's bytes). */
    const read = async (user: string, id: string) =>
      (
        await t.server.fetch(
          new Request(`http://test/api/v1/files/${id}`, {
            headers: { authorization: `Bearer ${await t.token(user, ['sales'])}` },
          }),
        )
      ).status;

    it("does not let a user attach a file they may not read (and so read another user's upload)", async () => {
      const theirs = await upload('s2', 'secret.txt', 'top secret');
      expect(await read('s1', theirs.id)).toBe(403);
      const form = `/opportunities/${opp}/stage-form`;
      for (const values of [{ doc: theirs }, { 'stage.doc': { ...theirs, name: 'x' } }, { contract: theirs }]) {
        const res = await s1().put(form, { values });
        expect(res.status, JSON.stringify(values)).toBe(403);
        expect(res.body.error.details[0].path).toBe(`body.values.${Object.keys(values)[0]}`);
      }
      const customer = await s1().post('/customers', { name: '乙', fields: { contract: theirs } });
      expect([customer.status, customer.body.error?.details[0].path]).toEqual([403, 'body.fields.contract']);
      expect(await read('s1', theirs.id)).toBe(403);
      expect((await s1().post(`/files/${theirs.id}/link`)).status).toBe(403);
      expect(JSON.stringify(await stored())).not.toContain(theirs.id);
      // Its uploader and admins may attach it; then whoever reads the opportunity reads the file.
      expect((await admin().put(form, { values: { doc: theirs } })).status).toBe(200);
      expect(await read('s1', theirs.id)).toBe(200);
      // The field's current file passes as it is, whoever sends it back.
      expect((await s1().put(form, { values: { doc: theirs, who: null } })).status).toBe(200);
    });

    it("stores a file's real name, size and type, never the client's", async () => {
      const mine = await upload('s1', 'report.txt', 'abc');
      const res = await s1().put(`/opportunities/${opp}/stage-form`, {
        values: {
          doc: { id: mine.id, name: 'renamed.exe', size: 999_999_999, type: 'application/x-msdownload' },
          contract: { id: mine.id, name: 'y', size: 1 },
        },
      });
      expect(res.status).toBe(200);
      const real = { id: mine.id, name: 'report.txt', size: 3, type: 'text/plain' };
      const row = await stored();
      expect(row.stage.doc).toEqual(real);
      expect(row.cust.contract).toEqual(real);
      const created = await s1().post('/customers', { name: '丙', fields: { contract: { ...mine, name: 'z.exe' } } });
      expect(created.body.fields.contract).toEqual(real);
    });

    it('takes a user value only for a user of this tenant', async () => {
      const form = `/opportunities/${opp}/stage-form`;
      for (const [key, who] of [
        ['who', 'nobody'],
        ['who', 'eve'],
        ['advisor', 'eve'],
        ['opportunity.advisor', 'ghost'],
      ] as const) {
        const res = await s1().put(form, { values: { [key]: who } });
        expect([res.status, res.body.error?.details.map((d: { path: string }) => d.path)], `${key}=${who}`).toEqual([
          400,
          [`body.values.${key}`],
        ]);
      }
      const created = await s1().post('/opportunities', {
        name: 'P',
        customerId,
        amount: 1,
        processId: (await admin().get(`/opportunities/${opp}`)).body.processId,
        fields: { advisor: 'eve' },
      });
      expect([created.status, created.body.error?.details[0].path]).toEqual([400, 'body.fields.advisor']);
      expect((await s1().put(form, { values: { who: 's2', advisor: 'adm' } })).status).toBe(200);
      expect((await s1().put(form, { values: { who: null, advisor: '' } })).status).toBe(200);
      const row = await stored();
      expect(JSON.stringify(row)).not.toMatch(/nobody|eve|ghost/);
      // A value stored before this check stays storable: sending the form back as it is passes.
      await t.database.db.execute(
        sql`update opportunities set stage_values = jsonb_set(stage_values, '{visit,who}', '"gone"') where id = ${opp}`,
      );
      expect((await s1().put(form, { values: { who: 'gone' } })).status).toBe(200);
      expect((await s1().put(form, { values: { who: 'gone2' } })).status).toBe(400);
    });
  });
}
