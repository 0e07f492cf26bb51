import type { ProcessDefinition } from './definition.js';
import type { LocalizedText } from './errors.js';
import type { OpportunityStatus } from './rules.js';

/**
 * Funnel figures. Every figure has one definition here; the server computes the same
 * figures in SQL for large data and its tests compare against these functions.
 *
 * - open / openAmount / weightedAmount: opportunities open *now* in the stage; weighted =
 *   Σ amount × the stage's win rate.
 * - reached(k): opportunities that ever got to pre-sale stage k or beyond (won counts as
 *   past the last stage). Cohort conversion k→k+1 = reached(k+1) ÷ reached(k); for the
 *   last stage, won ÷ reached(last). Moving back does not undo "reached".
 * - days in stage: completed stays only (enter → leave), mean and median.
 * - overall win rate = won ÷ (won + lost); invalid ones are not decisions.
 * - every amount is in the tenant's base currency: an amount in another currency is
 *   converted at its recorded rate (`CurrencyConverter`); one with no rate counts as an
 *   opportunity but adds no amount, and the figures name its currency (`unconverted`).
 * - the shape diagnosis judges conversions only from cohorts old enough to have converted
 *   (`cohortRule`): opportunities created in months that ended at least the process's
 *   reminder days ago.
 */
export interface FunnelOpportunity {
  id: string;
  /** The customer it is for (customers per opportunity, for target plans). */
  customerId?: string;
  amount: number;
  /** ISO 4217 code of `amount`; the base currency when left out. */
  currency?: string;
  status: OpportunityStatus;
  /** Current stage, or the stage it was closed from. */
  stageId: string | null;
  /** How far it ever got among pre-sale stages (index), -1 if unknown. */
  maxStageIndex: number;
  expectedCloseDate: string | null;
  createdAt: string;
  closedAt: string | null;
  /** The lost reason (an option value of the `lostReason` field), for lost ones. */
  lostReason?: string | null;
}

export interface StageStay {
  stageId: string;
  days: number;
}

export interface FunnelStageFigures {
  stageId: string;
  name: string;
  winRate: number;
  open: number;
  openAmount: number;
  weightedAmount: number;
  reached: number;
  conversionToNext: number | null;
  avgDays: number | null;
  medianDays: number | null;
}

export interface FunnelFigures extends FiguresCurrency {
  stages: FunnelStageFigures[];
  terminal: Record<'won' | 'lost' | 'invalid', { count: number; amount: number }>;
  total: number;
  overallWinRate: number | null;
  openAmount: number;
  weightedAmount: number;
  forecast: ForecastMonth[];
  diagnosis: Diagnosis;
}

export interface ForecastMonth {
  month: string;
  count: number;
  amount: number;
  weighted: number;
}

