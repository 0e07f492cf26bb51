import { describe, expect, it } from 'vitest';
import { DEFAULT_CUSTOM_FIELDS } from './fields.js';
import { computeStaleDeals, computeWinLoss, isStale, outcomeCells, periodOfMonth } from './pipeline-analytics.js';
import { seedProcessDefinition as seed } from './seed-process.js';
import { EXAMPLE, EXAMPLE_FX, FX_RATES, openDeals, STALE_AS_OF } from './testing/funnel-example.js';

const stages = seed.presale.map((s) => ({ id: s.id, name: s.name }));
const reasons = DEFAULT_CUSTOM_FIELDS.opportunity.find((f) => f.key === 'lostReason')!.options!;
const label = (value: string) => reasons.find((r) => r.value === value)!.label;

describe('win/loss of the hand-computed example', () => {
  it('counts by the month closed in: won, lost, invalid, the win rate, lost by reason and by stage', () => {
    const w = computeWinLoss(EXAMPLE, { period: 'month', stages, reasons });
    expect(w.periods.map((p) => p.period)).toEqual(['2026-07', '2026-08', '2026-09']);
    // July: w3 (200k, 07-01) and w1 (300k, 07-31) won; l1 (初次拜访, price, 80k) and l2 (需求分析匹配, competitor, 120k) lost; i1 invalid.
    expect(w.periods[0]).toEqual({
      period: '2026-07',
      won: { count: 2, amount: 500_000 },
      lost: { count: 2, amount: 200_000 },
      invalid: { count: 1, amount: 30_000 },
      winRate: 0.5,
      lostByReason: [
        { reason: 'competitor', label: label('competitor'), count: 1, amount: 120_000 },
        { reason: 'price', label: label('price'), count: 1, amount: 80_000 },
      ],
      lostByStage: [
        { stageId: 'visit', name: '初次拜访', count: 1, amount: 80_000 },
        { stageId: 'needs', name: '需求分析匹配', count: 1, amount: 120_000 },
      ],
    });
    // August: w2 won (500k); l3 (方案设计, price, 250k) and l4 (报价竞标, competitor, 400k) lost: 1 of 3.
    expect([w.periods[1]!.won, w.periods[1]!.lost, w.periods[1]!.winRate]).toEqual([
      { count: 1, amount: 500_000 },
      { count: 2, amount: 650_000 },
      0.3333,
    ]);
    expect(w.periods[1]!.lostByStage.map((s) => s.stageId)).toEqual(['solution', 'quote']);
    // September: nothing won, l5 (noBudget, 60k) and l6 (price, 70k) lost.
    expect([w.periods[2]!.won.count, w.periods[2]!.winRate, w.periods[2]!.lostByReason.map((r) => r.reason)]).toEqual([
      0,
      0,
      ['price', 'noBudget'],
    ]);
    expect([w.currency, w.converted]).toEqual(['CNY', false]);
  });

  it('adds months into quarters, and every period into the total', () => {
    const q = computeWinLoss(EXAMPLE, { period: 'quarter', stages, reasons });
    expect(q.periods.map((p) => p.period)).toEqual(['2026-Q3']);
    const expected = {
      won: { count: 3, amount: 1_000_000 },
      lost: { count: 6, amount: 980_000 },
      invalid: { count: 2, amount: 120_000 },
      winRate: 0.3333,
      lostByReason: [
        { reason: 'price', label: label('price'), count: 3, amount: 400_000 }, // 80k + 250k + 70k
        { reason: 'competitor', label: label('competitor'), count: 2, amount: 520_000 },
        { reason: 'noBudget', label: label('noBudget'), count: 1, amount: 60_000 },
      ],
      lostByStage: [
        { stageId: 'visit', name: '初次拜访', count: 2, amount: 140_000 },
        { stageId: 'needs', name: '需求分析匹配', count: 2, amount: 190_000 },
        { stageId: 'solution', name: '方案设计', count: 1, amount: 250_000 },
        { stageId: 'quote', name: '报价竞标', count: 1, amount: 400_000 },
      ],
    };
    expect(q.periods[0]).toEqual({ period: '2026-Q3', ...expected });
    expect(q.total).toEqual(expected);
    expect(computeWinLoss(EXAMPLE, { period: 'month', stages, reasons }).total).toEqual(expected);
  });

  it('converts amounts in other currencies and says so', () => {
    const fx = computeWinLoss(EXAMPLE_FX, { period: 'quarter', stages, reasons, currencies: FX_RATES });
    // w1 is 37,500 USD and l4 8,000,000 JPY: worth their CNY twins.
    expect(fx.total).toEqual(computeWinLoss(EXAMPLE, { period: 'quarter', stages, reasons }).total);
    expect([fx.converted, fx.rates]).toEqual([true, { JPY: 0.05, USD: 8 }]);
  });

  it('keeps a reason without a label, no reason, and a stage only an older version has, after the known ones', () => {
    const base = { ...EXAMPLE[14]!, status: 'lost' as const, closedAt: '2026-10-01T00:00:00Z' };
    const w = computeWinLoss(
      [
        { ...base, id: 'a', lostReason: null },
        { ...base, id: 'b', lostReason: 'gone', stageId: 'poc' },
        { ...base, id: 'c', lostReason: 'price', stageId: 'visit' },
        { ...base, id: 'd', closedAt: null },
      ],
      { period: 'month', stages: [...stages, { id: 'poc', name: '试点验证' }], reasons },
    );
    expect(w.total.lost.count).toBe(3);
    expect(w.total.lostByReason.map((r) => [r.reason, r.label?.zh ?? null])).toEqual([
      ['gone', null],
      ['price', '价格'],
      [null, null],
    ]);
    expect(w.total.lostByStage.map((s) => [s.stageId, s.name, s.count])).toEqual([
      ['visit', '初次拜访', 2],
      ['poc', '试点验证', 1],
    ]);
  });

  it('keys cells as the rollup does: won ones with no stage, only lost ones with a reason', () => {
    const cells = outcomeCells(EXAMPLE);
    expect(cells.filter((c) => c.status === 'won').every((c) => c.stageId === null && c.reason === null)).toBe(true);
    expect(cells.find((c) => c.status === 'invalid')).toMatchObject({ stageId: 'visit', reason: null });
    expect(cells.reduce((a, c) => a + c.count, 0)).toBe(11);
    expect([
      periodOfMonth('2026-12', 'quarter'),
      periodOfMonth('2027-01', 'quarter'),
      periodOfMonth('2027-04', 'month'),
    ]).toEqual(['2026-Q4', '2027-Q1', '2027-04']);
  });
});

