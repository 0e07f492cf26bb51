import {
  addOpen,
  addReached,
  assembleFunnel,
  cohortRule,
  CurrencyConverter,
  planTarget,
  targetPlanProblem,
  type FunnelFigures,
  type PlanHistory,
  type ProcessDefinition,
  type TargetPlanInput,
} from '@sales-process/core';
import { sql, type SQL } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { rowsOf } from '../db/open.js';
import type { Principal } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { currencyTable } from '../directory/currencies.js';
import type { DirectoryService } from '../directory/directory.js';
import type { ProcessService } from '../processes/service.js';
import { mayReadAnalytics, ownFiguresScope } from './access.js';
import { wholeMonths } from './periods.js';
import { staleDeals, type StaleDealsQuery } from './stale-deals.js';
import { winLoss, type WinLossQuery } from './win-loss.js';

export { mayReadAnalytics } from './access.js';
export { wholeMonths } from './periods.js';

export interface FunnelQuery {
  processId: string;
  /** Opportunities created from this day (inclusive), YYYY-MM-DD. */
  from?: string;
  /** … up to this day (inclusive). */
  to?: string;
  departmentId?: string;
  ownerId?: string;
}

type FunnelGroup = {
  version: number;
  status: 'open' | 'won' | 'lost' | 'invalid';
  phase: string;
  stage_id: string | null;
  max_index: number;
  month: string | null;
  /** The currency `amount` is in: groups are per currency, converted when read. */
  currency: string;
  n: number;
  /** Of `n`, those created in a cohort old enough for the diagnosis (`cohortRule`). */
  mature_n: number;
  amount: number;
  won_days: number;
};
type StayFigures = { stage_id: string; avg: number; median: number };

export interface TargetPlanRequest extends Omit<TargetPlanInput, 'start'> {
  processId: string;
  start?: string;
  /** One salesperson's plan, from their own history. */
  ownerId?: string;
  /** A department's (with its sub-departments), from theirs. */
  departmentId?: string;
  /** The deal size to plan with before the first win (base currency). */
  averageDealAmount?: number;
}

/** The histogram of days behind `stripes` (stage_id, days, n): mean and exact median per stage. */
const fromHistogram = (stripes: SQL) => sql`
  select stage_id, (sum(days * n) / max(total))::float8 as avg,
         ((min(days) filter (where below > floor((total - 1) / 2.0)) + min(days) filter (where below > ceil((total - 1) / 2.0))) / 2)::float8 as median
  from (
    select stage_id, days, n, sum(n) over (partition by stage_id order by days) as below, sum(n) over (partition by stage_id) as total
    from (${stripes}) stripes
  ) c
  group by stage_id`;

/**
 * SPEC §7 computed in PostgreSQL: every aggregate runs in SQL over the filtered
 * opportunities (all versions of the process), only per-stage rows come back, and core
 * (`computeFunnel`'s definitions, `diagnoseShape`, `planTarget`) turns them into the
 * figures. Stages are matched across versions by id; "reached" is translated through
 * each version's stage ids into the current version's order. Sums come back per currency
 * and are converted into the tenant's base currency at the recorded rates (core's
 * `CurrencyConverter`: a converted sum is the sum of the converted amounts). Win/loss and
 * stale deals (issue 21) live beside it (`win-loss.ts`, `stale-deals.ts`).
 */
export class AnalyticsService {
  constructor(
    private readonly ctx: ServerContext,
    private readonly processes: ProcessService,
    private readonly directory: DirectoryService,
  ) {}

  /** The filters on opportunities `o` (with `process`: on their current process too). */
  async filters(p: Principal, q: FunnelQuery, process = true): Promise<SQL> {
    const parts: SQL[] = [sql`o.tenant_id = ${p.tenantId}`];
    if (process) parts.push(sql`o.process_id = ${q.processId}`);
    // Days are UTC days, as the rollup's months are.
    if (q.from) parts.push(sql`o.created_at >= ${q.from}::date::timestamp at time zone 'UTC'`);
    if (q.to) parts.push(sql`o.created_at < (${q.to}::date + 1)::timestamp at time zone 'UTC'`);
    if (q.ownerId) parts.push(sql`o.owner_id = ${q.ownerId}`);
    if (q.departmentId) parts.push(await this.inDepartment(p, q.departmentId, sql`o.department_id`));
    return sql.join(parts, sql` and `);
  }

  /** `column` is the department or one of its sub-departments. */
  async inDepartment(p: Principal, departmentId: string, column: SQL): Promise<SQL> {
    const ids = await this.directory.subtree(p.tenantId, departmentId);
    return sql`${column} in (${sql.join(
      ids.map((id) => sql`${id}`),
      sql`, `,
    )})`;
  }