export function mean(xs: readonly number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---- currencies -------------------------------------------------------------------

/** A tenant's base currency until an admin sets another (the server's column default). */
export const DEFAULT_BASE_CURRENCY = 'CNY';

/**
 * A tenant's base currency and the rates an admin recorded: units of the base currency one
 * unit of each other currency is worth (base CNY, `USD: 7.1`). The base's own rate is 1.
 */
export interface CurrencyTable {
  base: string;
  rates: Readonly<Record<string, number>>;
}

/** What money figures say about their currency. */
export interface FiguresCurrency {
  /** Every amount is in this currency: the tenant's base currency. */
  currency: string;
  /** Some amounts were in other currencies and were converted at `rates`. */
  converted: boolean;
  /** The rates applied, one for each other currency met (units of `currency` per unit). */
  rates: Record<string, number>;
  /** Currencies met that have no recorded rate: their opportunities count, their amounts do not. */
  unconverted: string[];
}

/** The rate of `currency` in the table: 1 for the base, null when none is recorded. */
export function rateOf(table: CurrencyTable, currency: string): number | null {
  if (currency === table.base) return 1;
  return Object.hasOwn(table.rates, currency) ? table.rates[currency]! : null;
}

/** The currencies an amount may be in: the base, then those with a rate, in code order. */
export function acceptedCurrencies(table: CurrencyTable): string[] {
  return [
    table.base,
    ...Object.keys(table.rates)
      .filter((c) => c !== table.base)
      .sort(),
  ];
}

/**
 * Converts amounts into the base currency and remembers what it did, for the figures to say
 * so. Converting a sum is converting each of its amounts: Σ(a) × r = Σ(a × r), which is
 * why the server converts per-currency sums of its rollups and gets core's figures.
 */
export class CurrencyConverter {
  private readonly used = new Map<string, number>();
  private readonly missing = new Set<string>();

  constructor(readonly table: CurrencyTable) {}

  /** `amount` in `currency` as base units; 0 when the currency has no rate (and it is named). */
  toBase(amount: number, currency: string = this.table.base): number {
    const rate = rateOf(this.table, currency);
    if (rate === null) {
      this.missing.add(currency);
      return 0;
    }
    if (currency === this.table.base) return amount;
    this.used.set(currency, rate);
    return amount * rate;
  }

  summary(): FiguresCurrency {
    const codes = [...this.used.keys()].sort();
    return {
      currency: this.table.base,
      converted: codes.length > 0,
      rates: Object.fromEntries(codes.map((c) => [c, this.used.get(c)!])),
      unconverted: [...this.missing].sort(),
    };
  }
}

const NO_RATES: CurrencyTable = { base: DEFAULT_BASE_CURRENCY, rates: {} };

/** Money rounded to cents, ratios to 4 decimals: the same rounding the SQL path uses. */
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** What the figures are made from: counts and sums per stage, however they were gathered. */
export interface FunnelAggregates {
  total: number;
  /** reached[k]: opportunities that got to pre-sale stage k or beyond; reached[n] = won. */
  reached: number[];
  open: ReadonlyMap<string, { count: number; amount: number }>;
  terminal: Record<'won' | 'lost' | 'invalid', { count: number; amount: number }>;
  /** Open opportunities by expected close month ('YYYY-MM' or 'none'), with weighted sums. */
  forecast: ReadonlyMap<string, { count: number; amount: number; weighted: number }>;
  stays: ReadonlyMap<string, { avg: number | null; median: number | null }>;
  /** The currency the amounts above are in, and how they got there (`CurrencyConverter.summary`). */
  currency: FiguresCurrency;
  /**
   * The cohorts old enough to have converted (`cohortRule`) and how far their opportunities
   * got (`reached` as above): what the diagnosis reads conversions from. Left out: all.
   */
  cohort?: CohortRule & { reached: number[]; opportunities: number };
}

/** The one definition of every funnel figure, from aggregates (rows in core, SQL on the server). */
export function assembleFunnel(def: ProcessDefinition, a: FunnelAggregates): FunnelFigures {
  const stages: FunnelStageFigures[] = def.presale.map((s, k) => {
    const cell = a.open.get(s.id) ?? { count: 0, amount: 0 };
    const st = a.stays.get(s.id);
    const reached = a.reached[k] ?? 0;
    return {
      stageId: s.id,
      name: s.name,
      winRate: s.winRate,
      open: cell.count,
      openAmount: round2(cell.amount),
      weightedAmount: round2((cell.amount * s.winRate) / 100),
      reached,
      conversionToNext: reached ? round4((a.reached[k + 1] ?? 0) / reached) : null,
      avgDays: st?.avg == null ? null : round2(st.avg),
      medianDays: st?.median == null ? null : round2(st.median),
    };
  });
  const terminal = {
    won: { count: a.terminal.won.count, amount: round2(a.terminal.won.amount) },
    lost: { count: a.terminal.lost.count, amount: round2(a.terminal.lost.amount) },
    invalid: { count: a.terminal.invalid.count, amount: round2(a.terminal.invalid.amount) },
  };
  const decided = terminal.won.count + terminal.lost.count;
  const months = [...a.forecast]
    .map(([month, f]) => ({ month, count: f.count, amount: round2(f.amount), weighted: round2(f.weighted) }))
    .sort((x, y) => x.month.localeCompare(y.month));
  return {
    stages,
    terminal,
    total: a.total,
    overallWinRate: decided ? round4(terminal.won.count / decided) : null,
    openAmount: round2(stages.reduce((sum, s) => sum + s.openAmount, 0)),
    weightedAmount: round2(months.reduce((sum, m) => sum + m.weighted, 0)),
    forecast: months,
    diagnosis: diagnoseShape(stages, DIAGNOSIS_THRESHOLDS, a.cohort && cohortFigures(def, a.cohort)),
    ...a.currency,
  };
}

/** Adds `count` opportunities that reached pre-sale index `top` (n = won) to `reached`. */
export function addReached(reached: number[], top: number, count = 1): void {
  for (let k = 0; k <= Math.min(top, reached.length - 1); k++) reached[k]! += count;
}

/** Adds open opportunities in stage `k` to the open and forecast aggregates. */
export function addOpen(
  def: ProcessDefinition,
  open: Map<string, { count: number; amount: number }>,
  forecast: Map<string, { count: number; amount: number; weighted: number }>,
  k: number,
  month: string | null,
  count: number,
  amount: number,
): void {
  const stage = def.presale[k]!;
  const cell = open.get(stage.id) ?? { count: 0, amount: 0 };
  cell.count += count;
  cell.amount += amount;
  open.set(stage.id, cell);
  const key = month ?? 'none';
  const f = forecast.get(key) ?? { count: 0, amount: 0, weighted: 0 };
  f.count += count;
  f.amount += amount;
  f.weighted += (amount * stage.winRate) / 100;
  forecast.set(key, f);
}

/** The creation month (UTC) of an ISO timestamp, YYYY-MM. */
export const monthOf = (iso: string) => new Date(iso).toISOString().slice(0, 7);

/**
 * The figures of opportunities, amounts converted into `currencies.base` (CNY with no rates
 * by default). With `asOf`, the diagnosis reads conversions only from the cohorts old enough
 * to have converted by then (`cohortRule`); without, from every opportunity.
 */
export function computeFunnel(
  def: ProcessDefinition,
  opportunities: readonly FunnelOpportunity[],
  stays: readonly StageStay[],
  currencies: CurrencyTable = NO_RATES,
  options: { asOf?: string | Date } = {},
): FunnelFigures {
  const fx = new CurrencyConverter(currencies);
  const n = def.presale.length;
  const reached = new Array<number>(n + 1).fill(0);
  const rule = options.asOf === undefined ? undefined : cohortRule(def, options.asOf);
  const cohort = rule && { ...rule, reached: new Array<number>(n + 1).fill(0), opportunities: 0 };
  const terminal = { won: { count: 0, amount: 0 }, lost: { count: 0, amount: 0 }, invalid: { count: 0, amount: 0 } };
  const open = new Map<string, { count: number; amount: number }>();
  const forecast = new Map<string, { count: number; amount: number; weighted: number }>();
  const index = new Map(def.presale.map((s, i) => [s.id, i]));
  for (const o of opportunities) {
    const top = o.status === 'won' ? n : Math.max(o.maxStageIndex, index.get(o.stageId ?? '') ?? -1);
    addReached(reached, top);
    if (cohort && monthOf(o.createdAt) <= cohort.createdThrough) {
      addReached(cohort.reached, top);
      cohort.opportunities++;
    }
    const amount = fx.toBase(o.amount, o.currency);
    if (o.status !== 'open') {
      terminal[o.status].count++;
      terminal[o.status].amount += amount;
      continue;
    }
    const k = index.get(o.stageId ?? '');
    if (k !== undefined)
      addOpen(def, open, forecast, k, o.expectedCloseDate ? o.expectedCloseDate.slice(0, 7) : null, 1, amount);
  }
  const staysBy = new Map<string, number[]>();
  for (const s of stays) staysBy.set(s.stageId, [...(staysBy.get(s.stageId) ?? []), s.days]);
  const stayFigures = new Map([...staysBy].map(([id, days]) => [id, { avg: mean(days), median: median(days) }]));
  return assembleFunnel(def, {
    total: opportunities.length,
    reached,
    open,
    terminal,
    forecast,
    stays: stayFigures,
    currency: fx.summary(),
    cohort,
  });
}

// ---- shape diagnosis -------------------------------------------------------------

export const DIAGNOSIS_THRESHOLDS = {
  /** Fewer open opportunities than this: no diagnosis. */
  minOpen: 10,
  /** The top stage should be at least this many times as wide as the widest later stage. */
  topWidthRatio: 1.2,
  /** A bottom stage at least this share of the top stage: deals pile up before closing. */
  bottomHeavyRatio: 1.0,
  /** A stage converting below this share of the median of the others is a bottleneck. */
  bottleneckFactor: 0.5,
  /** Conversions from fewer entries than this are not judged. */
  minReachedForConversion: 5,
  /** A cohort's age when the process sets no reminder days (otherwise their sum). */
  defaultCohortAgeDays: 30,
} as const;

export type Shape = 'healthy' | 'cylinder' | 'bottom-heavy' | 'bottleneck' | 'insufficient-data';

export interface Finding {
  code: Shape;
  stageId?: string;
  message: LocalizedText;
  figures: Record<string, number>;
}

export interface Diagnosis {
  shape: Shape;
  findings: Finding[];
  thresholds: typeof DIAGNOSIS_THRESHOLDS;
  /** The cohorts conversions were judged from (left out: from every opportunity). */
  cohort?: DiagnosisCohort;
}

/** Which creation months are old enough to have converted, and why. */
export interface CohortRule {
  /** Opportunities created up to the end of this month (UTC), YYYY-MM, count. */
  createdThrough: string;
  /** A month counts once this many days have passed since it ended. */
  minAgeDays: number;
  /** `stage-reminders`: the sum of the process's pre-sale reminder days (停留n天提醒); `default`: it sets none. */
  basis: 'stage-reminders' | 'default';
}

/** What the diagnosis read its conversions from. */
export interface DiagnosisCohort extends CohortRule {
  /** Opportunities in those months (of the filtered ones). */
  opportunities: number;
  /** Their conversion per pre-sale stage (as `conversionToNext` is for every opportunity). */
  stages: { stageId: string; reached: number; conversionToNext: number | null }[];
  /** The same, in words. */
  message: LocalizedText;
}

/**
 * The cohort rule: an opportunity converts on the process's own clock, the days its
 * pre-sale stages allow before a reminder, added up (30 when it sets none). A creation month
 * counts once that many days have passed since its end; later ones have not had the time, and
 * counting them reads every new opportunity as one that failed to move on.
 */
export function cohortRule(def: ProcessDefinition, asOf: string | Date, t = DIAGNOSIS_THRESHOLDS): CohortRule {
  const sum = def.presale.reduce((a, s) => a + (s.remindAfterDays ?? 0), 0);
  const minAgeDays = sum > 0 ? sum : t.defaultCohortAgeDays;
  // The newest month whose end (the next month's first day) is at least minAgeDays before asOf.
  const latestEnd = new Date(new Date(asOf).getTime() - minAgeDays * 86_400_000).toISOString().slice(0, 7);
  return {
    createdThrough: shiftPeriod(latestEnd, 'month', -1),
    minAgeDays,
    basis: sum > 0 ? 'stage-reminders' : 'default',
  };
}

/** The cohort's conversions and what they say, from its `reached` counts. */
export function cohortFigures(
  def: ProcessDefinition,
  c: CohortRule & { reached: number[]; opportunities: number },
): DiagnosisCohort {
  const stages = def.presale.map((s, k) => {
    const reached = c.reached[k] ?? 0;
    return { stageId: s.id, reached, conversionToNext: reached ? round4((c.reached[k + 1] ?? 0) / reached) : null };
  });
  const why = {
    zh: c.basis === 'stage-reminders' ? '各售前阶段停留提醒天数之和' : '流程未设停留提醒，取默认值',
    en:
      c.basis === 'stage-reminders'
        ? "the sum of the pre-sale stages' reminder days"
        : 'the process sets no reminders: the default',
  };
  const message = c.opportunities
    ? {
        zh: `转化率只看 ${c.createdThrough} 及以前创建的 ${c.opportunities} 个商机（创建月份结束已满 ${c.minAgeDays} 天，${why.zh}）；更晚创建的商机还来不及转化，不计入`,
        en: `Conversions are read from the ${c.opportunities} opportunities created through ${c.createdThrough} (months ended at least ${c.minAgeDays} days ago, ${why.en}); newer ones have not had time to convert`,
      }
    : {
        zh: `尚无 ${c.createdThrough} 及以前创建的商机（创建月份结束已满 ${c.minAgeDays} 天，${why.zh}）：转化瓶颈暂不评估`,
        en: `No opportunities created through ${c.createdThrough} yet (months ended at least ${c.minAgeDays} days ago, ${why.en}): bottlenecks are not judged`,
      };
  const { createdThrough, minAgeDays, basis, opportunities } = c;
  return { createdThrough, minAgeDays, basis, opportunities, stages, message };
}

/**
 * The shape from the open opportunities per stage (widths now), and bottlenecks from
 * conversions: the cohort's when given (`cohortFigures`), every opportunity's otherwise.
 */
export function diagnoseShape(
  stages: readonly FunnelStageFigures[],
  t = DIAGNOSIS_THRESHOLDS,
  cohort?: DiagnosisCohort,
): Diagnosis {
  const counts = stages.map((s) => s.open);
  const total = counts.reduce((a, b) => a + b, 0);
  const findings: Finding[] = [];
  const withCohort = cohort ? { cohort } : {};
  if (stages.length < 2 || total < t.minOpen) {
    return {
      shape: 'insufficient-data',
      thresholds: t,
      ...withCohort,
      findings: [
        {
          code: 'insufficient-data',
          figures: { open: total, minOpen: t.minOpen },
          message: {
            zh: `进行中的商机少于 ${t.minOpen} 个（现有 ${total} 个），暂不评估漏斗形状`,
            en: `Fewer than ${t.minOpen} open opportunities (${total}); the shape is not judged`,
          },
        },
      ],
    };
  }
  const top = counts[0]!;
  const last = counts.at(-1)!;
  const widestBelow = Math.max(...counts.slice(1));
  if (last >= t.bottomHeavyRatio * top) {
    findings.push({
      code: 'bottom-heavy',
      stageId: stages.at(-1)!.stageId,
      figures: { top, bottom: last, ratio: round4(top ? last / top : Infinity), threshold: t.bottomHeavyRatio },
      message: {
        zh: `底部（${stages.at(-1)!.name}：${last}）不窄于顶部（${top}）：商机在成交前停滞，需推动签单`,
        en: `The bottom (${stages.at(-1)!.name}: ${last}) is as wide as the top (${top}): deals stall before closing`,
      },
    });
  } else if (top < t.topWidthRatio * widestBelow) {
    findings.push({
      code: 'cylinder',
      stageId: stages[0]!.stageId,
      figures: { top, widestBelow, ratio: round4(top / widestBelow), threshold: t.topWidthRatio },
      message: {
        zh: `顶部（${top}）仅为下方最宽阶段（${widestBelow}）的 ${(top / widestBelow).toFixed(2)} 倍，低于 ${t.topWidthRatio}：呈梯形/圆柱形，新客户不足，可能是市场投入不足`,
        en: `The top (${top}) is only ${(top / widestBelow).toFixed(2)}× the widest later stage (${widestBelow}), under ${t.topWidthRatio}: a trapezoid/cylinder, too few new customers (marketing may be short)`,
      },
    });
  }
  const conversions = cohort ? stages.map((s, i) => ({ ...s, ...cohort.stages[i]! })) : stages;
  const judged = conversions.filter((s) => s.conversionToNext !== null && s.reached >= t.minReachedForConversion);
  for (const s of judged) {
    const others = judged.filter((x) => x !== s).map((x) => x.conversionToNext!);
    const med = median(others);
    if (med !== null && med > 0 && s.conversionToNext! < t.bottleneckFactor * med) {
      findings.push({
        code: 'bottleneck',
        stageId: s.stageId,
        figures: { conversion: s.conversionToNext!, medianOfOthers: round4(med), threshold: t.bottleneckFactor },
        message: {
          zh: `“${s.name}”阶段转化率 ${(s.conversionToNext! * 100).toFixed(1)}%，不到其他阶段中位数（${(med * 100).toFixed(1)}%）的 ${t.bottleneckFactor} 倍：此处是转化瓶颈`,
          en: `"${s.name}" converts ${(s.conversionToNext! * 100).toFixed(1)}%, under ${t.bottleneckFactor}× the other stages' median (${(med * 100).toFixed(1)}%): a conversion bottleneck`,
        },
      });
    }
  }
  if (!findings.length) {
    findings.push({
      code: 'healthy',
      figures: { top, widestBelow, ratio: round4(top / widestBelow) },
      message: {
        zh: '漏斗形状健康：逐级收窄，无明显瓶颈',
        en: 'A healthy funnel: it narrows stage by stage with no clear bottleneck',
      },
    });
  }
  return { shape: findings[0]!.code, findings, thresholds: t, ...withCohort };
}

// ---- target decomposition ---------------------------------------------------------

export interface PlanHistory {
  won: number;
  closed: number;
  wonAmount: number;
  /** Σ days from creation to win, over won opportunities. */
  wonCycleDays: number;
  /** Opportunities of any status, and Σ their amounts (base currency): the fallback's deal size. */
  opportunities?: number;
  amount?: number;
  /** Distinct customers of those opportunities: customers per opportunity (需挖掘的客户量). */
  customers?: number;
}

export interface TargetPlanInput {
  /** One target for every period, or one per period. */
  target: number | number[];
  period: 'month' | 'quarter';
  /** First period to plan, 'YYYY-MM' (month) or 'YYYY-Qn' (quarter). */
  start: string;
  periods?: number;
}

/** What a plan falls back on before the first win. */
export interface PlanFallback {
  /** The process: its first stage's win rate and its reminder days stand in for history. */
  process?: ProcessDefinition;
  /** The deal size to plan with (base currency); otherwise the mean amount of the opportunities. */
  averageDealAmount?: number;
}

export interface TargetPlan {
  figures: {
    winRate: number;
    avgWonAmount: number;
    avgCycleDays: number;
    leadPeriods: number;
    won: number;
    closed: number;
    /** `history`: won ÷ closed, won amounts and cycles; `process`: no wins yet, the process's figures (`note` says which). */
    basis: 'history' | 'process';
    /** Customers per opportunity: distinct customers ÷ opportunities (`assumed`: 1, with no opportunities yet). */
    customersPerOpportunity: number;
    customersBasis: 'history' | 'assumed';
  };
  periods: {
    period: string;
    target: number;
    dealsNeeded: number;
    opportunitiesNeeded: number;
    customersNeeded: number;
    findIn: string;
  }[];
  /** New opportunities to find in each period (summing what later targets need). */
  newOpportunitiesPerPeriod: { period: string; opportunities: number }[];
  /** New customers to find in each period (需挖掘的客户量): the opportunities × customers per opportunity. */
  newCustomersPerPeriod: { period: string; customers: number }[];
  /** What the plan stands on when it is not its own history. */
  note?: LocalizedText;
}

const PERIOD_DAYS = { month: 365.25 / 12, quarter: 365.25 / 4 };

/** Period label arithmetic: 'YYYY-MM' or 'YYYY-Qn' shifted by k periods. */
export function shiftPeriod(label: string, period: 'month' | 'quarter', k: number): string {
  const year = Number(label.slice(0, 4));
  const per = period === 'month' ? 12 : 4;
  const i = period === 'month' ? Number(label.slice(5, 7)) - 1 : Number(label.slice(6)) - 1;
  const abs = year * per + i + k;
  const y = Math.floor(abs / per);
  const r = abs - y * per;
  return period === 'month' ? `${y}-${String(r + 1).padStart(2, '0')}` : `${y}-Q${r + 1}`;
}

/** The figures a plan works from: the history's when it has wins, the process's otherwise (null: neither). */
function planBasis(history: PlanHistory, fallback: PlanFallback) {
  if (history.won > 0 && history.closed > 0 && history.wonAmount > 0)
    return {
      basis: 'history' as const,
      winRate: history.won / history.closed,
      avgWonAmount: history.wonAmount / history.won,
      avgCycleDays: history.wonCycleDays / history.won,
    };
  const first = fallback.process?.presale[0];
  const deal =
    fallback.averageDealAmount ??
    (history.opportunities && history.amount && history.amount > 0 ? history.amount / history.opportunities : 0);
  if (!first || first.winRate <= 0 || deal <= 0) return null;
  return {
    basis: 'process' as const,
    // A new opportunity starts in the first stage: the process says how likely it is to be won from there.
    winRate: first.winRate / 100,
    avgWonAmount: deal,
    avgCycleDays: fallback.process!.presale.reduce((a, s) => a + (s.remindAfterDays ?? 0), 0),
    firstStage: first.name,
    dealFrom: fallback.averageDealAmount !== undefined ? ('input' as const) : ('opportunities' as const),
  };
}

/** Why no plan can be made (null: one can): no wins and nothing in the process or the opportunities to stand in. */
export function targetPlanProblem(history: PlanHistory, fallback: PlanFallback = {}): LocalizedText | null {
  if (planBasis(history, fallback)) return null;
  const first = fallback.process?.presale[0];
  if (!first || first.winRate <= 0)
    return {
      zh: '尚无赢单记录，流程第一阶段的赢率也为 0：无法分解目标',
      en: 'No won opportunities yet, and the process gives its first stage a win rate of 0: nothing to plan from',
    };
  return {
    zh: '尚无赢单记录，也没有商机金额可作平均成交金额：请给出平均成交金额（averageDealAmount）',
    en: 'No won opportunities yet, and no opportunity amounts to take a deal size from: give averageDealAmount',
  };
}

/**
 * 分解销售目标: deals = target ÷ average won amount; opportunities = deals ÷
 * (won ÷ closed), found one average sales cycle earlier; customers = opportunities ×
 * (customers ÷ opportunities). Before the first win it plans from the process: its first
 * stage's win rate, its reminder days as the cycle, and the opportunities' mean amount (or
 * `averageDealAmount`) as the deal, and says so in `note`. Null when neither can
 * (`targetPlanProblem` says why).
 */
export function planTarget(
  history: PlanHistory,
  input: TargetPlanInput,
  fallback: PlanFallback = {},
): TargetPlan | null {
  const b = planBasis(history, fallback);
  if (!b) return null;
  const leadPeriods = Math.round(b.avgCycleDays / PERIOD_DAYS[input.period]);
  const customersBasis = history.opportunities && history.customers ? ('history' as const) : ('assumed' as const);
  const perOpportunity = customersBasis === 'history' ? history.customers! / history.opportunities! : 1;
  const count = Array.isArray(input.target)
    ? input.target.length
    : (input.periods ?? (input.period === 'month' ? 12 : 4));
  const periods: TargetPlan['periods'] = [];
  const byFind = new Map<string, number>();
  // The epsilon keeps float noise (3.0000000000000004) from adding one; max() keeps -0 out.
  const up = (x: number) => Math.max(0, Math.ceil(x - 1e-9));
  for (let i = 0; i < count; i++) {
    const target = Array.isArray(input.target) ? input.target[i]! : input.target;
    const period = shiftPeriod(input.start, input.period, i);
    const dealsNeeded = up(target / b.avgWonAmount);
    const opportunitiesNeeded = up(dealsNeeded / b.winRate);
    const customersNeeded = up(opportunitiesNeeded * perOpportunity);
    const findIn = shiftPeriod(period, input.period, -leadPeriods);
    periods.push({ period, target, dealsNeeded, opportunitiesNeeded, customersNeeded, findIn });
    byFind.set(findIn, (byFind.get(findIn) ?? 0) + opportunitiesNeeded);
  }
  const finds = [...byFind].sort((a, c) => a[0].localeCompare(c[0]));
  const plan: TargetPlan = {
    figures: {
      winRate: round4(b.winRate),
      avgWonAmount: round2(b.avgWonAmount),
      avgCycleDays: round2(b.avgCycleDays),
      leadPeriods,
      won: history.won,
      closed: history.closed,
      basis: b.basis,
      customersPerOpportunity: round4(perOpportunity),
      customersBasis,
    },
    periods,
    newOpportunitiesPerPeriod: finds.map(([period, opportunities]) => ({ period, opportunities })),
    newCustomersPerPeriod: finds.map(([period, opportunities]) => ({
      period,
      customers: up(opportunities * perOpportunity),
    })),
  };
  if (b.basis === 'process') {
    const deal =
      b.dealFrom === 'input'
        ? { zh: '给定的平均成交金额', en: 'the average deal amount given' }
        : { zh: '现有商机的平均金额', en: "the opportunities' mean amount" };
    plan.note = {
      zh: `尚无赢单记录：按流程设定估算，赢率取第一阶段“${b.firstStage}”的 ${Math.round(b.winRate * 1000) / 10}%，周期取各阶段停留提醒天数之和（${b.avgCycleDays} 天），成交金额取${deal.zh}`,
      en: `No won opportunities yet: planned from the process, with the win rate of its first stage "${b.firstStage}" (${Math.round(b.winRate * 1000) / 10}%), the sum of its stages' reminder days as the cycle (${b.avgCycleDays} days) and ${deal.en} as the deal size`,
    };
  }
  return plan;
}

/**
 * The history target planning uses: won ÷ closed, won amounts (in the base currency), days
 * from creation to win, and every opportunity's amount and customer.
 */
export function planHistoryOf(
  opportunities: readonly FunnelOpportunity[],
  currencies: CurrencyTable = NO_RATES,
): PlanHistory {
  const fx = new CurrencyConverter(currencies);
  const h: PlanHistory = { won: 0, closed: 0, wonAmount: 0, wonCycleDays: 0, opportunities: 0, amount: 0 };
  const customers = new Set<string>();
  for (const o of opportunities) {
    const amount = fx.toBase(o.amount, o.currency);
    h.opportunities! += 1;
    h.amount! += amount;
    if (o.customerId) customers.add(o.customerId);
    if (o.status === 'open') continue;
    h.closed++;
    if (o.status !== 'won') continue;
    h.won++;
    h.wonAmount += amount;
    if (o.closedAt) h.wonCycleDays += (Date.parse(o.closedAt) - Date.parse(o.createdAt)) / 86_400_000;
  }
  if (customers.size) h.customers = customers.size;
  return h;
}
