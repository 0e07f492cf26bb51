import {
  computeFunnel,
  computeStaleDeals,
  computeWinLoss,
  DEFAULT_CUSTOM_FIELDS,
  planHistoryOf,
  planTarget,
  seedProcessDefinition as seed,
} from '@sales-process/core';
import {
  EXAMPLE,
  EXAMPLE_FX,
  FX_RATES,
  openDeals,
  STALE_AS_OF,
  STAYS,
} from '@sales-process/core/testing/funnel-example';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opportunities } from '../db/schema.js';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';
import { loadExample } from './load-example.js';

/**
 * Issue 21's analytics through the API against core's hand-computed example: win/loss by
 * period, lost reason and stage lost from; stale deals per owner; target plans per owner and
 * department, before the first win too; and the diagnosis's cohort rule.
 */
const stages = seed.presale.map((s) => ({ id: s.id, name: s.name }));
const reasons = DEFAULT_CUSTOM_FIELDS.opportunity.find((f) => f.key === 'lostReason')!.options!;
const stageNames = new Map(seed.presale.map((s) => [s.id, s.name]));
const NOW = '2026-12-02T08:00:00Z';
const even = <T>(xs: readonly T[]) => xs.filter((_, i) => i % 2 === 0);

for (const kind of testDatabases()) {
  describe(`issue 21's analytics on ${kind.name}`, () => {
    let t: TestServer;
    let processId: string;
    let fxProcess: string;
    const analyst = (tenant = 't1') => t.as('ana', ['analyst'], tenant);
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      t.clock.set(new Date(NOW));
      processId = await loadExample(t);
      fxProcess = await loadExample(t, EXAMPLE_FX, 'fx', 'fx-');
      const put = await t.as('admin', ['admin'], 'fx').put('/currency-rates', {
        rates: [
          { currency: 'USD', rate: 8 },
          { currency: 'JPY', rate: 0.05 },
        ],
      });
      expect(put.status).toBe(200);
    });
    afterAll(() => t.close());
    const strip = <T extends object>(body: T) => {
      const { process: _p, filters: _f, ...figures } = body as T & { process: unknown; filters: unknown };
      return figures;
    };

    describe('win/loss', () => {
      it("gives core's hand-computed figures per month and per quarter", async () => {
        const month = await analyst().get(`/analytics/win-loss?processId=${processId}`);
        expect(month.status).toBe(200);
        expect(strip(month.body)).toEqual(computeWinLoss(EXAMPLE, { period: 'month', stages, reasons }));
        expect(month.body.periods.map((p: { period: string; winRate: number }) => [p.period, p.winRate])).toEqual([
          ['2026-07', 0.5],
          ['2026-08', 0.3333],
          ['2026-09', 0],
        ]);
        const quarter = await analyst().get(`/analytics/win-loss?processId=${processId}&period=quarter`);
        expect(strip(quarter.body)).toEqual(computeWinLoss(EXAMPLE, { period: 'quarter', stages, reasons }));
        expect(
          quarter.body.total.lostByReason.map((r: { reason: string; count: number }) => [r.reason, r.count]),
        ).toEqual([
          ['price', 3],
          ['competitor', 2],
          ['noBudget', 1],
        ]);
        expect(quarter.body.total.lostByStage[0]).toEqual({
          stageId: 'visit',
          name: '初次拜访',
          count: 2,
          amount: 140_000,
        });
        expect(quarter.body.process).toMatchObject({ id: processId, version: 1 });
      });

      it('filters by owner, department and close dates (whole months from the rollup, days from the rows)', async () => {
        const rep = await analyst().get(`/analytics/win-loss?processId=${processId}&ownerId=rep`);
        expect(strip(rep.body)).toEqual(computeWinLoss(even(EXAMPLE), { period: 'month', stages, reasons }));
        const north = await analyst().get(`/analytics/win-loss?processId=${processId}&departmentId=north`);
        expect(north.body.total).toEqual(
          computeWinLoss(
            EXAMPLE.filter((_, i) => i % 2),
            { period: 'month', stages, reasons },
          ).total,
        );
        const august = await analyst().get(`/analytics/win-loss?processId=${processId}&from=2026-08-01&to=2026-08-31`);
        expect(august.body.periods.map((p: { period: string }) => p.period)).toEqual(['2026-08']);
        // Day-precise: 07-05 (i1) to 07-20 (l2) leaves out w3 (07-01) and w1 (07-31).
        const days = await analyst().get(`/analytics/win-loss?processId=${processId}&from=2026-07-05&to=2026-07-20`);
        expect([days.body.total.won.count, days.body.total.lost.count, days.body.total.invalid.count]).toEqual([
          0, 2, 1,
        ]);
      });

      it('converts amounts in other currencies and says so', async () => {
        const res = await analyst('fx').get(`/analytics/win-loss?processId=${fxProcess}&period=quarter`);
        expect(strip(res.body)).toEqual(
          computeWinLoss(EXAMPLE_FX, { period: 'quarter', stages, reasons, currencies: FX_RATES }),
        );
        expect([res.body.total.won.amount, res.body.converted, res.body.rates]).toEqual([
          1_000_000,
          true,
          { JPY: 0.05, USD: 8 },
        ]);
      });
    });

    describe('stale deals', () => {
      it("lists core's stale deals of the example, per owner and oldest first, with names", async () => {
        t.clock.set(new Date(STALE_AS_OF));
        try {
          const res = await analyst().get(`/analytics/stale-deals?processId=${processId}`);
          expect(res.status).toBe(200);
          // The clock runs on from STALE_AS_OF by milliseconds: core reads at the same moment.
          const expected = computeStaleDeals(openDeals(), { asOf: res.body.asOf, stageNames });
          const { process: _p, filters: _f, owners, deals, ...rest } = res.body;
          const { owners: eo, deals: ed, ...erest } = expected;
          expect(rest).toEqual(erest);
          expect(owners).toEqual(eo.map((o) => ({ ...o, ownerName: o.ownerId === 'rep' ? 'R' : 'R2' })));
          expect(deals).toEqual(
            ed.map((d) => ({
              ...d,
              customerId: expect.any(String),
              ownerName: d.ownerId === 'rep' ? 'R' : 'R2',
              customerName: expect.stringMatching(/^客户 c\d+$/),
            })),
          );
          expect(deals.map((d: { id: string }) => d.id)).toEqual(['o1', 'o4', 'o9', 'o6', 'o8', 'o11', 'o5', 'o2']);
          expect(deals[0]).toMatchObject({ customerId: 'c1', customerName: '客户 c1', daysOverdue: 23 });
          // A limit lists fewer, counts all; a department and an owner narrow both.
          const two = await analyst().get(`/analytics/stale-deals?processId=${processId}&limit=2`);
          expect([two.body.deals.length, two.body.total]).toEqual([2, 8]);
          const north = await analyst().get(`/analytics/stale-deals?processId=${processId}&departmentId=north`);
          expect([north.body.total, north.body.owners.map((o: { ownerId: string }) => o.ownerId)]).toEqual([
            4,
            ['rep2'],
          ]);
          // In other currencies: converted, the original kept.
          const fx = await analyst('fx').get(`/analytics/stale-deals?processId=${fxProcess}`);
          expect([fx.body.amount, fx.body.converted, fx.body.deals[0].originalCurrency]).toEqual([
            1_950_000,
            true,
            'JPY',
          ]);
        } finally {
          t.clock.set(new Date(NOW));
        }
      });

      it("reads each opportunity's reminder days in its own process version", async () => {
        t.clock.set(new Date(STALE_AS_OF));
        try {
          // Version 2 lets 初次拜访 run 60 days; publishing moves the open ones onto it.
          const admin = t.as('admin', ['admin']);
          const { draft } = (await admin.get(`/processes/${processId}/draft`)).body;
          draft.definition.presale[0].remindAfterDays = 60;
          expect((await admin.put(`/processes/${processId}/draft`, draft)).status).toBe(200);
          const published = await admin.post(`/processes/${processId}/publish`, { mode: 'update-existing' });
          expect(published.status, JSON.stringify(published.body)).toBe(200);
          // o4 left on version 1 (as a row the publish never moved), where 初次拜访 reminds after 7 days.
          const { db } = t.server.services.ctx.database;
          await db.update(opportunities).set({ processVersion: 1 }).where(eq(opportunities.id, 'o4'));
          const after = await analyst().get(`/analytics/stale-deals?processId=${processId}`);
          expect(
            after.body.deals.map((d: { id: string; remindAfterDays: number }) => [d.id, d.remindAfterDays]),
          ).toEqual([
            ['o4', 7],
            ['o9', 14],
            ['o6', 14],
            ['o8', 14],
            ['o11', 10],
          ]);
        } finally {
          t.clock.set(new Date(NOW));
        }
      });
    });

    describe('target plans', () => {
      const body = { processId: '', target: 1_000_000, period: 'month', start: '2027-01', periods: 3 };

      it("plans one owner's and one department's targets from their own history", async () => {
        const rep = await analyst().post('/analytics/target-plan', { ...body, processId, ownerId: 'rep' });
        expect(rep.status).toBe(200);
        const history = planHistoryOf(even(EXAMPLE));
        expect(rep.body).toMatchObject({ ownerId: 'rep', ...planTarget(history, { ...body, period: 'month' })! });
        const north = await analyst().post('/analytics/target-plan', { ...body, processId, departmentId: 'north' });
        expect(north.body).toMatchObject({
          departmentId: 'north',
          ...planTarget(planHistoryOf(EXAMPLE.filter((_, i) => i % 2)), { ...body, period: 'month' })!,
        });
      });

      it('shows a salesperson their own plan, and refuses them anyone else’s', async () => {
        const own = await t.as('rep', ['sales']).post('/analytics/target-plan', { ...body, processId });
        expect([own.status, own.body.ownerId]).toEqual([200, 'rep']);
        expect(own.body.figures).toEqual(
          planTarget(planHistoryOf(even(EXAMPLE)), { ...body, period: 'month' })!.figures,
        );
        for (const other of [{ ownerId: 'rep2' }, { departmentId: 'east' }]) {
          const res = await t.as('rep', ['sales']).post('/analytics/target-plan', { ...body, processId, ...other });
          expect([res.status, res.body.error.code]).toEqual([403, 'FORBIDDEN']);
          expect(res.body.error.details[0].message.zh).toBe('销售人员只能查看自己的数字');
        }
        expect(
          (await t.as('rep', ['sales']).get(`/analytics/stale-deals?processId=${processId}`)).body.filters,
        ).toEqual({
          processId,
          ownerId: 'rep',
        });
        expect((await t.as('ps', ['postsale']).post('/analytics/target-plan', { ...body, processId })).status).toBe(
          403,
        );
      });

      it("plans before the first win from the process's stage win rates (a new tenant gets a plan), and says so", async () => {
        // A new tenant with only open opportunities: the example's 11 open ones.
        const fresh = await loadExample(
          t,
          EXAMPLE.filter((o) => o.status === 'open'),
          'new',
          'new-',
        );
        const res = await analyst('new').post('/analytics/target-plan', { ...body, processId: fresh });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const expected = planTarget(
          planHistoryOf(EXAMPLE.filter((o) => o.status === 'open')),
          { ...body, period: 'month' },
          { process: seed },
        )!;
        expect(res.body).toMatchObject(expected);
        expect(res.body.figures).toMatchObject({
          basis: 'process',
          winRate: 0.1,
          avgWonAmount: 200_000,
          avgCycleDays: 45,
        });
        expect(res.body.note.zh).toContain('尚无赢单记录：按流程设定估算');
        expect(res.body.periods[0]).toMatchObject({ dealsNeeded: 5, opportunitiesNeeded: 50, customersNeeded: 28 });

        // A salesperson of that tenant without a single opportunity: a deal size given, one customer each.
        const given = await t
          .as('nobody', ['sales'], 'new')
          .post('/analytics/target-plan', { ...body, processId: fresh, averageDealAmount: 250_000 });
        expect(given.status, JSON.stringify(given.body)).toBe(200);
        expect(given.body.periods[0]).toMatchObject({ dealsNeeded: 4, opportunitiesNeeded: 40, customersNeeded: 40 });
        expect(given.body.figures.customersBasis).toBe('assumed');
        // Without one: nothing to take a deal size from, and the answer says what to give.
        const none = await t
          .as('nobody', ['sales'], 'new')
          .post('/analytics/target-plan', { ...body, processId: fresh });
        expect([none.status, none.body.error.details[0].code]).toEqual([400, 'NOT_ENOUGH_HISTORY']);
        expect(none.body.error.details[0].message.en).toContain('averageDealAmount');
        expect(
          (await analyst('new').post('/analytics/target-plan', { ...body, processId: fresh, averageDealAmount: -1 }))
            .status,
        ).toBe(400);
      });
    });

    describe("the diagnosis's cohort rule", () => {
      it('keeps a healthy funnel healthy when 30 brand-new opportunities arrive, and says which cohort it read', async () => {
        const tenant = 'cohort';
        const pid = await loadExample(t, EXAMPLE, tenant, 'co-');
        const { db } = t.server.services.ctx.database;
        await db.insert(opportunities).values(
          Array.from({ length: 30 }, (_, i) => ({
            id: `co-new${i}`,
            tenantId: tenant,
            name: `new${i}`,
            customerId: 'co-cus_x',
            ownerId: 'rep',
            departmentId: 'east',
            amount: 10_000,
            currency: 'CNY',
            processId: pid,
            processVersion: 1,
            stageId: 'visit',
            status: 'open' as const,
            phase: 'presale' as const,
            stageEnteredAt: new Date('2026-12-01T10:00:00Z'),
            maxStageIndex: 0,
            createdAt: new Date('2026-12-01T10:00:00Z'),
            updatedAt: new Date('2026-12-01T10:00:00Z'),
          })),
        );
        const res = await analyst(tenant).get(`/analytics/funnel?processId=${pid}`);
        expect(res.status).toBe(200);
        expect(res.body.diagnosis.shape).toBe('healthy');
        expect(res.body.stages[0].conversionToNext).toBe(0.2885); // 15 ÷ 52: every opportunity's figure
        expect(res.body.diagnosis.cohort).toMatchObject({
          createdThrough: '2026-09',
          minAgeDays: 45,
          basis: 'stage-reminders',
          opportunities: 22,
        });
        expect(res.body.diagnosis.cohort.message.zh).toContain('转化率只看 2026-09 及以前创建的 22 个商机');
        const news = Array.from({ length: 30 }, (_, i) => ({
          ...EXAMPLE[0]!,
          id: `new${i}`,
          amount: 10_000,
          expectedCloseDate: null,
          createdAt: '2026-12-01T10:00:00Z',
        }));
        const all = [...EXAMPLE, ...news];
        expect(res.body.diagnosis).toEqual(computeFunnel(seed, all, STAYS, undefined, { asOf: NOW }).diagnosis);
        // Read from every opportunity, as before, 初次拜访 was the bottleneck.
        expect(computeFunnel(seed, all, STAYS).diagnosis.findings[0]).toMatchObject({
          code: 'bottleneck',
          stageId: 'visit',
        });
        // The same through a day-precise period (the scan path).
        const scanned = await analyst(tenant).get(`/analytics/funnel?processId=${pid}&from=2026-05-31`);
        expect(scanned.body.diagnosis).toEqual(res.body.diagnosis);
      });
    });
  });
}
