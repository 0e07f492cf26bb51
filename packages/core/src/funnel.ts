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
 */
export interface FunnelOpportunity {
  id: string;
  amount: number;
  status: OpportunityStatus;
  /** Current stage, or the stage it was closed from. */
  stageId: string | null;
  /** How far it ever got among pre-sale stages (index), -1 if unknown. */
  maxStageIndex: number;
  expectedCloseDate: string | null;
  createdAt: string;
  closedAt: string | null;
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

export interface FunnelFigures {
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

/** Money rounded to cents, ratios to 4 decimals: the same rounding the SQL path uses. */
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

export function computeFunnel(
  def: ProcessDefinition,
  opportunities: readonly FunnelOpportunity[],
  stays: readonly StageStay[],
): FunnelFigures {
  const n = def.presale.length;
  const reached = new Array<number>(n + 1).fill(0);
  const terminal = { won: { count: 0, amount: 0 }, lost: { count: 0, amount: 0 }, invalid: { count: 0, amount: 0 } };
  const openBy = new Map<string, { count: number; amount: number }>();
  const forecast = new Map<string, ForecastMonth>();
  const index = new Map(def.presale.map((s, i) => [s.id, i]));

  for (const o of opportunities) {
    const top = o.status === 'won' ? n : Math.max(o.maxStageIndex, index.get(o.stageId ?? '') ?? -1);
    for (let k = 0; k <= Math.min(top, n); k++) reached[k]!++;
    if (o.status !== 'open') {
      terminal[o.status].count++;
      terminal[o.status].amount += o.amount;
      continue;
    }
    const k = index.get(o.stageId ?? '');
    if (k === undefined) continue;
    const cell = openBy.get(o.stageId!) ?? { count: 0, amount: 0 };
    cell.count++;
    cell.amount += o.amount;
    openBy.set(o.stageId!, cell);
    const month = o.expectedCloseDate ? o.expectedCloseDate.slice(0, 7) : 'none';
    const f = forecast.get(month) ?? { month, count: 0, amount: 0, weighted: 0 };
    f.count++;
    f.amount += o.amount;
    f.weighted += (o.amount * def.presale[k]!.winRate) / 100;
    forecast.set(month, f);
  }

  const staysBy = new Map<string, number[]>();
  for (const s of stays) {
    const list = staysBy.get(s.stageId) ?? [];
    list.push(s.days);
    staysBy.set(s.stageId, list);
  }

  const stages: FunnelStageFigures[] = def.presale.map((s, k) => {
    const cell = openBy.get(s.id) ?? { count: 0, amount: 0 };
    const days = staysBy.get(s.id) ?? [];
    const avg = mean(days);
    const med = median(days);
    return {
      stageId: s.id,
      name: s.name,
      winRate: s.winRate,
      open: cell.count,
      openAmount: round2(cell.amount),
      weightedAmount: round2((cell.amount * s.winRate) / 100),
      reached: reached[k]!,
      conversionToNext: reached[k]! ? round4(reached[k + 1]! / reached[k]!) : null,
      avgDays: avg === null ? null : round2(avg),
      medianDays: med === null ? null : round2(med),
    };
  });
  for (const t of Object.values(terminal)) t.amount = round2(t.amount);
  const decided = terminal.won.count + terminal.lost.count;
  const months = [...forecast.values()]
    .map((f) => ({ ...f, amount: round2(f.amount), weighted: round2(f.weighted) }))
    .sort((a, b) => a.month.localeCompare(b.month));
  return {
    stages,
    terminal,
    total: opportunities.length,
    overallWinRate: decided ? round4(terminal.won.count / decided) : null,
    openAmount: round2(stages.reduce((a, s) => a + s.openAmount, 0)),
    weightedAmount: round2(months.reduce((a, m) => a + m.weighted, 0)),
    forecast: months,
    diagnosis: diagnoseShape(stages),
  };
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
}

export function diagnoseShape(stages: readonly FunnelStageFigures[], t = DIAGNOSIS_THRESHOLDS): Diagnosis {
  const counts = stages.map((s) => s.open);
  const total = counts.reduce((a, b) => a + b, 0);
  const findings: Finding[] = [];
  if (stages.length < 2 || total < t.minOpen) {
    return {
      shape: 'insufficient-data',
      thresholds: t,
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
  const judged = stages.filter((s) => s.conversionToNext !== null && s.reached >= t.minReachedForConversion);
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
      message: { zh: '漏斗形状健康：逐级收窄，无明显瓶颈', en: 'A healthy funnel: it narrows stage by stage with no clear bottleneck' },
    });
  }
  return { shape: findings[0]!.code, findings, thresholds: t };
}

// ---- target decomposition ---------------------------------------------------------

export interface PlanHistory {
  won: number;
  closed: number;
  wonAmount: number;
  /** Σ days from creation to win, over won opportunities. */
  wonCycleDays: number;
}

export interface TargetPlanInput {
  /** One target for every period, or one per period. */
  target: number | number[];
  period: 'month' | 'quarter';
  /** First period to plan, 'YYYY-MM' (month) or 'YYYY-Qn' (quarter). */
  start: string;
  periods?: number;
}

export interface TargetPlan {
  figures: { winRate: number; avgWonAmount: number; avgCycleDays: number; leadPeriods: number; won: number; closed: number };
  periods: { period: string; target: number; dealsNeeded: number; opportunitiesNeeded: number; findIn: string }[];
  /** New opportunities to find in each period (summing what later targets need). */
  newOpportunitiesPerPeriod: { period: string; opportunities: number }[];
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

/**
 * 分解销售目标: deals = target ÷ average won amount; opportunities = deals ÷
 * (won ÷ closed), found one average sales cycle earlier. Returns null when there is no
 * won history to plan from.
 */
export function planTarget(history: PlanHistory, input: TargetPlanInput): TargetPlan | null {
  if (history.won === 0 || history.closed === 0 || history.wonAmount <= 0) return null;
  const winRate = history.won / history.closed;
  const avgWonAmount = history.wonAmount / history.won;
  const avgCycleDays = history.wonCycleDays / history.won;
  const leadPeriods = Math.round(avgCycleDays / PERIOD_DAYS[input.period]);
  const count = Array.isArray(input.target) ? input.target.length : (input.periods ?? (input.period === 'month' ? 12 : 4));
  const periods: TargetPlan['periods'] = [];
  const byFind = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const target = Array.isArray(input.target) ? input.target[i]! : input.target;
    const period = shiftPeriod(input.start, input.period, i);
    // The epsilon keeps float noise (3.0000000000000004) from adding a deal; max() keeps -0 out.
    const dealsNeeded = Math.max(0, Math.ceil(target / avgWonAmount - 1e-9));
    const opportunitiesNeeded = Math.max(0, Math.ceil(dealsNeeded / winRate - 1e-9));
    const findIn = shiftPeriod(period, input.period, -leadPeriods);
    periods.push({ period, target, dealsNeeded, opportunitiesNeeded, findIn });
    byFind.set(findIn, (byFind.get(findIn) ?? 0) + opportunitiesNeeded);
  }
  return {
    figures: { winRate: round4(winRate), avgWonAmount: round2(avgWonAmount), avgCycleDays: round2(avgCycleDays), leadPeriods, won: history.won, closed: history.closed },
    periods,
    newOpportunitiesPerPeriod: [...byFind].map(([period, opportunities]) => ({ period, opportunities })).sort((a, b) => a.period.localeCompare(b.period)),
  };
}

/** The history target planning uses: won ÷ closed, won amounts, days from creation to win. */
export function planHistoryOf(opportunities: readonly FunnelOpportunity[]): PlanHistory {
  const h: PlanHistory = { won: 0, closed: 0, wonAmount: 0, wonCycleDays: 0 };
  for (const o of opportunities) {
    if (o.status === 'open') continue;
    h.closed++;
    if (o.status !== 'won') continue;
    h.won++;
    h.wonAmount += o.amount;
    if (o.closedAt) h.wonCycleDays += (Date.parse(o.closedAt) - Date.parse(o.createdAt)) / 86_400_000;
  }
  return h;
}