  /**
   * The opportunity aggregates per (version, status, phase, stage, reached, close month,
   * currency), with how many of each were created through `createdThrough` (the diagnosis's
   * cohort; all when left out). From the trigger-kept rollup when the period is whole months
   * (or none), which is a few thousand rows whatever the data size; scanning the
   * opportunities otherwise.
   */
  async groups(
    p: Principal,
    q: FunnelQuery,
    opts: { scan?: boolean; createdThrough?: string } = {},
  ): Promise<FunnelGroup[]> {
    const { db } = this.ctx.database;
    const months = opts.scan ? null : wholeMonths(q);
    const through = opts.createdThrough ?? '9999-12';
    if (!months) {
      const where = await this.filters(p, q);
      return rowsOf<FunnelGroup>(
        await db.execute(sql`
          select o.process_version as version, o.status, o.phase, o.stage_id, o.max_stage_index as max_index,
                 to_char(o.expected_close_date, 'YYYY-MM') as month, o.currency,
                 count(*)::int as n, (count(*) filter (where to_char(o.created_at at time zone 'UTC', 'YYYY-MM') <= ${through}))::int as mature_n,
                 coalesce(sum(o.amount), 0)::float8 as amount,
                 coalesce(sum(extract(epoch from (o.closed_at - o.created_at)) / 86400) filter (where o.status = 'won'), 0)::float8 as won_days
          from opportunities o
          where ${where}
          group by 1, 2, 3, 4, 5, 6, 7`),
      );
    }
    const parts: SQL[] = [sql`c.tenant_id = ${p.tenantId}`, sql`c.process_id = ${q.processId}`];
    if (months.from) parts.push(sql`c.created_month >= ${months.from}`);
    if (months.to) parts.push(sql`c.created_month <= ${months.to}`);
    if (q.ownerId) parts.push(sql`c.owner_id = ${q.ownerId}`);
    if (q.departmentId) parts.push(await this.inDepartment(p, q.departmentId, sql`c.department_id`));
    // Without a department or an owner, the cells summed over both (drizzle/0014): about
    // 4,000 rows a process rather than every owner's (issue 22: ~77,000 at 10 M).
    const cells = q.ownerId || q.departmentId ? sql`funnel_cells` : sql`funnel_process_cells`;
    return rowsOf<FunnelGroup>(
      await db.execute(sql`
        -- Grouped by the stored columns, in the primary key's order (currency comes right after
        -- the close month there): an ordered walk of the key, no sort. A department's or a
        -- period's cells come through funnel_cells_period instead of the whole process's.
        select c.process_version as version, c.status, c.phase, nullif(c.stage_id, '') as stage_id, c.max_stage_index as max_index,
               nullif(c.close_month, '') as month, c.currency, sum(c.n)::int as n,
               coalesce(sum(c.n) filter (where c.created_month <= ${through}), 0)::int as mature_n,
               sum(c.amount)::float8 as amount, sum(c.won_days)::float8 as won_days
        from ${cells} c
        where ${sql.join(parts, sql` and `)}
        group by c.process_version, c.status, c.phase, c.stage_id, c.max_stage_index, c.close_month, c.currency
        having sum(c.n) <> 0`),
    );
  }

  /**
   * Completed stays per stage: mean and median days, of the stays recorded under the
   * process. For the whole process, from the rollup's histogram (the median picked out of
   * cumulative counts exactly as percentile_cont does); under a department and/or a
   * whole-month period, from the same histogram kept per creation month and department
   * (stay_period_cells); joined to the filtered opportunities otherwise (an owner, days).
   */
  async stays(p: Principal, q: FunnelQuery, opts: { scan?: boolean } = {}): Promise<StayFigures[]> {
    const { db } = this.ctx.database;
    const months = wholeMonths(q);
    if (q.ownerId || opts.scan || !months) {
      const where = await this.filters(p, q, false);
      return rowsOf<StayFigures>(
        await db.execute(sql`
          select h.from_stage_id as stage_id, avg(round(h.days_spent::numeric, 2))::float8 as avg,
                 percentile_cont(0.5) within group (order by round(h.days_spent::numeric, 2))::float8 as median
          from stage_history h join opportunities o on o.id = h.opportunity_id
          where ${where} and h.process_id = ${q.processId} and h.from_stage_id is not null and h.days_spent is not null and h.action <> 'migrate'
          group by 1`),
      );
    }
    if (!months.from && !months.to && !q.departmentId)
      return rowsOf<StayFigures>(
        await db.execute(
          fromHistogram(sql`select stage_id, days, sum(n) as n from stay_cells where tenant_id = ${p.tenantId} and process_id = ${q.processId}
            group by stage_id, days having sum(n) > 0`),
        ),
      );
    const parts: SQL[] = [sql`c.tenant_id = ${p.tenantId}`, sql`c.process_id = ${q.processId}`];
    if (months.from) parts.push(sql`c.created_month >= ${months.from}`);
    if (months.to) parts.push(sql`c.created_month <= ${months.to}`);
    if (q.departmentId) parts.push(await this.inDepartment(p, q.departmentId, sql`c.department_id`));
    return rowsOf<StayFigures>(
      await db.execute(
        fromHistogram(sql`select c.stage_id, c.days, sum(c.n) as n from stay_period_cells c where ${sql.join(parts, sql` and `)}
          group by c.stage_id, c.days having sum(c.n) > 0`),
      ),
    );
  }

