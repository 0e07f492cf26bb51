import { describe, expect, it } from 'vitest';
import {
  acceptedCurrencies,
  cohortRule,
  computeFunnel,
  CurrencyConverter,
  diagnoseShape,
  planHistoryOf,
  planTarget,
  rateOf,
  shiftPeriod,
  targetPlanProblem,
  type FunnelStageFigures,
} from './funnel.js';
import { EXAMPLE, EXAMPLE_FX, FX_RATES, STAYS } from './testing/funnel-example.js';
import { seedProcessDefinition as seed } from './seed-process.js';

describe('funnel figures of the hand-computed example', () => {
  const f = computeFunnel(seed, EXAMPLE, STAYS);

  it('counts open opportunities, amounts and weighted amounts per stage', () => {
    expect(f.stages.map((s) => [s.stageId, s.open, s.openAmount, s.weightedAmount])).toEqual([
      ['visit', 5, 600_000, 60_000], // 100+200+50+150+100 k × 10 %
      ['needs', 3, 600_000, 180_000], // 300+100+200 k × 30 %
      ['solution', 2, 500_000, 250_000], // 400+100 k × 50 %
      ['quote', 1, 500_000, 400_000], // 500 k × 80 %
    ]);
    expect(f.openAmount).toBe(2_200_000);
    expect(f.weightedAmount).toBe(890_000);
  });

  it('converts by cohort: reached the next stage ÷ reached this one', () => {
    // reached: 22 all; ≥ needs 15; ≥ solution 10; ≥ quote 5; won 3.
    expect(f.stages.map((s) => s.reached)).toEqual([22, 15, 10, 5]);
    expect(f.stages.map((s) => s.conversionToNext)).toEqual([0.6818, 0.6667, 0.5, 0.6]);
  });

  it('averages completed stays per stage (mean and median)', () => {
    expect(f.stages.map((s) => [s.avgDays, s.medianDays])).toEqual([
      [5, 3],
      [20, 20],
      [10, 10],
      [null, null],
    ]);
  });

  it('counts terminal states and the overall win rate = won ÷ (won + lost)', () => {
    expect(f.terminal).toEqual({
      won: { count: 3, amount: 1_000_000 },
      lost: { count: 6, amount: 980_000 },
      invalid: { count: 2, amount: 120_000 },
    });
    expect(f.overallWinRate).toBe(0.3333);
    expect(f.total).toBe(22);
  });

  it('forecasts Σ amount × win rate of open ones by expected close month', () => {
    expect(f.forecast).toEqual([
      { month: '2027-01', count: 4, amount: 1_100_000, weighted: 520_000 }, // 10k + 20k + 90k + 400k
      { month: '2027-02', count: 4, amount: 700_000, weighted: 250_000 }, // 5k + 15k + 30k + 200k
      { month: '2027-03', count: 3, amount: 400_000, weighted: 120_000 }, // 10k + 60k + 50k
    ]);
  });

  it('calls this funnel healthy (5 > 1.2 × 3, no stage under half the others)', () => {
    expect(f.diagnosis.shape).toBe('healthy');
    expect(f.diagnosis.thresholds.topWidthRatio).toBe(1.2);
  });
});

