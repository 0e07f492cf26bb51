import type { OpportunityState } from '@sales-process/core';
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { Batcher } from '../db/batcher.js';
import type { Db, Tx } from '../db/open.js';
import { customers, opportunities, users } from '../db/schema.js';
import { notFound } from '../http/errors.js';

/**
 * Reading opportunities: one query with everything rules and views need (`selectLoaded`),
 * loads batched into one prepared statement, and the state this instance last saw of each
 * (`known`), which commands decide moves on.
 */

export type Q = Db | Tx;
export type Row = typeof opportunities.$inferSelect;
export type Loaded = Row & {
  customerName: string;
  customerFields: Record<string, unknown>;
  ownerName: string | null;
  managerId: string | null;
  contactCount: number;
  contactRoles: string[];
  orderCount: number;
  approval: OpportunityState['approval'];
};

/**
 * One opportunity with everything its rules and its view need (customer, contact and
 * order counts, the current stage entry's approval, the owner and their supervisor),
 * in one query.
 */
function selectLoaded(q: Q) {
  return q
    .select({
      o: opportunities,
      customerName: customers.name,
      customerFields: customers.fields,
      ownerName: users.name,
      managerId: users.managerId,
      contactCount:
        sql<number>`(select count(*) from contacts where contacts.customer_id = ${opportunities.customerId})`.mapWith(
          Number,
        ),
      contactRoles: sql<string[]>`(select coalesce(jsonb_agg(distinct r.role), '[]'::jsonb)
        from contacts, jsonb_array_elements_text(contacts.roles) as r(role)
        where contacts.customer_id = ${opportunities.customerId})`,
      orderCount: sql<number>`(select count(*) from orders where orders.opportunity_id = ${opportunities.id})`.mapWith(
        Number,
      ),
      approval: sql<string | null>`(select approvals.state || ':' || approvals.action from approvals
        where approvals.opportunity_id = ${opportunities.id} and approvals.stage_entry = ${opportunities.stageEntry}
          and approvals.state <> 'cancelled' order by approvals.requested_at desc limit 1)`,
    })
    .from(opportunities)
    .innerJoin(
      customers,
      and(eq(customers.tenantId, opportunities.tenantId), eq(customers.id, opportunities.customerId)),
    )
    .leftJoin(users, and(eq(users.tenantId, opportunities.tenantId), eq(users.id, opportunities.ownerId)));
}

type LoadedRow = Awaited<ReturnType<typeof selectLoaded>>[number];

/**
 * Opportunities by (tenant, id), given as a JSON array of {t, i}. The number of keys is a
 * literal LIMIT: the planner otherwise takes jsonb_to_recordset for 100 rows and, on a
 * table of a few thousand, hashes a scan of all of it instead of looking up each key.
 */
export function loadStatement(q: Q, keys: string | ReturnType<typeof sql.placeholder>, count: number) {
  return selectLoaded(q).where(
    sql`(${opportunities.tenantId}, ${opportunities.id}) in (select k.t, k.i from jsonb_to_recordset(${keys}::jsonb) as k(t text, i text) limit ${sql.raw(String(count))})`,
  );
}

function toLoaded(r: LoadedRow | undefined): Loaded {
  if (!r) throw notFound('opportunity');
  const [state, action] = r.approval ? r.approval.split(':') : [];
  return {
    ...r.o,
    customerName: r.customerName,
    customerFields: r.customerFields,
    ownerName: r.ownerName,
    managerId: r.managerId,
    contactCount: r.contactCount,
    contactRoles: r.contactRoles ?? [],
    orderCount: r.orderCount,
    approval: state
      ? { state: state as 'pending' | 'approved' | 'rejected', action: action as 'complete' | 'win' }
      : null,
  };
}

/** What core's rules read of a loaded opportunity. */
export function stateOf(row: Loaded): OpportunityState {
  return {
    status: row.status,
    phase: row.phase,
    stageId: row.stageId,
    contactCount: row.contactCount,
    contactRoles: row.contactRoles,
    orderCount: row.orderCount,
    approval: row.approval,
    values: {
      customer: { ...row.customerFields, name: row.customerName },
      opportunity: { ...row.fields, name: row.name, amount: row.amount, expectedCloseDate: row.expectedCloseDate },
      stage: (row.stageId && row.stageValues[row.stageId]) || {},
    },
  };
}

