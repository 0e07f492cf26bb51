import type { FunnelOpportunity, StageStay } from '../funnel.js';
import type { OpenDeal } from '../pipeline-analytics.js';
import { seedProcessDefinition } from '../seed-process.js';

/**
 * A hand-computed example: 22 opportunities on the seed process
 * (初次拜访 10 %, 需求分析匹配 30 %, 方案设计 50 %, 报价竞标 80 %), all created on
 * 2026-06-01, two per customer (c1 … c11). `max` is the furthest pre-sale stage index each
 * ever reached (won = past the last). Lost and invalid ones were closed in July to September
 * 2026 (`CLOSED`, with the lost reasons).
 */
const o = (
  id: string,
  status: FunnelOpportunity['status'],
  stageId: string | null,
  max: number,
  amountK: number,
  close: string | null,
  createdAt = '2026-06-01T00:00:00Z',
  closedAt: string | null = null,
): FunnelOpportunity => ({
  id,
  status,
  stageId,
  maxStageIndex: max,
  amount: amountK * 1000,
  expectedCloseDate: close,
  createdAt,
  closedAt,
});
const ROWS: FunnelOpportunity[] = [
  o('o1', 'open', 'visit', 0, 100, '2027-01-15'),
  o('o2', 'open', 'visit', 0, 200, '2027-01-20'),
  o('o3', 'open', 'visit', 0, 50, '2027-02-10'),
  o('o4', 'open', 'visit', 0, 150, '2027-02-28'),
  o('o5', 'open', 'visit', 1, 100, '2027-03-01'), // moved back from 需求分析匹配
  o('o6', 'open', 'needs', 1, 300, '2027-01-31'),
  o('o7', 'open', 'needs', 1, 100, '2027-02-15'),
  o('o8', 'open', 'needs', 2, 200, '2027-03-10'), // moved back from 方案设计
  o('o9', 'open', 'solution', 2, 400, '2027-02-01'),
  o('o10', 'open', 'solution', 2, 100, '2027-03-20'),
  o('o11', 'open', 'quote', 3, 500, '2027-01-10'),
  o('w1', 'won', 'install', 3, 300, null, '2026-06-01T00:00:00Z', '2026-07-31T00:00:00Z'), // 60 days
  o('w2', 'won', 'install', 3, 500, null, '2026-06-01T00:00:00Z', '2026-08-30T00:00:00Z'), // 90 days
  o('w3', 'won', null, 3, 200, null, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z'), // 30 days
  o('l1', 'lost', 'visit', 0, 80, null),
  o('l2', 'lost', 'needs', 1, 120, null),
  o('l3', 'lost', 'solution', 2, 250, null),
  o('l4', 'lost', 'quote', 3, 400, null),
  o('l5', 'lost', 'visit', 0, 60, null),
  o('i1', 'invalid', 'visit', 0, 30, null),
  o('i2', 'invalid', 'needs', 1, 90, null),
  o('l6', 'lost', 'needs', 2, 70, null), // reached 方案设计, moved back, lost
];
/** When the lost and invalid ones were closed, and why the lost ones were lost. */
export const CLOSED: Record<string, [closedAt: string, lostReason: string | null]> = {
  l1: ['2026-07-10T09:00:00Z', 'price'],
  l2: ['2026-07-20T09:00:00Z', 'competitor'],
  i1: ['2026-07-05T09:00:00Z', null],
  l3: ['2026-08-05T09:00:00Z', 'price'],
  l4: ['2026-08-15T09:00:00Z', 'competitor'],
  i2: ['2026-08-01T09:00:00Z', null],
  l5: ['2026-09-02T09:00:00Z', 'noBudget'],
  l6: ['2026-09-10T09:00:00Z', 'price'],
};
export const EXAMPLE: FunnelOpportunity[] = ROWS.map((x, i) => {
  const closed = CLOSED[x.id];
  return {
    ...x,
    customerId: `c${(i >> 1) + 1}`,
    ...(closed ? { closedAt: closed[0], lostReason: closed[1] } : {}),
  };
});
export const STAYS: StageStay[] = [
  ...[1, 3, 8, 10, 3].map((days) => ({ stageId: 'visit', days })),
  ...[10, 20, 30].map((days) => ({ stageId: 'needs', days })),
  ...[5, 15].map((days) => ({ stageId: 'solution', days })),
];

/** The example's tenant with two other currencies: base CNY, 1 USD = 8 CNY, 1 JPY = 0.05 CNY. */
export const FX_RATES = { base: 'CNY', rates: { USD: 8, JPY: 0.05 } };
/**
 * EXAMPLE with five amounts in USD and JPY, each worth at FX_RATES what it was in CNY: every
 * converted figure is the hand-computed one. Added up as they stand (the old bug), the open
 * amount would be 9,362,500 instead of 2,200,000.
 */
export const EXAMPLE_FX: FunnelOpportunity[] = EXAMPLE.map((x) => {
  const as = {
    o11: ['USD', 62_500],
    w1: ['USD', 37_500],
    o1: ['JPY', 2_000_000],
    o6: ['JPY', 6_000_000],
    l4: ['JPY', 8_000_000],
  }[x.id] as [string, number] | undefined;
  return as ? { ...x, currency: as[0], amount: as[1] } : { ...x, currency: 'CNY' };
});

/** The moment the stale-deal example is read at. */
export const STALE_AS_OF = '2026-07-01T00:00:00Z';
/**
 * When each open one entered its stage (the seed's reminders: 初次拜访 7 days, 需求分析匹配 14,
 * 方案设计 14, 报价竞标 10). Stale at STALE_AS_OF: o1 (30 days), o4 (29.5), o9 (29), o6 (26),
 * o8 (21), o11 (16), o5 (10) and o2 (exactly 7); not yet: o3 (6), o7 (11 of 14), o10 (6).
 */
export const ENTERED: Record<string, string> = {
  o1: '2026-06-01T00:00:00Z',
  o2: '2026-06-24T00:00:00Z',
  o3: '2026-06-25T00:00:00Z',
  o4: '2026-06-01T12:00:00Z',
  o5: '2026-06-21T00:00:00Z',
  o6: '2026-06-05T00:00:00Z',
  o7: '2026-06-20T00:00:00Z',
  o8: '2026-06-10T00:00:00Z',
  o9: '2026-06-02T00:00:00Z',
  o10: '2026-06-25T00:00:00Z',
  o11: '2026-06-15T00:00:00Z',
};
/** Who owns the example's i-th opportunity (as the server's tests load it): rep, rep2, rep, … */
export const ownerOf = (i: number) => (i % 2 ? 'rep2' : 'rep');

/** The example's open ones as deals, with the seed's reminder days. */
export function openDeals(example = EXAMPLE): OpenDeal[] {
  const remind = new Map(seedProcessDefinition.presale.map((s) => [s.id, s.remindAfterDays]));
  return example.flatMap((o, i) =>
    o.status === 'open'
      ? [
          {
            id: o.id,
            name: o.id,
            ownerId: ownerOf(i),
            amount: o.amount,
            currency: o.currency,
            stageId: o.stageId!,
            stageEnteredAt: ENTERED[o.id]!,
            remindAfterDays: remind.get(o.stageId!) ?? null,
          },
        ]
      : [],
  );
}