describe('amounts in several currencies', () => {
  it('converts each amount to the base currency at its rate, and says so', () => {
    const f = computeFunnel(seed, EXAMPLE_FX, STAYS, FX_RATES);
    const cny = computeFunnel(seed, EXAMPLE, STAYS);
    // Each foreign amount is worth what the all-CNY example holds: every figure is the hand-computed one.
    expect({ ...f, rates: {}, converted: false }).toEqual(cny);
    expect(f.openAmount).toBe(2_200_000);
    expect(f.weightedAmount).toBe(890_000);
    expect(f.terminal.lost.amount).toBe(980_000); // 8,000,000 JPY × 0.05 = 400,000 among them
    expect([f.currency, f.converted, f.rates, f.unconverted]).toEqual(['CNY', true, { JPY: 0.05, USD: 8 }, []]);
    expect([cny.currency, cny.converted, cny.rates]).toEqual(['CNY', false, {}]);
  });

  it('does not add 100 USD and 100 JPY into 200', () => {
    const o = (id: string, currency: string) => ({ ...EXAMPLE[0]!, id, amount: 100, currency });
    const f = computeFunnel(seed, [o('a', 'USD'), o('b', 'JPY')], [], FX_RATES);
    expect(f.openAmount).toBe(805); // 100 × 8 + 100 × 0.05
  });

  it('counts an opportunity in a currency with no rate, leaves its amount out and names the currency', () => {
    const f = computeFunnel(
      seed,
      [...EXAMPLE_FX, { ...EXAMPLE[0]!, id: 'eur', amount: 1_000, currency: 'EUR' }],
      STAYS,
      FX_RATES,
    );
    expect(f.total).toBe(23);
    expect(f.stages[0]!.open).toBe(6);
    expect(f.openAmount).toBe(2_200_000);
    expect(f.unconverted).toEqual(['EUR']);
  });

  it('plans targets from won amounts in the base currency', () => {
    expect(planHistoryOf(EXAMPLE_FX, FX_RATES)).toEqual(planHistoryOf(EXAMPLE));
  });

  it('knows the base rate, recorded rates and which currencies are accepted', () => {
    expect([rateOf(FX_RATES, 'CNY'), rateOf(FX_RATES, 'USD'), rateOf(FX_RATES, 'EUR')]).toEqual([1, 8, null]);
    expect(rateOf({ base: 'USD', rates: {} }, 'toString')).toBeNull();
    expect(acceptedCurrencies(FX_RATES)).toEqual(['CNY', 'JPY', 'USD']);
    const fx = new CurrencyConverter({ base: 'USD', rates: { CNY: 0.14 } });
    expect([fx.toBase(100), fx.toBase(100, 'CNY'), fx.toBase(5, 'GBP')]).toEqual([100, 14.000000000000002, 0]);
    expect(fx.summary()).toEqual({ currency: 'USD', converted: true, rates: { CNY: 0.14 }, unconverted: ['GBP'] });
  });
});