export class OpportunityLoads {
  constructor(private readonly ctx: ServerContext) {}

  /**
   * One opportunity as `selectLoaded` reads it; with `lock`, its row is locked for the
   * transaction.
   */
  async load(q: Q, tenantId: string, id: string, lock = false): Promise<Loaded> {
    const query = selectLoaded(q).where(and(eq(opportunities.tenantId, tenantId), eq(opportunities.id, id)));
    return toLoaded((lock ? await query.for('update', { of: opportunities }) : await query)[0]);
  }

  lock(tx: Tx, tenantId: string, id: string): Promise<Loaded> {
    return this.load(tx, tenantId, id, true);
  }

  /** Several opportunities of a tenant as `load` reads each, in one statement (those that exist; in no order). */
  async many(q: Q, tenantId: string, ids: readonly string[]): Promise<Loaded[]> {
    if (!ids.length) return [];
    const rows = await selectLoaded(q).where(
      and(eq(opportunities.tenantId, tenantId), inArray(opportunities.id, [...ids])),
    );
    return rows.map(toLoaded);
  }

  /** A page of a list as `load` reads each: those `where` keeps, in `order`, at most `limit`, in one statement. */
  async page(q: Q, where: SQL | undefined, order: SQL[], limit: number): Promise<Loaded[]> {
    const rows = await selectLoaded(q)
      .where(where)
      .orderBy(...order)
      .limit(limit);
    return rows.map(toLoaded);
  }

  private readonly preparedLoads = new Map<number, { execute(p: { keys: string }): Promise<LoadedRow[]> }>();

  /**
   * The same load outside a transaction (the hot path of every command and view): loads
   * asked for in the same moment go to the database together, as one prepared statement.
   */
  async loadFast(tenantId: string, id: string): Promise<Loaded> {
    const row = toLoaded(await this.loads.add({ tenantId, id }));
    this.remember(row);
    return row;
  }

  private readonly loads = new Batcher<{ tenantId: string; id: string }, LoadedRow | undefined>(
    async (keys) => {
      let prepared = this.preparedLoads.get(keys.length);
      if (!prepared) {
        prepared = loadStatement(this.ctx.database.db, sql.placeholder('keys'), keys.length).prepare(
          `sp_load_opportunities_${keys.length}`,
        );
        this.preparedLoads.set(keys.length, prepared);
      }
      const rows = await prepared.execute({ keys: JSON.stringify(keys.map((k) => ({ t: k.tenantId, i: k.id }))) });
      const found = new Map(rows.map((r) => [`${r.o.tenantId}/${r.o.id}`, r]));
      return keys.map((k) => found.get(`${k.tenantId}/${k.id}`));
    },
    (k) => `${k.tenantId}/${k.id}`,
    64,
    8,
  );

  /**
   * The state this instance last read or wrote of each opportunity (bounded, oldest out).
   * A command decides a move on it and writes with compare-and-set on `rev`, which the
   * database bumps whenever anything the decision reads changes (drizzle/0005): a stale
   * entry costs one retry on a fresh read, never a wrong move. Only a move is taken from
   * it: a refusal, an approval request or a denial is decided again on a fresh read.
   */
  private readonly known = new Map<string, Loaded>();
  static readonly KNOWN_MAX = 10_000;

  /** What this instance last knew of it, if anything. */
  knownState(tenantId: string, id: string): Loaded | undefined {
    return this.known.get(`${tenantId}/${id}`);
  }

  remember(row: Loaded) {
    const key = `${row.tenantId}/${row.id}`;
    const had = this.known.get(key);
    if (had && had.rev > row.rev) return; // a read that started before a later write
    this.known.delete(key);
    this.known.set(key, row);
    if (this.known.size > OpportunityLoads.KNOWN_MAX) this.known.delete(this.known.keys().next().value!);
  }

  forget(tenantId: string, id: string) {
    this.known.delete(`${tenantId}/${id}`);
  }
}
