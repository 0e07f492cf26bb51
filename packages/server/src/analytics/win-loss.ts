import {
  assembleWinLoss,
  LOST_REASON_KEY,
  type LocalizedText,
  type OutcomeCell,
  type PeriodKind,
  type WinLoss,
} from '@sales-process/core';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { rowsOf } from '../db/open.js';
import { fieldDefinitions } from '../db/schema.js';
import { currencyTable } from '../directory/currencies.js';
import type { Principal } from '../http/auth.js';
import type { ProcessService } from '../processes/service.js';
import { wholeMonths } from './periods.js';
import type { AnalyticsService } from './service.js';

export interface WinLossQuery {
  processId: string;
  /** Rows per month (default) or quarter closed in. */
  period?: PeriodKind;
  /** Opportunities closed from this day (inclusive), YYYY-MM-DD (UTC). */
  from?: string;
  /** … up to this day (inclusive). */
  to?: string;
  departmentId?: string;
  ownerId?: string;
}

/**
 * Win/loss of a process (all its versions): closed opportunities by the month or quarter they
 * were closed in, from the trigger-kept rollup `outcome_cells` when the period is whole months
 * (or none), from the rows otherwise; core's `assembleWinLoss` makes the figures. Lost
 * reasons carry their labels (archived options too); a stage only an older version has keeps
 * its name from that version.
 */
export async function winLoss(
  ctx: ServerContext,
  processes: ProcessService,
  analytics: AnalyticsService,
  p: Principal,
  q: WinLossQuery,
  opts: { scan?: boolean } = {},
): Promise<WinLoss & { process: { id: string; name: string; version: number }; filters: WinLossQuery }> {
  const { db } = ctx.database;
  const process = await processes.row(db, p.tenantId, q.processId);
  const months = opts.scan ? null : wholeMonths(q);
  let cells: OutcomeCell[];
  if (months) {
    const parts: SQL[] = [sql`c.tenant_id = ${p.tenantId}`, sql`c.process_id = ${q.processId}`];
    if (months.from) parts.push(sql`c.closed_month >= ${months.from}`);
    if (months.to) parts.push(sql`c.closed_month <= ${months.to}`);
    if (q.ownerId) parts.push(sql`c.owner_id = ${q.ownerId}`);
    if (q.departmentId) parts.push(await analytics.inDepartment(p, q.departmentId, sql`c.department_id`));
    cells = rowsOf<OutcomeCell>(
      await db.execute(sql`
        select c.closed_month as month, c.status, nullif(c.stage_id, '') as "stageId", nullif(c.lost_reason, '') as reason,
               c.currency, sum(c.n)::int as count, sum(c.amount)::float8 as amount
        from outcome_cells c
        where ${sql.join(parts, sql` and `)}
        group by c.closed_month, c.status, c.stage_id, c.lost_reason, c.currency
        having sum(c.n) <> 0`),
    );
  } else {
    const parts: SQL[] = [
      sql`o.tenant_id = ${p.tenantId}`,
      sql`o.process_id = ${q.processId}`,
      sql`o.status <> 'open'`,
      sql`o.closed_at is not null`,
    ];
    if (q.from) parts.push(sql`o.closed_at >= ${q.from}::date::timestamp at time zone 'UTC'`);
    if (q.to) parts.push(sql`o.closed_at < (${q.to}::date + 1)::timestamp at time zone 'UTC'`);
    if (q.ownerId) parts.push(sql`o.owner_id = ${q.ownerId}`);
    if (q.departmentId) parts.push(await analytics.inDepartment(p, q.departmentId, sql`o.department_id`));
    cells = rowsOf<OutcomeCell>(
      await db.execute(sql`
        select to_char(o.closed_at at time zone 'UTC', 'YYYY-MM') as month, o.status,
               case when o.status = 'won' then null else o.stage_id end as "stageId",
               case when o.status = 'lost' then o.lost_reason end as reason,
               o.currency, count(*)::int as count, sum(o.amount)::float8 as amount
        from opportunities o
        where ${sql.join(parts, sql` and `)}
        group by 1, 2, 3, 4, 5`),
    );
  }
  const def = await processes.definition(db, q.processId, process.currentVersion);
  const stages = def.presale.map((s) => ({ id: s.id, name: s.name }));
  // Stages lost from that the current version no longer has: named as the newest version that had them.
  const missing = new Set(
    cells.map((c) => c.stageId).filter((id): id is string => !!id && !stages.some((s) => s.id === id)),
  );
  for (let v = process.currentVersion - 1; v >= 1 && missing.size; v--)
    for (const s of (await processes.definition(db, q.processId, v)).presale)
      if (missing.delete(s.id)) stages.push({ id: s.id, name: s.name });
  const [currencies, [reasonField]] = await Promise.all([
    currencyTable(db, p.tenantId),
    db
      .select({ options: fieldDefinitions.options })
      .from(fieldDefinitions)
      .where(
        and(
          eq(fieldDefinitions.tenantId, p.tenantId),
          eq(fieldDefinitions.object, 'opportunity'),
          eq(fieldDefinitions.key, LOST_REASON_KEY),
        ),
      ),
  ]);
  const reasons = (reasonField?.options ?? []) as { value: string; label: LocalizedText }[];
  return {
    process: { id: process.id, name: process.name, version: process.currentVersion },
    filters: q,
    ...assembleWinLoss(cells, { period: q.period ?? 'month', stages, reasons, currencies }),
  };
}
