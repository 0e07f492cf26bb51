import { computeFunnel, planHistoryOf, planTarget, seedProcessDefinition } from '@sales-process/core';
import { EXAMPLE, EXAMPLE_FX, FX_RATES, STAYS } from '@sales-process/core/testing/funnel-example';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opportunities, stageHistory } from '../db/schema.js';
import { loadExample } from './load-example.js';
import { winLoss } from './win-loss.js';
import { rowsOf } from '../db/open.js';
import { startTestServer, testDatabases, waitFor, type TestServer } from '../testing/harness.js';

/** The clock of these tests: the example (created 2026-06) is an old enough cohort (through 2026-09). */
const NOW = '2026-12-02T08:00:00Z';
const asOf = { asOf: NOW };
const { customers: _c, ...planHistoryWithoutCustomers } = planHistoryOf(EXAMPLE);

for (const kind of testDatabases()) {
  describe(`the funnel API on ${kind.name}`, () => {
    let t: TestServer;
    let processId: string;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      t.clock.set(new Date(NOW));
      processId = await loadExample(t);
    });
    afterAll(() => t.close());
    const analyst = () => t.as('ana', ['analyst']);

    it("gives core's hand-computed figures, figure by figure", async () => {
      const res = await analyst().get(`/analytics/funnel?processId=${processId}`);
      expect(res.status).toBe(200);
      const expected = computeFunnel(seedProcessDefinition, EXAMPLE, STAYS, undefined, asOf);
      expect(res.body.stages).toEqual(expected.stages);
      expect(res.body.terminal).toEqual(expected.terminal);
      expect(res.body.forecast).toEqual(expected.forecast);
      expect(res.body.diagnosis).toEqual(expected.diagnosis);
      expect([res.body.total, res.body.overallWinRate, res.body.openAmount, res.body.weightedAmount]).toEqual([
        expected.total,
        expected.overallWinRate,
        expected.openAmount,
        expected.weightedAmount,
      ]);
      // The spot checks of core's test, through the API.
      expect(res.body.stages.map((s: { conversionToNext: number }) => s.conversionToNext)).toEqual([
        0.6818, 0.6667, 0.5, 0.6,
      ]);
      expect(res.body.weightedAmount).toBe(890_000);
      expect([res.body.currency, res.body.converted, res.body.rates, res.body.unconverted]).toEqual([
        'CNY',
        false,
        {},
        [],
      ]);
    });

    it("converts amounts in two other currencies at the recorded rates: core's figures, said to be converted", async () => {
      const fxProcess = await loadExample(t, EXAMPLE_FX, 'fx', 'fx-');
      const admin = t.as('admin', ['admin'], 'fx');
      const ana = t.as('ana', ['analyst'], 'fx');
      const funnel = async (query = '') => {
        const res = await ana.get(`/analytics/funnel?processId=${fxProcess}${query}`);
        expect(res.status).toBe(200);
        const { process: _p, filters: _f, planHistory, ...figures } = res.body;
        return { figures, planHistory };
      };
      // No rates yet: every opportunity counts, the USD and JPY amounts are left out and named.
      const bare = (await funnel()).figures;
      expect([bare.total, bare.converted, bare.unconverted]).toEqual([22, false, ['JPY', 'USD']]);
      expect(bare.openAmount).toBe(2_200_000 - 100_000 - 300_000 - 500_000);

      const put = await admin.put('/currency-rates', {
        rates: [
          { currency: 'USD', rate: 8 },
          { currency: 'JPY', rate: 0.05 },
        ],
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      const { figures, planHistory } = await funnel();
      const expected = computeFunnel(seedProcessDefinition, EXAMPLE_FX, STAYS, FX_RATES, asOf);
      expect(figures).toEqual(expected);
      // Each foreign amount is worth its all-CNY twin: the hand-computed figures, not 9,362,500 open.
      expect([figures.openAmount, figures.weightedAmount, figures.terminal.won.amount]).toEqual([
        2_200_000, 890_000, 1_000_000,
      ]);
      expect([figures.currency, figures.converted, figures.rates, figures.unconverted]).toEqual([
        'CNY',
        true,
        { JPY: 0.05, USD: 8 },
        [],
      ]);
      const { customers: _fxc, ...fxHistory } = planHistoryOf(EXAMPLE_FX, FX_RATES);
      expect(planHistory).toEqual(fxHistory);
      expect(planHistory).toEqual(planHistoryWithoutCustomers);
      // The scan path (a day-precise period) converts alike.
      const scanned = (await funnel('&from=2026-05-31&to=2026-06-01')).figures;
      expect(scanned).toEqual(expected);
      // Filtered by owner (half the cells, and their stays).
      const even = <T>(xs: T[]) => xs.filter((_, i) => i % 2 === 0);
      expect((await funnel('&ownerId=rep')).figures).toEqual(
        computeFunnel(seedProcessDefinition, even(EXAMPLE_FX), even(STAYS), FX_RATES, asOf),
      );

      // Target plans work from won amounts in the base currency, and say which.
      const plan = await ana.post('/analytics/target-plan', {
        processId: fxProcess,
        target: 1_000_000,
        period: 'month',
        start: '2027-01',
        periods: 3,
      });
      expect(plan.status).toBe(200);
      expect(plan.body).toMatchObject({ currency: 'CNY', converted: true, rates: { JPY: 0.05, USD: 8 } });
      expect(plan.body.figures).toEqual(
        planTarget(planHistoryOf(EXAMPLE), { target: 1_000_000, period: 'month', start: '2027-01', periods: 3 })!
          .figures,
      );

      // A new rate applies at once (the rollup keeps amounts per currency; no rebuild).
      expect(
        (
          await admin.put('/currency-rates', {
            rates: [
              { currency: 'USD', rate: 4 },
              { currency: 'JPY', rate: 0.05 },
            ],
          })
        ).status,
      ).toBe(200);
      expect((await funnel()).figures.stages[3].openAmount).toBe(250_000); // 62,500 USD × 4

      // An amount stored before rates were checked, in a currency without one: counted, left out, named.
      const { db } = t.server.services.ctx.database;
      await db.execute(sql`insert into opportunities (id, tenant_id, name, customer_id, owner_id, department_id, amount, currency,
          process_id, process_version, stage_id, status, phase, stage_entered_at, max_stage_index, created_at, updated_at)
        values ('fx-eur', 'fx', 'EUR', 'fx-cus_x', 'rep', 'east', 1000, 'EUR', ${fxProcess}, 1, 'visit', 'open', 'presale',
          '2026-06-01', 0, '2026-06-01', '2026-06-01')`);
      const withEur = (await funnel()).figures;
      expect([withEur.total, withEur.stages[0].open, withEur.unconverted]).toEqual([23, 6, ['EUR']]);
      expect(withEur.stages[0].openAmount).toBe(figures.stages[0].openAmount);
    });

    it('reads a stay cell split over stripes as one', async () => {
      const { db } = t.server.services.ctx.database;
      const before = (await analyst().get(`/analytics/funnel?processId=${processId}`)).body.stages;
      // Concurrent writers land in different stripes of a cell: rewrite every cell as four
      // stripes (n - 1, 1, and a cancelling +5/-5 pair); the figures stay.
      const split = await db.execute(sql`with old as (delete from stay_cells returning *)
        insert into stay_cells (tenant_id, process_id, stage_id, days, shard, n)
        select tenant_id, process_id, stage_id, days, s.shard, case s.shard when 1 then sum(n) - 1 when 2 then 1 when 3 then 5 else -5 end
        from old, (values (1), (2), (3), (4)) s (shard) group by tenant_id, process_id, stage_id, days, s.shard returning shard`);
      expect(new Set(rowsOf<{ shard: number }>(split).map((r) => r.shard)).size).toBe(4);
      expect((await analyst().get(`/analytics/funnel?processId=${processId}`)).body.stages).toEqual(before);
    });

    it('filters by owner, by department with its sub-departments, and by period', async () => {
      const rep = (await analyst().get(`/analytics/funnel?processId=${processId}&ownerId=rep`)).body;
      const mine = EXAMPLE.filter((_, i) => i % 2 === 0);
      expect(rep.total).toBe(mine.length);
      expect(rep.stages.map((s: { open: number }) => s.open)).toEqual(
        computeFunnel(seedProcessDefinition, mine, []).stages.map((s) => s.open),
      );
      expect((await analyst().get(`/analytics/funnel?processId=${processId}&departmentId=hq`)).body.total).toBe(22);
      expect((await analyst().get(`/analytics/funnel?processId=${processId}&departmentId=north`)).body.total).toBe(11);
      expect((await analyst().get(`/analytics/funnel?processId=${processId}&from=2030-01-01`)).body.total).toBe(0);
      const unknown = await analyst().get(`/analytics/funnel?processId=${processId}&departmentId=nope`);
      expect([unknown.status, unknown.body.error.code, unknown.body.error.messages.zh]).toEqual([
        404,
        'NOT_FOUND',
        '部门不存在',
      ]);
    });

    it('plans a target from the history', async () => {
      const res = await analyst().post('/analytics/target-plan', {
        processId,
        target: 1_000_000,
        period: 'month',
        start: '2027-01',
        periods: 3,
      });
      expect(res.status).toBe(200);
      expect(res.body.figures).toEqual({
        winRate: 0.2727,
        avgWonAmount: 333_333.33,
        avgCycleDays: 60,
        leadPeriods: 2,
        won: 3,
        closed: 11,
        basis: 'history',
        customersPerOpportunity: 0.5, // 11 customers, 22 opportunities
        customersBasis: 'history',
      });
      expect(res.body.newOpportunitiesPerPeriod).toEqual([
        { period: '2026-11', opportunities: 11 },
        { period: '2026-12', opportunities: 11 },
        { period: '2027-01', opportunities: 11 },
      ]);
      expect(res.body.newCustomersPerPeriod).toEqual([
        { period: '2026-11', customers: 6 },
        { period: '2026-12', customers: 6 },
        { period: '2027-01', customers: 6 },
      ]);
      // core's plan of the same history, period by period.
      expect(res.body).toMatchObject(
        planTarget(planHistoryOf(EXAMPLE), { target: 1_000_000, period: 'month', start: '2027-01', periods: 3 })!,
      );
      expect((await analyst().post('/analytics/target-plan', { processId, target: -1, period: 'month' })).status).toBe(
        400,
      );
    });

    it('refuses people without an analytics role, and other tenants', async () => {
      expect((await t.as('rep', ['sales']).get(`/analytics/funnel?processId=${processId}`)).status).toBe(403);
      expect((await t.as('ana', ['analyst'], 't2').get(`/analytics/funnel?processId=${processId}`)).status).toBe(404);
    });

    it('keeps its trigger-fed rollups equal to a scan of the rows, through every kind of write', async () => {
      const { db } = t.server.services.ctx.database;
      const analytics = t.server.services.analytics;
      const p = { tenantId: 't1', userId: 'ana', roles: new Set(['analyst']) } as never;
      // Rows across month edges (UTC), then moves, edits, re-owning, closing and deleting.
      await db.insert(opportunities).values(
        ['2026-03-15T10:00:00Z', '2026-05-31T23:30:00Z', '2026-06-01T00:00:00Z', '2026-07-20T12:00:00Z'].map(
          (at, i) => ({
            id: `edge${i}`,
            tenantId: 't1',
            name: `edge${i}`,
            customerId: 'cus_x',
            ownerId: 'rep',
            departmentId: 'east',
            amount: 1000 * (i + 1),
            currency: 'CNY',
            expectedCloseDate: '2026-09-01',
            processId,
            processVersion: 1,
            stageId: 'visit',
            status: 'open' as const,
            phase: 'presale' as const,
            stageEnteredAt: new Date(at),
            maxStageIndex: 0,
            createdAt: new Date(at),
            updatedAt: new Date(at),
          }),
        ),
      );
      await db.execute(
        sql`update opportunities set stage_id = 'needs', max_stage_index = 1 where id in ('edge0', 'edge1')`,
      );
      await db.execute(sql`update opportunities set amount = amount + 0.5, fields = '{"x": 1}' where id like 'edge%'`);
      await db.execute(sql`update opportunities set owner_id = 'rep2', department_id = 'north' where id = 'edge2'`);
      await db.execute(sql`update opportunities set currency = 'USD', amount = 99 where id in ('edge0', 'edge2')`);
      await db.execute(
        sql`update opportunities set status = 'won', phase = 'done', stage_id = null, closed_at = created_at + interval '10 days 6 hours' where id = 'edge3'`,
      );
      await db.execute(sql`delete from opportunities where id = 'edge1'`);
      await db.insert(stageHistory).values(
        [1.234, 2.5, 7].map((days) => ({
          tenantId: 't1',
          opportunityId: 'edge0',
          processId,
          processVersion: 1,
          fromStageId: 'visit',
          toStageId: 'needs',
          toStatus: 'open',
          action: 'complete',
          at: new Date(),
          daysSpent: days,
        })),
      );
      await db.insert(stageHistory).values({
        tenantId: 't1',
        opportunityId: 'edge2',
        processId,
        processVersion: 1,
        fromStageId: 'visit',
        toStageId: 'visit',
        toStatus: 'open',
        action: 'migrate',
        at: new Date(),
        daysSpent: 99,
      });
      expect((await t.as('rep').post('/opportunities/edge0/invalidate')).status).toBe(200);

      const sorted = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();
      for (const q of [
        {},
        { ownerId: 'rep' },
        { departmentId: 'hq' },
        { departmentId: 'north' },
        { from: '2026-06-01' },
        { from: '2026-03-01', to: '2026-05-31' },
        { to: '2026-06-30' },
      ]) {
        const query = { processId, ...q };
        expect(sorted(await analytics.groups(p, query)), JSON.stringify(q)).toEqual(
          sorted(await analytics.groups(p, query, { scan: true })),
        );
      }
      const stays = (await analytics.stays(p, { processId })).sort((a, b) => a.stage_id.localeCompare(b.stage_id));
      expect(stays).toEqual(
        (await analytics.stays(p, { processId }, { scan: true })).sort((a, b) => a.stage_id.localeCompare(b.stage_id)),
      );
      expect(stays.find((s) => s.stage_id === 'visit')).toEqual({
        stage_id: 'visit',
        avg: expect.closeTo((1 + 3 + 8 + 10 + 3 + 1.23 + 2.5 + 7) / 8, 6),
        median: 3,
      });
      // A day-precise period takes the scan; month-aligned ones the rollup: same figures where they overlap.
      expect((await analyst().get(`/analytics/funnel?processId=${processId}&from=2026-05-31`)).body.total).toBe(
        (await analyst().get(`/analytics/funnel?processId=${processId}&from=2026-06-01`)).body.total,
      );
      expect(
        (await analyst().get(`/analytics/funnel?processId=${processId}&from=2026-03-01&to=2026-03-31`)).body.total,
      ).toBe(1);

      // Issue 21's rollups through more writes: stays of an opportunity that then changes
      // department, of one that is deleted, and one deleted on its own; losing across a month
      // edge, a reason changed, a reopening, a won one deleted.
      const stay = (opportunityId: string, daysSpent: number) => ({
        tenantId: 't1',
        opportunityId,
        processId,
        processVersion: 1,
        fromStageId: 'visit',
        toStageId: 'needs',
        toStatus: 'open',
        action: 'complete',
        at: new Date(),
        daysSpent,
      });
      await db.insert(stageHistory).values([stay('edge3', 4), stay('o2', 6.25)]);
      await db.execute(sql`update opportunities set department_id = 'north' where id in ('edge3', 'o5')`);
      await db.execute(sql`update opportunities set department_id = null where id = 'o7'`);
      await db.execute(sql`delete from stage_history where opportunity_id = 'o3'`);
      await db.execute(sql`delete from opportunities where id in ('o2', 'w1')`);
      await db.execute(
        sql`update opportunities set status = 'lost', phase = 'done', lost_reason = 'competitor', closed_at = '2026-09-30T23:59:00Z' where id in ('o6', 'o8')`,
      );
      await db.execute(sql`update opportunities set lost_reason = 'price' where id = 'o8'`);
      await db.execute(sql`update opportunities set lost_reason = null where id = 'l1'`);
      await db.execute(
        sql`update opportunities set status = 'open', phase = 'presale', lost_reason = null, closed_at = null where id = 'l2'`,
      );
      for (const q of [
        {},
        { departmentId: 'hq' },
        { departmentId: 'north' },
        { departmentId: 'east', from: '2026-06-01' },
        { from: '2026-03-01', to: '2026-05-31' },
        { from: '2026-06-01', to: '2026-06-30' },
      ]) {
        const query = { processId, ...q };
        const byStage = (xs: { stage_id: string }[]) => [...xs].sort((a, b) => a.stage_id.localeCompare(b.stage_id));
        expect(byStage(await analytics.stays(p, query)), JSON.stringify(q)).toEqual(
          byStage(await analytics.stays(p, query, { scan: true })),
        );
      }
      // 初次拜访 in 华北: o4's 10 days, and o5's 3 and edge3's 4 that moved there with them; o2's 3 and 6.25 went with it.
      expect(
        (await analytics.stays(p, { processId, departmentId: 'north' })).find((x) => x.stage_id === 'visit'),
      ).toEqual({
        stage_id: 'visit',
        avg: expect.closeTo(17 / 3, 9),
        median: 4,
      });
      const { ctx, processes } = t.server.services;
      for (const q of [
        {},
        { period: 'quarter' as const },
        { ownerId: 'rep' },
        { departmentId: 'north' },
        { from: '2026-09-01', to: '2026-09-30' },
        { from: '2026-07-01', period: 'quarter' as const },
      ]) {
        const query = { processId, ...q };
        expect(await winLoss(ctx, processes, analytics, p, query), JSON.stringify(q)).toEqual(
          await winLoss(ctx, processes, analytics, p, query, { scan: true }),
        );
      }
      const september = await winLoss(ctx, processes, analytics, p, {
        processId,
        from: '2026-09-01',
        to: '2026-09-30',
      });
      // l5 (noBudget), l6 (price) and now o6 (competitor) and o8 (price), 23:59 on the last day.
      expect(september.total.lostByReason.map((r) => [r.reason, r.count])).toEqual([
        ['price', 2],
        ['competitor', 1],
        ['noBudget', 1],
      ]);
    });

    it('tells open charts when opportunities move (server-sent events)', async () => {
      const token = await t.token('ana', ['analyst']);
      const res = await t.server.fetch(
        new Request(`http://test/api/v1/analytics/stream?processId=${processId}`, {
          headers: { authorization: `Bearer ${token}` },
        }),
      );
      const reader = res.body!.getReader();
      const text: string[] = [];
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text.push(new TextDecoder().decode(value));
        }
      })().catch(() => {});
      await waitFor(() => text.join('').includes('event: ready'), 2000);
      expect((await t.as('rep').post('/opportunities/o1/invalidate')).status).toBe(200);
      await waitFor(() => text.join('').includes('event: changed'), 3000, 'the change event');
      await reader.cancel();
    });
  });
}
