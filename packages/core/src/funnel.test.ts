import { describe, expect, it } from 'vitest';
import {
  acceptedCurrencies,
  computeFunnel,
  CurrencyConverter,
  diagnoseShape,
  planHistoryOf,
  planTarget,
  rateOf,
  shiftPeriod,
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
    expect(history).toEqual({ won: 3, closed: 11, wonAmount: 1_000_000, wonCycleDays: 180 });
    const plan = planTarget(history, { target: 1_000_000, period: 'month', start: '2027-01', periods: 3 })!;
    // avg won 333,333.33; 3 deals; win rate 3/11 → 11 opportunities; 60-day cycle = 2 months earlier.
    expect(plan.figures).toEqual({
      winRate: 0.2727,
      avgWonAmount: 333_333.33,
      avgCycleDays: 60,
      leadPeriods: 2,
      won: 3,
      closed: 11,
    });
    expect(plan.periods).toEqual([
      { period: '2027-01', target: 1_000_000, dealsNeeded: 3, opportunitiesNeeded: 11, findIn: '2026-11' },
      { period: '2027-02', target: 1_000_000, dealsNeeded: 3, opportunitiesNeeded: 11, findIn: '2026-12' },
      { period: '2027-03', target: 1_000_000, dealsNeeded: 3, opportunitiesNeeded: 11, findIn: '2027-01' },
    ]);
    expect(plan.newOpportunitiesPerPeriod).toEqual([
      { period: '2026-11', opportunities: 11 },
      { period: '2026-12', opportunities: 11 },
      { period: '2027-01', opportunities: 11 },
    ]);
  });

  it('plans quarters, with per-period targets', () => {
    const plan = planTarget(
      { won: 2, closed: 4, wonAmount: 200_000, wonCycleDays: 200 },
      { target: [250_000, 0], period: 'quarter', start: '2027-Q1' },
    )!;
    // 100k per deal → 3 deals → ÷ 0.5 → 6; 100-day cycle ≈ 1 quarter earlier.
    expect(plan.periods).toEqual([
      { period: '2027-Q1', target: 250_000, dealsNeeded: 3, opportunitiesNeeded: 6, findIn: '2026-Q4' },
      { period: '2027-Q2', target: 0, dealsNeeded: 0, opportunitiesNeeded: 0, findIn: '2027-Q1' },
    ]);
  });

  it('has no plan without won history', () => {
    expect(
      planTarget(
        { won: 0, closed: 5, wonAmount: 0, wonCycleDays: 0 },
        { target: 1, period: 'month', start: '2027-01' },
      ),
    ).toBeNull();
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
