import type { LocalizedText } from './errors.js';
import {
  type CurrencyTable,
  CurrencyConverter,
  DEFAULT_BASE_CURRENCY,
  type FiguresCurrency,
  type FunnelOpportunity,
  monthOf,
  round2,
} from './funnel.js';

/**
 * Win/loss and stale deals: figures beside the funnel (issue 21). As with the funnel, each
 * figure has one definition here; the server gathers the same aggregates in SQL (from
 * trigger-kept rollups) and hands them to the same `assemble…` functions, and its tests
 * compare against `compute…` on the rows.
 *
 * - win/loss: closed opportunities by the period they were closed in (UTC month or
 *   quarter): won, lost and invalid counts and amounts, the win rate won ÷ (won + lost), the
 *   lost ones by lost reason and by the pre-sale stage they were lost from.
 * - stale deals (Pipedrive's "rotting"): open pre-sale opportunities that have stayed in
 *   their stage at least the stage's reminder days (停留n天提醒, the same moment the
 *   reminder goes out), per owner, oldest first.
 * - every amount is in the tenant's base currency, converted as the funnel's are.
 */

export type PeriodKind = 'month' | 'quarter';

/** 'YYYY-MM' as a period label of its kind: itself, or 'YYYY-Qn'. */
export function periodOfMonth(month: string, kind: PeriodKind): string {
  return kind === 'month' ? month : `${month.slice(0, 4)}-Q${Math.floor((Number(month.slice(5, 7)) - 1) / 3) + 1}`;
}

/** Closed opportunities of one kind, month and currency: what the rollup `outcome_cells` holds. */
export interface OutcomeCell {
  /** The month closed in (UTC), YYYY-MM. */
  month: string;
  status: 'won' | 'lost' | 'invalid';
  /** The stage lost (or invalidated) from; null for won ones. */
  stageId: string | null;
  /** The lost reason (an option value of the `lostReason` field); null unless lost with one. */
  reason: string | null;
  currency: string;
  count: number;
  amount: number;
}

export interface Tally {
  count: number;
  amount: number;
}

export interface WinLossFigures {
  won: Tally;
  lost: Tally;
  invalid: Tally;
  /** won ÷ (won + lost); null with neither. */
  winRate: number | null;
  /** Lost ones by reason: most first (count, then amount); `reason` null: none given. */
  lostByReason: (Tally & { reason: string | null; label: LocalizedText | null })[];
  /** Lost ones by the stage they were lost from, in the process's stage order. */
  lostByStage: (Tally & { stageId: string | null; name: string | null })[];
}

export interface WinLoss extends FiguresCurrency {
  period: PeriodKind;
  /** One row per period with closed opportunities, oldest first. */
  periods: (WinLossFigures & { period: string })[];
  /** Every period together. */
  total: WinLossFigures;
}

export interface WinLossOptions {
  period: PeriodKind;
  /** Stage names by id: the current version's pre-sale stages in order, then stages only older versions have. */
  stages: readonly { id: string; name: string }[];
  /** The lost reason's options (archived ones too): their labels. */
  reasons?: readonly { value: string; label: LocalizedText }[];
  currencies?: CurrencyTable;
}

/** The outcome cells of opportunities (closed ones with a close date; the others are left out). */
export function outcomeCells(opportunities: readonly FunnelOpportunity[]): OutcomeCell[] {
  const cells = new Map<string, OutcomeCell>();
  for (const o of opportunities) {
    if (o.status === 'open' || !o.closedAt) continue;
    const cell: OutcomeCell = {
      month: monthOf(o.closedAt),
      status: o.status,
      stageId: o.status === 'won' ? null : o.stageId,
      reason: o.status === 'lost' ? (o.lostReason ?? null) : null,
      currency: o.currency ?? DEFAULT_BASE_CURRENCY,
      count: 0,
      amount: 0,
    };
    const key = JSON.stringify([cell.month, cell.status, cell.stageId, cell.reason, cell.currency]);
    const at = cells.get(key) ?? cells.set(key, cell).get(key)!;
    at.count++;
    at.amount += o.amount;
  }
  return [...cells.values()];
}