const stageNames = new Map(seed.presale.map((s) => [s.id, s.name]));

describe('stale deals of the hand-computed example', () => {
  it('lists open ones past their stage’s reminder days, oldest first, with days in stage and overdue', () => {
    const s = computeStaleDeals(openDeals(), { asOf: STALE_AS_OF, stageNames });
    expect(s.deals.map((d) => [d.id, d.stageId, d.daysInStage, d.remindAfterDays, d.daysOverdue])).toEqual([
      ['o1', 'visit', 30, 7, 23],
      ['o4', 'visit', 29.5, 7, 22.5],
      ['o9', 'solution', 29, 14, 15],
      ['o6', 'needs', 26, 14, 12],
      ['o8', 'needs', 21, 14, 7],
      ['o11', 'quote', 16, 10, 6],
      ['o5', 'visit', 10, 7, 3],
      ['o2', 'visit', 7, 7, 0], // exactly the reminder's moment: stale, as the reminder goes out then
    ]);
    expect([s.total, s.amount]).toEqual([8, 1_950_000]);
    expect(s.deals[0]).toMatchObject({
      stageName: '初次拜访',
      amount: 100_000,
      originalAmount: 100_000,
      originalCurrency: 'CNY',
    });
  });

  it('sums per owner, the owner with the oldest stale deal first', () => {
    const s = computeStaleDeals(openDeals(), { asOf: STALE_AS_OF, stageNames });
    expect(s.owners).toEqual([
      // rep: o1, o5, o9, o11 (100k + 100k + 400k + 500k)
      { ownerId: 'rep', count: 4, amount: 1_100_000, oldestEnteredAt: '2026-06-01T00:00:00.000Z', oldestDays: 30 },
      // rep2: o2, o4, o6, o8 (200k + 150k + 300k + 200k)
      { ownerId: 'rep2', count: 4, amount: 850_000, oldestEnteredAt: '2026-06-01T12:00:00.000Z', oldestDays: 29.5 },
    ]);
  });

  it('limits the list, not the counts; converts other currencies', () => {
    const s = computeStaleDeals(openDeals(EXAMPLE_FX), {
      asOf: STALE_AS_OF,
      stageNames,
      currencies: FX_RATES,
      limit: 2,
    });
    expect(s.deals.map((d) => d.id)).toEqual(['o1', 'o4']);
    expect(s.deals[0]).toMatchObject({ amount: 100_000, originalAmount: 2_000_000, originalCurrency: 'JPY' });
    expect([s.total, s.amount, s.converted]).toEqual([8, 1_950_000, true]);
  });

  it('never calls a stage without reminder days stale', () => {
    expect(isStale({ stageEnteredAt: '2020-01-01T00:00:00Z', remindAfterDays: null }, STALE_AS_OF)).toBe(false);
    expect(isStale({ stageEnteredAt: '2020-01-01T00:00:00Z', remindAfterDays: 0 }, STALE_AS_OF)).toBe(false);
    expect(isStale({ stageEnteredAt: '2026-06-24T00:00:00.001Z', remindAfterDays: 7 }, STALE_AS_OF)).toBe(false);
  });
});