describe('target decomposition', () => {
  it('works back from the target through the won amount, the win rate and the cycle', () => {
    const history = planHistoryOf(EXAMPLE);
    expect(history).toEqual({
      won: 3,
      closed: 11,
      wonAmount: 1_000_000,
      wonCycleDays: 180,
      opportunities: 22,
      amount: 4_300_000, // 2,200,000 open + 1,000,000 won + 980,000 lost + 120,000 invalid
      customers: 11,
    });
    const plan = planTarget(history, { target: 1_000_000, period: 'month', start: '2027-01', periods: 3 })!;
    // avg won 333,333.33; 3 deals; win rate 3/11 → 11 opportunities; 60-day cycle = 2 months earlier;
    // 11 customers for 22 opportunities → 5.5 → 6 customers.
    expect(plan.figures).toEqual({
      winRate: 0.2727,
      avgWonAmount: 333_333.33,
      avgCycleDays: 60,
      leadPeriods: 2,
      won: 3,
      closed: 11,
      basis: 'history',
      customersPerOpportunity: 0.5,
      customersBasis: 'history',
    });
    const p = (period: string, findIn: string) => ({
      period,
      target: 1_000_000,
      dealsNeeded: 3,
      opportunitiesNeeded: 11,
      customersNeeded: 6,
      findIn,
    });
    expect(plan.periods).toEqual([p('2027-01', '2026-11'), p('2027-02', '2026-12'), p('2027-03', '2027-01')]);
    expect(plan.newOpportunitiesPerPeriod).toEqual([
      { period: '2026-11', opportunities: 11 },
      { period: '2026-12', opportunities: 11 },
      { period: '2027-01', opportunities: 11 },
    ]);
    expect(plan.newCustomersPerPeriod).toEqual([
      { period: '2026-11', customers: 6 },
      { period: '2026-12', customers: 6 },
      { period: '2027-01', customers: 6 },
    ]);
    expect(plan.note).toBeUndefined();
  });

  it('plans quarters, with per-period targets', () => {
    const plan = planTarget(
      { won: 2, closed: 4, wonAmount: 200_000, wonCycleDays: 200 },
      { target: [250_000, 0], period: 'quarter', start: '2027-Q1' },
    )!;
    // 100k per deal → 3 deals → ÷ 0.5 → 6; 100-day cycle ≈ 1 quarter earlier.
    // No opportunity counts: one customer per opportunity, assumed.
    expect(plan.periods).toEqual([
      {
        period: '2027-Q1',
        target: 250_000,
        dealsNeeded: 3,
        opportunitiesNeeded: 6,
        customersNeeded: 6,
        findIn: '2026-Q4',
      },
      { period: '2027-Q2', target: 0, dealsNeeded: 0, opportunitiesNeeded: 0, customersNeeded: 0, findIn: '2027-Q1' },
    ]);
    expect([plan.figures.customersPerOpportunity, plan.figures.customersBasis]).toEqual([1, 'assumed']);
  });

  it('has no plan without won history and nothing to fall back on, and says why', () => {
    const none = { won: 0, closed: 5, wonAmount: 0, wonCycleDays: 0 };
    expect(planTarget(none, { target: 1, period: 'month', start: '2027-01' })).toBeNull();
    expect(targetPlanProblem(none)!.en).toContain('first stage a win rate of 0');
    // The process stands in for the win rate, but there is no deal size anywhere.
    expect(planTarget(none, { target: 1, period: 'month', start: '2027-01' }, { process: seed })).toBeNull();
    expect(targetPlanProblem(none, { process: seed })!.zh).toContain('averageDealAmount');
    const zeroFirst = { ...seed, presale: [{ ...seed.presale[0]!, winRate: 0 }, ...seed.presale.slice(1)] };
    expect(targetPlanProblem(none, { process: zeroFirst, averageDealAmount: 1000 })!.zh).toContain('赢率也为 0');
    expect(targetPlanProblem(planHistoryOf(EXAMPLE))).toBeNull();
  });

  it("plans before the first win from the process's stage win rates, and says so", () => {
    // A new salesperson's book: the example's 11 open ones (2,200,000 on 6 customers, c1 … c6), nothing closed.
    const open = EXAMPLE.filter((o) => o.status === 'open');
    const history = planHistoryOf(open);
    expect(history).toMatchObject({ won: 0, closed: 0, opportunities: 11, amount: 2_200_000, customers: 6 });
    const plan = planTarget(
      history,
      { target: 1_000_000, period: 'month', start: '2027-01', periods: 2 },
      { process: seed },
    )!;
    // Deal 2,200,000 ÷ 11 = 200,000 → 5 deals; the first stage wins 10 % → 50 opportunities;
    // the stages' reminder days 7 + 14 + 14 + 10 = 45 days ≈ 1 month earlier; 6 ÷ 11 customers each → 28.
    expect(plan.figures).toEqual({
      winRate: 0.1,
      avgWonAmount: 200_000,
      avgCycleDays: 45,
      leadPeriods: 1,
      won: 0,
      closed: 0,
      basis: 'process',
      customersPerOpportunity: 0.5455,
      customersBasis: 'history',
    });
    expect(plan.periods[0]).toEqual({
      period: '2027-01',
      target: 1_000_000,
      dealsNeeded: 5,
      opportunitiesNeeded: 50,
      customersNeeded: 28,
      findIn: '2026-12',
    });
    expect(plan.newCustomersPerPeriod).toEqual([
      { period: '2026-12', customers: 28 },
      { period: '2027-01', customers: 28 },
    ]);
    expect(plan.note!.zh).toBe(
      '尚无赢单记录：按流程设定估算，赢率取第一阶段“初次拜访”的 10%，周期取各阶段停留提醒天数之和（45 天），成交金额取现有商机的平均金额',
    );
    expect(plan.note!.en).toContain('No won opportunities yet: planned from the process');
    // A brand-new tenant: no opportunities at all, a deal size given; one customer per opportunity, assumed.
    const fresh = planTarget(
      { won: 0, closed: 0, wonAmount: 0, wonCycleDays: 0 },
      { target: 1_000_000, period: 'quarter', start: '2027-Q1', periods: 1 },
      { process: seed, averageDealAmount: 250_000 },
    )!;
    // 45 days is under half a quarter: found in the quarter itself.
    expect(fresh.periods[0]).toMatchObject({
      dealsNeeded: 4,
      opportunitiesNeeded: 40,
      customersNeeded: 40,
      findIn: '2027-Q1',
    });
    expect([fresh.figures.customersBasis, fresh.note!.zh.endsWith('成交金额取给定的平均成交金额')]).toEqual([
      'assumed',
      true,
    ]);
  });

  it('shifts period labels across years', () => {
    expect(shiftPeriod('2027-01', 'month', -2)).toBe('2026-11');
    expect(shiftPeriod('2026-12', 'month', 1)).toBe('2027-01');
    expect(shiftPeriod('2027-Q1', 'quarter', -1)).toBe('2026-Q4');
    expect(shiftPeriod('2027-Q4', 'quarter', 5)).toBe('2029-Q1');
  });
});

