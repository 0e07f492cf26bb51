import {
  assembleStaleDeals,
  type FiguresCurrency,
  type OpenDeal,
  type StaleDeal,
  type StaleOwner,
  type StaleOwnerCell,
} from '@sales-process/core';
import { sql, type SQL } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { rowsOf } from '../db/open.js';
import { currencyTable } from '../directory/currencies.js';
import type { Principal } from '../http/auth.js';
import type { ProcessService } from '../processes/service.js';
import type { AnalyticsService } from './service.js';

export interface StaleDealsQuery {
  processId: string;
  departmentId?: string;
  ownerId?: string;
  /** How many of the oldest to list (default 50, at most 500); the counts are of all. */
  limit?: number;
}

export interface StaleDealsView extends FiguresCurrency {
  process: { id: string; name: string; version: number };
  filters: StaleDealsQuery;
  asOf: string;
  total: number;
  amount: number;
  owners: (StaleOwner & { ownerName: string | null })[];
  deals: (StaleDeal & { ownerName: string | null; customerName: string | null })[];
}

/**
 * Stale deals (Pipedrive's "rotting"): the process's open pre-sale opportunities that have
 * stayed in their stage at least its reminder days, read in each one's own process version
 * (the moment the scheduler's reminder goes out). Per owner over all of them, and the
 * `limit` oldest listed; core's `assembleStaleDeals` makes the figures.
 */
export async function staleDeals(
  ctx: ServerContext,
  processes: ProcessService,
  analytics: AnalyticsService,
  p: Principal,
  q: StaleDealsQuery,
): Promise<StaleDealsView> {
  const { db } = ctx.database;
  const process = await processes.row(db, p.tenantId, q.processId);
  const asOf = ctx.clock.now().toISOString();
  const limit = q.limit ?? 50;
  const stageNames = new Map<string, string>();
  const thresholds: SQL[] = [];
  for (let v = process.currentVersion; v >= 1; v--)
    for (const s of (await processes.definition(db, q.processId, v)).presale) {
      if (!stageNames.has(s.id)) stageNames.set(s.id, s.name);
      if (s.remindAfterDays) thresholds.push(sql`(${v}::int, ${s.id}::text, ${s.remindAfterDays}::int)`);
    }
  const currencies = await currencyTable(db, p.tenantId);
  let owners: StaleOwnerCell[] = [];
  let deals: (OpenDeal & { remindAfterDays: number })[] = [];
  if (thresholds.length) {
    const parts: SQL[] = [
      sql`o.tenant_id = ${p.tenantId}`,
      sql`o.process_id = ${q.processId}`,
      sql`o.status = 'open'`,
      sql`o.phase = 'presale'`,
      sql`o.stage_entered_at <= ${asOf}::timestamptz - r.days * interval '1 day'`,
    ];
    if (q.ownerId) parts.push(sql`o.owner_id = ${q.ownerId}`);
    if (q.departmentId) parts.push(await analytics.inDepartment(p, q.departmentId, sql`o.department_id`));
    const stale = sql`opportunities o
      join (values ${sql.join(thresholds, sql`, `)}) r (version, stage_id, days) on r.version = o.process_version and r.stage_id = o.stage_id
      where ${sql.join(parts, sql` and `)}`;
    const [perOwner, oldest] = await Promise.all([
      db.execute(sql`
        select o.owner_id as "ownerId", o.currency, count(*)::int as count, sum(o.amount)::float8 as amount,
               min(o.stage_entered_at) as "oldestEnteredAt"
        from ${stale}
        group by o.owner_id, o.currency`),
      db.execute(sql`
        select o.id, o.name, o.owner_id as "ownerId", o.customer_id as "customerId", o.amount::float8 as amount, o.currency,
               o.stage_id as "stageId", o.stage_entered_at as "stageEnteredAt", r.days as "remindAfterDays"
        from ${stale}
        order by o.stage_entered_at, o.id
        limit ${limit}`),
    ]);
    owners = rowsOf(perOwner);
    deals = rowsOf(oldest);
  }
  const iso = (d: unknown) => new Date(d as string).toISOString();
  const figures = assembleStaleDeals(
    owners.map((o) => ({ ...o, oldestEnteredAt: iso(o.oldestEnteredAt) })),
    deals.map((d) => ({ ...d, stageEnteredAt: iso(d.stageEnteredAt) })),
    { asOf, stageNames, currencies },
  );
  // Names for people and customers, looked up for the few listed.
  const ownerIds = [...new Set([...figures.owners.map((o) => o.ownerId), ...figures.deals.map((d) => d.ownerId)])];
  const customerIds = [...new Set(figures.deals.map((d) => d.customerId!))];
  const [users, customers] = await Promise.all([
    ownerIds.length
      ? rowsOf<{ id: string; name: string }>(
          await db.execute(
            sql`select id, name from users where tenant_id = ${p.tenantId} and id in (${sql.join(
              ownerIds.map((id) => sql`${id}`),
              sql`, `,
            )})`,
          ),
        )
      : [],
    customerIds.length
      ? rowsOf<{ id: string; name: string }>(
          await db.execute(
            sql`select id, name from customers where tenant_id = ${p.tenantId} and id in (${sql.join(
              customerIds.map((id) => sql`${id}`),
              sql`, `,
            )})`,
          ),
        )
      : [],
  ]);
  const userName = new Map(users.map((u) => [u.id, u.name]));
  const customerName = new Map(customers.map((c) => [c.id, c.name]));
  return {
    process: { id: process.id, name: process.name, version: process.currentVersion },
    filters: q,
    ...figures,
    owners: figures.owners.map((o) => ({ ...o, ownerName: userName.get(o.ownerId) ?? null })),
    deals: figures.deals.map((d) => ({
      ...d,
      ownerName: userName.get(d.ownerId) ?? null,
      customerName: customerName.get(d.customerId!) ?? null,
    })),
  };
}