  /** The funnel (and its change stream) is for analysts, supervisors and admins. */
  mayRead(p: Principal): void {
    mayReadAnalytics(p);
  }

  async funnel(p: Principal, q: FunnelQuery) {
    this.mayRead(p);
    const { def: _def, ...figures } = await this.figures(p, q);
    return figures;
  }

  /** The funnel's figures of what `q` filters, as of the clock (no access check: the callers make theirs). */
  private async figures(
    p: Principal,
    q: FunnelQuery,
  ): Promise<
    FunnelFigures & {
      process: { id: string; name: string; version: number };
      filters: FunnelQuery;
      planHistory: PlanHistory;
      def: ProcessDefinition;
    }
  > {
    const { db } = this.ctx.database;
    // The aggregates are tenant-scoped on their own, so they start with the process lookup.
    const process = await this.processes.row(db, p.tenantId, q.processId);
    const def = await this.processes.definition(db, q.processId, process.currentVersion);
    const rule = cohortRule(def, this.ctx.clock.now());
    const [rows, stays, currencies] = await Promise.all([
      this.groups(p, q, { createdThrough: rule.createdThrough }),
      this.stays(p, q),
      currencyTable(db, p.tenantId),
    ]);
    const fx = new CurrencyConverter(currencies);
    const n = def.presale.length;
    const index = new Map(def.presale.map((s, i) => [s.id, i]));
    const reached = new Array<number>(n + 1).fill(0);
    const cohort = { ...rule, reached: new Array<number>(n + 1).fill(0), opportunities: 0 };
    const open = new Map<string, { count: number; amount: number }>();
    const forecast = new Map<string, { count: number; amount: number; weighted: number }>();
    const terminal = { won: { count: 0, amount: 0 }, lost: { count: 0, amount: 0 }, invalid: { count: 0, amount: 0 } };
    const plan: PlanHistory = { won: 0, closed: 0, wonAmount: 0, wonCycleDays: 0, opportunities: 0, amount: 0 };
    const versionDefs = new Map<number, ProcessDefinition>();
    let total = 0;
    for (const r of rows) {
      total += r.n;
      const amount = fx.toBase(r.amount, r.currency);
      plan.opportunities! += r.n;
      plan.amount! += amount;
      if (!versionDefs.has(r.version))
        versionDefs.set(r.version, await this.processes.definition(db, q.processId, r.version));
      // How far it got, in the current version's order (stages matched by id).
      let top = -1;
      if (r.status === 'won') top = n;
      else {
        versionDefs
          .get(r.version)!
          .presale.slice(0, r.max_index + 1)
          .forEach((s) => (top = Math.max(top, index.get(s.id) ?? -1)));
        top = Math.max(top, index.get(r.stage_id ?? '') ?? -1);
      }
      addReached(reached, top, r.n);
      addReached(cohort.reached, top, r.mature_n);
      cohort.opportunities += r.mature_n;
      if (r.status !== 'open') {
        terminal[r.status].count += r.n;
        terminal[r.status].amount += amount;
        plan.closed += r.n;
        if (r.status === 'won') {
          plan.won += r.n;
          plan.wonAmount += amount;
          plan.wonCycleDays += r.won_days;
        }
        continue;
      }
      const k = index.get(r.stage_id ?? '');
      if (k !== undefined && r.phase === 'presale') addOpen(def, open, forecast, k, r.month, r.n, amount);
    }
    const stayFigures = new Map(stays.map((s) => [s.stage_id, { avg: s.avg, median: s.median }]));
    return {
      process: { id: process.id, name: process.name, version: process.currentVersion },
      filters: q,
      ...assembleFunnel(def, {
        total,
        reached,
        open,
        terminal,
        forecast,
        stays: stayFigures,
        currency: fx.summary(),
        cohort,
      }),
      planHistory: plan,
      def,
    };
  }