describe('shape diagnosis', () => {
  const stages = (counts: number[], conversions: (number | null)[] = counts.map(() => 0.6)): FunnelStageFigures[] =>
    counts.map((open, i) => ({
      stageId: `s${i}`,
      name: `S${i}`,
      winRate: 0,
      open,
      openAmount: 0,
      weightedAmount: 0,
      reached: 20,
      conversionToNext: conversions[i] ?? null,
      avgDays: null,
      medianDays: null,
    }));

  it('sees a cylinder when the top is barely wider than the stages below (too few new customers)', () => {
    const d = diagnoseShape(stages([11, 10, 9, 5]));
    expect(d.shape).toBe('cylinder');
    expect(d.findings[0]!.figures).toMatchObject({ top: 11, widestBelow: 10, threshold: 1.2 });
    expect(d.findings[0]!.message.zh).toContain('新客户不足');
  });

  it('sees a bottom-heavy funnel when the last stage is as wide as the first (deals stall)', () => {
    expect(diagnoseShape(stages([6, 5, 5, 7])).shape).toBe('bottom-heavy');
  });

  it('names a bottleneck stage whose conversion is under half the others', () => {
    const d = diagnoseShape(stages([20, 12, 8, 2], [0.6, 0.6, 0.2, 0.7]));
    expect(d.shape).toBe('bottleneck');
    expect(d.findings[0]).toMatchObject({
      code: 'bottleneck',
      stageId: 's2',
      figures: { conversion: 0.2, medianOfOthers: 0.6, threshold: 0.5 },
    });
  });

  it('does not judge a funnel with too few open opportunities', () => {
    const d = diagnoseShape(stages([3, 2, 1, 1]));
    expect(d.shape).toBe('insufficient-data');
    expect(d.findings[0]!.figures).toEqual({ open: 7, minOpen: 10 });
  });
});