/** The one definition of the win/loss figures, from outcome cells (core's or the rollup's). */
export function assembleWinLoss(cells: readonly OutcomeCell[], options: WinLossOptions): WinLoss {
  const fx = new CurrencyConverter(options.currencies ?? { base: DEFAULT_BASE_CURRENCY, rates: {} });
  const order = new Map(options.stages.map((s, i) => [s.id, i]));
  const labels = new Map((options.reasons ?? []).map((r) => [r.value, r.label]));
  type Acc = {
    won: Tally;
    lost: Tally;
    invalid: Tally;
    reasons: Map<string | null, Tally>;
    stages: Map<string | null, Tally>;
  };
  const blank = (): Acc => ({
    won: { count: 0, amount: 0 },
    lost: { count: 0, amount: 0 },
    invalid: { count: 0, amount: 0 },
    reasons: new Map(),
    stages: new Map(),
  });
  const add = (m: Map<string | null, Tally>, key: string | null, count: number, amount: number) => {
    const t = m.get(key) ?? m.set(key, { count: 0, amount: 0 }).get(key)!;
    t.count += count;
    t.amount += amount;
  };
  const total = blank();
  const byPeriod = new Map<string, Acc>();
  for (const c of cells) {
    if (!c.count && !c.amount) continue;
    const amount = fx.toBase(c.amount, c.currency);
    const period = periodOfMonth(c.month, options.period);
    for (const acc of [total, byPeriod.get(period) ?? byPeriod.set(period, blank()).get(period)!]) {
      acc[c.status].count += c.count;
      acc[c.status].amount += amount;
      if (c.status !== 'lost') continue;
      add(acc.reasons, c.reason, c.count, amount);
      add(acc.stages, c.stageId, c.count, amount);
    }
  }
  const rank = (id: string | null) => (id === null ? Number.MAX_SAFE_INTEGER : (order.get(id) ?? order.size));
  const tally = (t: Tally) => ({ count: t.count, amount: round2(t.amount) });
  const figures = (a: Acc): WinLossFigures => ({
    won: tally(a.won),
    lost: tally(a.lost),
    invalid: tally(a.invalid),
    winRate:
      a.won.count + a.lost.count ? Math.round((a.won.count / (a.won.count + a.lost.count)) * 10_000) / 10_000 : null,
    lostByReason: [...a.reasons]
      .filter(([, t]) => t.count)
      .map(([reason, t]) => ({ reason, label: reason === null ? null : (labels.get(reason) ?? null), ...tally(t) }))
      .sort(
        (x, y) =>
          y.count - x.count ||
          y.amount - x.amount ||
          (x.reason === null ? 1 : y.reason === null ? -1 : x.reason.localeCompare(y.reason)),
      ),
    lostByStage: [...a.stages]
      .filter(([, t]) => t.count)
      .map(([stageId, t]) => ({
        stageId,
        name: stageId === null ? null : (options.stages.find((s) => s.id === stageId)?.name ?? null),
        ...tally(t),
      }))
      .sort((x, y) => rank(x.stageId) - rank(y.stageId) || String(x.stageId).localeCompare(String(y.stageId))),
  });
  return {
    period: options.period,
    periods: [...byPeriod]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([period, acc]) => ({ period, ...figures(acc) })),
    total: figures(total),
    ...fx.summary(),
  };
}

/** Win/loss of opportunities (closed ones; the others are left out). */
export function computeWinLoss(opportunities: readonly FunnelOpportunity[], options: WinLossOptions): WinLoss {
  return assembleWinLoss(outcomeCells(opportunities), options);
}

// ---- stale deals -------------------------------------------------------------------

/** An open pre-sale opportunity, with its stage's reminder days (from its own process version). */
export interface OpenDeal {
  id: string;
  name: string;
  ownerId: string;
  customerId?: string;
  amount: number;
  currency?: string;
  stageId: string;
  stageEnteredAt: string;
  /** The stage's 停留n天提醒 in the opportunity's process version; null or 0: it never goes stale. */
  remindAfterDays: number | null;
}

export interface StaleDeal {
  id: string;
  name: string;
  ownerId: string;
  customerId?: string;
  stageId: string;
  stageName: string | null;
  stageEnteredAt: string;
  /** Days in the stage at `asOf` (to 0.01 day). */
  daysInStage: number;
  remindAfterDays: number;
  /** Days past the reminder (to 0.01 day). */
  daysOverdue: number;
  /** In the base currency. */
  amount: number;
  /** As recorded, in `originalCurrency`. */
  originalAmount: number;
  originalCurrency: string;
}

export interface StaleOwner {
  ownerId: string;
  count: number;
  /** In the base currency. */
  amount: number;
  /** When the owner's oldest stale deal entered its stage. */
  oldestEnteredAt: string;
  /** Its days in the stage at `asOf`. */
  oldestDays: number;
}

export interface StaleDeals extends FiguresCurrency {
  asOf: string;
  /** Stale deals in all (the list may hold fewer: `limit`). */
  total: number;
  /** Their amount in all, in the base currency. */
  amount: number;
  /** Per owner: the one with the oldest stale deal first. */
  owners: StaleOwner[];
  /** The oldest first (longest in their stage), at most `limit`. */
  deals: StaleDeal[];
}

/** Stale deals of one owner in one currency: what the server's aggregate returns per row. */
export interface StaleOwnerCell {
  ownerId: string;
  currency: string;
  count: number;
  amount: number;
  oldestEnteredAt: string;
}

