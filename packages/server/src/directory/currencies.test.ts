import { seedProcessDefinition } from '@sales-process/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

/**
 * A tenant's base currency and rates (`GET`/`PUT /currency-rates`), the refusal of an amount
 * in a currency that cannot be converted (creating and editing opportunities), and the rule
 * that every currency in use keeps a rate. Each refusal, on every database.
 */
for (const kind of testDatabases()) {
  describe(`currencies on ${kind.name}`, () => {
    let t: TestServer;
    let processId: string;
    let customerId: string;
    const admin = () => t.as('admin', ['admin']);
    const rep = () => t.as('rep', ['sales']);
    const rates = (body: unknown) => admin().put('/currency-rates', body);
    const newOpp = (currency?: string, amount = 1000) =>
      rep().post('/opportunities', {
        name: `O ${currency ?? '-'}`,
        customerId,
        amount,
        processId,
        expectedCloseDate: '2027-03-31',
        ...(currency ? { currency } : {}),
      });

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      await admin().post('/directory/sync', {
        departments: [{ id: 'hq', name: '总部' }],
        users: [
          { id: 'admin', name: '管理员', departmentId: 'hq' },
          { id: 'rep', name: '张三', departmentId: 'hq', managerId: 'admin' },
        ],
      });
      processId = (await admin().post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition }))
        .body.id;
      customerId = (await rep().post('/customers', { name: '宝钢', fields: {} })).body.id;
    }, 60_000);
    afterAll(() => t.close());

    it('starts in CNY with no rates; admins replace the table, each change in the audit trail', async () => {
      const ana = t.as('ana', ['analyst']);
      expect((await ana.get('/currency-rates')).body).toEqual({ baseCurrency: 'CNY', rates: [] });

      const first = await rates({
        rates: [
          { currency: 'USD', rate: 7.1 },
          { currency: 'JPY', rate: 0.048 },
        ],
      });
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.baseCurrency).toBe('CNY');
      expect(first.body.rates.map((r: { currency: string; rate: number }) => [r.currency, r.rate])).toEqual([
        ['JPY', 0.048],
        ['USD', 7.1],
      ]);
      expect((await ana.get('/currency-rates')).body).toEqual(first.body);

      // Replaced: USD changes, JPY stays as it was (same updatedAt), EUR comes, the base listed at 1 is implied.
      t.clock.advance(60_000);
      const second = await rates({
        rates: [
          { currency: 'USD', rate: 7.2 },
          { currency: 'JPY', rate: 0.048 },
          { currency: 'EUR', rate: 7.7 },
          { currency: 'CNY', rate: 1 },
        ],
      });
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      const by = (body: { rates: { currency: string; updatedAt: string }[] }, c: string) =>
        body.rates.find((r) => r.currency === c);
      expect(second.body.rates.map((r: { currency: string }) => r.currency)).toEqual(['EUR', 'JPY', 'USD']);
      expect(by(second.body, 'JPY')!.updatedAt).toBe(by(first.body, 'JPY')!.updatedAt);
      expect(by(second.body, 'USD')!.updatedAt).not.toBe(by(first.body, 'USD')!.updatedAt);

      // The same table again changes nothing and records nothing.
      expect(
        (
          await rates({
            rates: [
              { currency: 'USD', rate: 7.2 },
              { currency: 'JPY', rate: 0.048 },
              { currency: 'EUR', rate: 7.7 },
            ],
          })
        ).status,
      ).toBe(200);
      const trail = (await admin().get('/audit?targetType=tenant')).body.items.filter(
        (e: { action: string }) => e.action === 'tenant.currencies',
      );
      expect(trail.map((e: { diff: unknown }) => e.diff)).toEqual([
        { 'rates.USD': [7.1, 7.2], 'rates.EUR': [null, 7.7] },
        { 'rates.USD': [null, 7.1], 'rates.JPY': [null, 0.048] },
      ]);
      expect(trail[0]).toMatchObject({ actorId: 'admin', targetType: 'tenant', targetId: 't1' });
    });

    it('lets only funnel readers see the rates and only admins change them', async () => {
      expect((await rep().get('/currency-rates')).status).toBe(403);
      expect((await t.as('post', ['postsale']).get('/currency-rates')).status).toBe(403);
      expect((await t.as('sup', ['supervisor']).get('/currency-rates')).status).toBe(200);
      for (const roles of [['sales'], ['supervisor'], ['analyst']])
        expect((await t.as('x', roles).put('/currency-rates', { rates: [] })).status).toBe(403);
      // Another tenant has its own table.
      expect((await t.as('admin', ['admin'], 't2').get('/currency-rates')).body).toEqual({
        baseCurrency: 'CNY',
        rates: [],
      });
    });

    it('refuses codes that are not ISO 4217, rates that are not positive and finite, repeats, and a base rate other than 1', async () => {
      for (const [body, path] of [
        [{ rates: [{ currency: 'usd', rate: 7 }] }, 'body.rates.0.currency'],
        [{ rates: [{ currency: 'USDX', rate: 7 }] }, 'body.rates.0.currency'],
        [{ rates: [{ currency: 'USD', rate: 0 }] }, 'body.rates.0.rate'],
        [{ rates: [{ currency: 'USD', rate: -7 }] }, 'body.rates.0.rate'],
        [{ rates: [{ currency: 'USD', rate: '7' }] }, 'body.rates.0.rate'],
        [
          {
            rates: [
              { currency: 'USD', rate: 7 },
              { currency: 'USD', rate: 8 },
            ],
          },
          'body.rates.1.currency',
        ],
        [{ baseCurrency: 'rmb', rates: [] }, 'body.baseCurrency'],
        [
          {
            rates: [
              { currency: 'USD', rate: 7 },
              { currency: 'CNY', rate: 2 },
            ],
          },
          'body.rates.1.rate',
        ],
      ] as const) {
        const r = await rates(body);
        expect([r.status, r.body.error.code, r.body.error.details[0].path], JSON.stringify(body)).toEqual([
          400,
          'VALIDATION_FAILED',
          path,
        ]);
      }
      // JSON's 1e999 is Infinity.
      const res = await t.server.fetch(
        new Request('http://test/api/v1/currency-rates', {
          method: 'PUT',
          headers: { authorization: `Bearer ${await t.token('admin', ['admin'])}`, 'content-type': 'application/json' },
          body: '{"rates":[{"currency":"USD","rate":1e999}]}',
        }),
      );
      expect(res.status).toBe(400);
      expect((await admin().get('/currency-rates')).body.rates.length).toBe(3);
    });

    it('refuses an opportunity amount in a currency with no rate, on creation and on edit, naming those accepted', async () => {
      const refused = await newOpp('GBP');
      expect([refused.status, refused.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(refused.body.error.details).toEqual([
        {
          path: 'body.currency',
          code: 'CURRENCY_WITHOUT_RATE',
          currency: 'GBP',
          accepted: ['CNY', 'EUR', 'JPY', 'USD'],
          message: {
            zh: '货币 GBP 没有汇率，金额只能使用：CNY、EUR、JPY、USD（管理员可在汇率表中添加）',
            en: 'GBP has no recorded rate; amounts may be in CNY, EUR, JPY, USD (admins add rates to the currency table)',
          },
        },
      ]);
      expect((await rep().get('/opportunities')).body.items.length).toBe(0);

      const cny = await newOpp();
      const usd = await newOpp('USD', 50);
      expect([cny.status, cny.body.currency, usd.status, usd.body.currency]).toEqual([201, 'CNY', 201, 'USD']);

      const edit = await rep().patch(`/opportunities/${cny.body.id}`, { currency: 'GBP' });
      expect([edit.status, edit.body.error.details[0].path, edit.body.error.details[0].currency]).toEqual([
        400,
        'body.currency',
        'GBP',
      ]);
      expect((await rep().get(`/opportunities/${cny.body.id}`)).body.currency).toBe('CNY');
      const toEur = await rep().patch(`/opportunities/${cny.body.id}`, { currency: 'EUR', amount: 900 });
      expect([toEur.status, toEur.body.currency, toEur.body.amount]).toEqual([200, 'EUR', 900]);
      expect(
        (await rep().patch(`/opportunities/${cny.body.id}`, { currency: 'CNY', amount: 1000 })).body.currency,
      ).toBe('CNY');
    });

    it('keeps a rate for every currency in use: dropping one or changing the base without it is refused, naming each', async () => {
      // In use now: CNY and USD (one each). EUR and JPY are free to go.
      const dropUsd = await rates({ rates: [{ currency: 'EUR', rate: 7.7 }] });
      expect([dropUsd.status, dropUsd.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(dropUsd.body.error.details).toEqual([
        {
          path: 'body.rates',
          code: 'RATE_REQUIRED',
          currency: 'USD',
          opportunities: 1,
          message: {
            zh: '1 个商机的金额是 USD，需要 USD 对 CNY 的汇率',
            en: '1 opportunities have amounts in USD: a rate from USD to CNY is needed',
          },
        },
      ]);
      // A new base needs a rate for the old one (in use) too.
      const toUsd = await rates({ baseCurrency: 'USD', rates: [] });
      expect(toUsd.status).toBe(400);
      expect(toUsd.body.error.details.map((d: { currency: string }) => d.currency)).toEqual(['CNY']);
      expect((await admin().get('/currency-rates')).body.baseCurrency).toBe('CNY');

      const moved = await rates({ baseCurrency: 'USD', rates: [{ currency: 'CNY', rate: 0.14 }] });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      expect(moved.body).toMatchObject({ baseCurrency: 'USD', rates: [{ currency: 'CNY', rate: 0.14 }] });
      const funnel = (await t.as('ana', ['analyst']).get(`/analytics/funnel?processId=${processId}`)).body;
      // 1000 CNY × 0.14 + 50 USD, both open in the first stage.
      expect([funnel.currency, funnel.converted, funnel.rates, funnel.openAmount]).toEqual([
        'USD',
        true,
        { CNY: 0.14 },
        190,
      ]);
      const trail = (await admin().get('/audit?targetType=tenant')).body.items[0];
      expect(trail.diff).toEqual({
        baseCurrency: ['CNY', 'USD'],
        'rates.CNY': [null, 0.14],
        'rates.EUR': [7.7, null],
        'rates.JPY': [0.048, null],
        'rates.USD': [7.2, null],
      });
      // JPY is no longer accepted; an opportunity without a currency takes the base one, USD now.
      expect((await newOpp('JPY')).status).toBe(400);
      const plain = await newOpp();
      expect([plain.status, plain.body.currency]).toEqual([201, 'USD']);
      // Back to CNY for the tests that follow.
      expect((await rates({ baseCurrency: 'CNY', rates: [{ currency: 'USD', rate: 7 }] })).status).toBe(200);
    });

    it('refuses a rate change while an opportunity in that currency is being created, once it is in use', async () => {
      // The write holds the tenant row until it commits: a concurrent drop of the rate waits and
      // then finds the currency in use (or the create finds the rate gone): never both.
      await rates({
        rates: [
          { currency: 'USD', rate: 7 },
          { currency: 'HKD', rate: 0.9 },
        ],
      });
      const [created, dropped] = await Promise.all([newOpp('HKD'), rates({ rates: [{ currency: 'USD', rate: 7 }] })]);
      // One of the two wins, whichever came first: never both (an HKD amount with no rate).
      expect([
        [201, 400],
        [400, 200],
      ]).toContainEqual([created.status, dropped.status]);
      const table = (await admin().get('/currency-rates')).body.rates.map((r: { currency: string }) => r.currency);
      if (created.status === 201) expect(table).toContain('HKD');
      else expect(table).not.toContain('HKD');
    });
  });
}