describe('the diagnosis reads conversions only from cohorts old enough to have converted', () => {
  // 30 opportunities created the day before, all still in 初次拜访.
  const fresh = (asOf: string) =>
    Array.from({ length: 30 }, (_, i) => ({
      ...EXAMPLE[0]!,
      id: `new${i}`,
      createdAt: new Date(Date.parse(asOf) - 86_400_000).toISOString(),
    }));
  const asOf = '2026-12-02T08:00:00Z';

  it('takes the process’s reminder days as the age a creation month needs, and names the months', () => {
    // 7 + 14 + 14 + 10 = 45 days before 2026-12-02 is 2026-10-18: October has not ended 45 days ago, September has.
    expect(cohortRule(seed, asOf)).toEqual({ createdThrough: '2026-09', minAgeDays: 45, basis: 'stage-reminders' });
    // A month counts from the moment it ended minAgeDays ago: 2026-09 ended 2026-10-01, + 45 days = 2026-11-15.
    expect(cohortRule(seed, '2026-11-15T00:00:00Z').createdThrough).toBe('2026-09');
    expect(cohortRule(seed, '2026-11-14T23:59:59Z').createdThrough).toBe('2026-08');
    const noReminders = { ...seed, presale: seed.presale.map((s) => ({ ...s, remindAfterDays: null })) };
    expect(cohortRule(noReminders, asOf)).toEqual({ createdThrough: '2026-10', minAgeDays: 30, basis: 'default' });
  });

  it('keeps a healthy funnel healthy when 30 brand-new opportunities join its first stage', () => {
    const all = [...EXAMPLE, ...fresh(asOf)];
    // Read from every opportunity (the old rule), 初次拜访 converts 15 ÷ 52 = 29 %, under half the others' 60 %.
    const old = computeFunnel(seed, all, STAYS);
    expect(old.diagnosis.shape).toBe('bottleneck');
    expect(old.diagnosis.findings[0]!.stageId).toBe('visit');
    // Read from the cohorts created through 2026-09: the example's 22, as healthy as before.
    const f = computeFunnel(seed, all, STAYS, undefined, { asOf });
    expect(f.diagnosis.shape).toBe('healthy');
    expect(f.stages[0]!.conversionToNext).toBe(0.2885); // the figures themselves still count everyone
    expect(f.diagnosis.cohort).toEqual({
      createdThrough: '2026-09',
      minAgeDays: 45,
      basis: 'stage-reminders',
      opportunities: 22,
      stages: [
        { stageId: 'visit', reached: 22, conversionToNext: 0.6818 },
        { stageId: 'needs', reached: 15, conversionToNext: 0.6667 },
        { stageId: 'solution', reached: 10, conversionToNext: 0.5 },
        { stageId: 'quote', reached: 5, conversionToNext: 0.6 },
      ],
      message: {
        zh: '转化率只看 2026-09 及以前创建的 22 个商机（创建月份结束已满 45 天，各售前阶段停留提醒天数之和）；更晚创建的商机还来不及转化，不计入',
        en: "Conversions are read from the 22 opportunities created through 2026-09 (months ended at least 45 days ago, the sum of the pre-sale stages' reminder days); newer ones have not had time to convert",
      },
    });
  });

  it('still finds a real bottleneck in an old cohort', () => {
    // The example made worse in the old cohort: 6 more reached 方案设计 and were lost there.
    const lostAtSolution = Array.from({ length: 6 }, (_, i) => ({
      ...EXAMPLE[16]!, // l3: lost at 方案设计
      id: `ls${i}`,
    }));
    const f = computeFunnel(seed, [...EXAMPLE, ...lostAtSolution, ...fresh(asOf)], STAYS, undefined, { asOf });
    // 方案设计 converts 5 ÷ 16 = 31 %, under half the others' median (75 %, 76 %, 60 % → 75 %).
    expect(f.diagnosis.findings.map((x) => [x.code, x.stageId])).toEqual([['bottleneck', 'solution']]);
  });

  it('judges no conversion while no cohort is old enough, and says so', () => {
    const f = computeFunnel(seed, fresh(asOf), [], undefined, { asOf });
    expect(f.diagnosis.cohort!.opportunities).toBe(0);
    expect(f.diagnosis.findings.some((x) => x.code === 'bottleneck')).toBe(false);
    expect(f.diagnosis.cohort!.message.en).toBe(
      "No opportunities created through 2026-09 yet (months ended at least 45 days ago, the sum of the pre-sale stages' reminder days): bottlenecks are not judged",
    );
  });
});