const DAY = 86_400_000;
const daysBetween = (from: string, to: string) => round2((Date.parse(to) - Date.parse(from)) / DAY);

/** Whether a deal is stale at `asOf`: in its stage at least its reminder days (when it has any). */
export function isStale(deal: Pick<OpenDeal, 'stageEnteredAt' | 'remindAfterDays'>, asOf: string): boolean {
  return !!deal.remindAfterDays && Date.parse(deal.stageEnteredAt) + deal.remindAfterDays * DAY <= Date.parse(asOf);
}

/** The one definition of the stale-deal figures, from per-owner cells and the oldest deals (core's or SQL's). */
export function assembleStaleDeals(
  owners: readonly StaleOwnerCell[],
  oldest: readonly (OpenDeal & { remindAfterDays: number })[],
  options: { asOf: string; stageNames: ReadonlyMap<string, string>; currencies?: CurrencyTable },
): StaleDeals {
  const fx = new CurrencyConverter(options.currencies ?? { base: DEFAULT_BASE_CURRENCY, rates: {} });
  const byOwner = new Map<string, { count: number; amount: number; oldestEnteredAt: string }>();
  for (const c of owners) {
    const o =
      byOwner.get(c.ownerId) ??
      byOwner.set(c.ownerId, { count: 0, amount: 0, oldestEnteredAt: c.oldestEnteredAt }).get(c.ownerId)!;
    o.count += c.count;
    o.amount += fx.toBase(c.amount, c.currency);
    if (Date.parse(c.oldestEnteredAt) < Date.parse(o.oldestEnteredAt)) o.oldestEnteredAt = c.oldestEnteredAt;
  }
  const deals = oldest.map((d): StaleDeal => {
    const daysInStage = daysBetween(d.stageEnteredAt, options.asOf);
    return {
      id: d.id,
      name: d.name,
      ownerId: d.ownerId,
      ...(d.customerId === undefined ? {} : { customerId: d.customerId }),
      stageId: d.stageId,
      stageName: options.stageNames.get(d.stageId) ?? null,
      stageEnteredAt: new Date(d.stageEnteredAt).toISOString(),
      daysInStage,
      remindAfterDays: d.remindAfterDays,
      daysOverdue: round2(daysInStage - d.remindAfterDays),
      amount: round2(fx.toBase(d.amount, d.currency)),
      originalAmount: d.amount,
      originalCurrency: d.currency ?? fx.table.base,
    };
  });
  const list = [...byOwner]
    .map(([ownerId, o]) => ({
      ownerId,
      count: o.count,
      amount: round2(o.amount),
      oldestEnteredAt: new Date(o.oldestEnteredAt).toISOString(),
      oldestDays: daysBetween(o.oldestEnteredAt, options.asOf),
    }))
    .sort((a, b) => a.oldestEnteredAt.localeCompare(b.oldestEnteredAt) || a.ownerId.localeCompare(b.ownerId));
  return {
    asOf: new Date(options.asOf).toISOString(),
    total: list.reduce((a, o) => a + o.count, 0),
    amount: round2(list.reduce((a, o) => a + o.amount, 0)),
    owners: list,
    deals,
    ...fx.summary(),
  };
}

/** The oldest first: earliest stage entry, then id. */
export const byOldest = (a: Pick<OpenDeal, 'stageEnteredAt' | 'id'>, b: Pick<OpenDeal, 'stageEnteredAt' | 'id'>) =>
  Date.parse(a.stageEnteredAt) - Date.parse(b.stageEnteredAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Stale deals among open pre-sale ones at `asOf`: per owner, and the `limit` oldest (default 50). */
export function computeStaleDeals(
  deals: readonly OpenDeal[],
  options: { asOf: string; stageNames: ReadonlyMap<string, string>; currencies?: CurrencyTable; limit?: number },
): StaleDeals {
  const stale = deals.filter((d) => isStale(d, options.asOf)) as (OpenDeal & { remindAfterDays: number })[];
  const cells = new Map<string, StaleOwnerCell>();
  for (const d of stale) {
    const currency = d.currency ?? options.currencies?.base ?? DEFAULT_BASE_CURRENCY;
    const key = `${d.ownerId}\u0000${currency}`;
    const c =
      cells.get(key) ??
      cells
        .set(key, { ownerId: d.ownerId, currency, count: 0, amount: 0, oldestEnteredAt: d.stageEnteredAt })
        .get(key)!;
    c.count++;
    c.amount += d.amount;
    if (Date.parse(d.stageEnteredAt) < Date.parse(c.oldestEnteredAt)) c.oldestEnteredAt = d.stageEnteredAt;
  }
  return assembleStaleDeals([...cells.values()], [...stale].sort(byOldest).slice(0, options.limit ?? 50), options);
}