  /**
   * 分解销售目标 for the whole process, one owner or one department subtree (a salesperson:
   * their own), from that scope's history; before its first win, from the process's stage
   * win rates (said so in `note`); with the new customers to find beside the opportunities.
   */
  async targetPlan(p: Principal, input: TargetPlanRequest) {
    const scope = ownFiguresScope(p, { ownerId: input.ownerId, departmentId: input.departmentId });
    const q: FunnelQuery = { processId: input.processId, ...scope };
    const now = this.ctx.clock.now();
    const start =
      input.start ??
      (input.period === 'month'
        ? `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`
        : `${now.getUTCFullYear()}-Q${Math.floor(now.getUTCMonth() / 3) + 1}`);
    if (input.period === 'month' && !/^\d{4}-\d{2}$/.test(start))
      throw new ApiError('VALIDATION_FAILED', [
        { path: 'body.start', message: { zh: '按月时起始应为 YYYY-MM', en: 'For months, start is YYYY-MM' } },
      ]);
    if (input.period === 'quarter' && !/^\d{4}-Q[1-4]$/.test(start))
      throw new ApiError('VALIDATION_FAILED', [
        { path: 'body.start', message: { zh: '按季度时起始应为 YYYY-Qn', en: 'For quarters, start is YYYY-Qn' } },
      ]);
    const figures = await this.figures(p, q);
    const [{ customers }] = rowsOf<{ customers: number }>(
      await this.ctx.database.db.execute(
        sql`select count(distinct o.customer_id)::int as customers from opportunities o where ${await this.filters(p, q)}`,
      ),
    ) as [{ customers: number }];
    const history: PlanHistory = { ...figures.planHistory, customers };
    const fallback = { process: figures.def, averageDealAmount: input.averageDealAmount };
    const plan = planTarget(
      history,
      { target: input.target, period: input.period, start, periods: input.periods },
      fallback,
    );
    if (!plan)
      throw new ApiError('VALIDATION_FAILED', [
        { code: 'NOT_ENOUGH_HISTORY', message: targetPlanProblem(history, fallback)! },
      ]);
    // The targets and won amounts are in the base currency, converted as the funnel's are.
    const { currency, converted, rates, unconverted } = figures;
    return {
      processId: input.processId,
      period: input.period,
      start,
      ...(scope.ownerId ? { ownerId: scope.ownerId } : {}),
      ...(scope.departmentId ? { departmentId: scope.departmentId } : {}),
      currency,
      converted,
      rates,
      unconverted,
      ...plan,
    };
  }

  /** Win/loss by period, lost reason and stage lost from (a salesperson: their own). */
  winLoss(p: Principal, q: WinLossQuery) {
    return winLoss(this.ctx, this.processes, this, p, ownFiguresScope(p, q));
  }

  /** Open opportunities past their stage's reminder days, per owner, oldest first (a salesperson: their own). */
  staleDeals(p: Principal, q: StaleDealsQuery) {
    return staleDeals(this.ctx, this.processes, this, p, ownFiguresScope(p, q));
  }
}

/**
 * Tells open charts that a process' figures changed (any instance, through NOTIFY),
 * at most once per process per `debounceMs`.
 */
export class AnalyticsBus {
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly debounceMs = 500,
  ) {}

  start() {
    return this.ctx.database.listen('sp_analytics', (payload) => {
      const set = this.listeners.get(payload);
      set?.forEach((fn) => fn());
    });
  }

  /** An opportunity changed: its process' charts should refresh. */
  async touch(tenantId: string, opportunityId: string, knownProcessId?: string) {
    const processId =
      knownProcessId ??
      rowsOf<{ process_id: string }>(
        await this.ctx.database.db.execute(sql`select process_id from opportunities where id = ${opportunityId}`),
      )[0]?.process_id;
    if (!processId) return;
    const key = `${tenantId}/${processId}`;
    if (this.pending.has(key)) return;
    const t = setTimeout(() => {
      this.pending.delete(key);
      void this.ctx.database.notify('sp_analytics', key).catch(() => {});
    }, this.debounceMs);
    t.unref();
    this.pending.set(key, t);
  }

  subscribe(tenantId: string, processId: string, fn: () => void): () => void {
    const key = `${tenantId}/${processId}`;
    const set = this.listeners.get(key) ?? new Set();
    set.add(fn);
    this.listeners.set(key, set);
    return () => {
      set.delete(fn);
      if (!set.size) this.listeners.delete(key);
    };
  }

  stop() {
    this.pending.forEach((t) => clearTimeout(t));
  }
}
