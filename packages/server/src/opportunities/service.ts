import {
  availableActions,
  checkFieldValue,
  decide,
  evaluateGates,
  gateDetail,
  initialState,
  stageById,
  winRateOf,
  type Action,
  type createOpportunitySchema,
  type FieldCatalog,
  type HistoryAction,
  type listOpportunitiesQuery,
  type OpportunityState,
  type ProcessDefinition,
  type Refusal,
  type StageField,
} from '@sales-process/core';
import { and, asc, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import { rowsOf, type Db, type Tx } from '../db/open.js';
import { approvals, customers, opportunities, orders, stageHistory, users } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import {
  canSell,
  checkValueRefs,
  type CustomerService,
  type DirectoryService,
  type FieldService,
  type ValueRef,
} from '../directory/service.js';
import { Batcher } from '../db/batcher.js';
import type { ProcessService } from '../processes/service.js';

/** What `opportunityAccess` reads of an opportunity. */
export interface AccessRow {
  ownerId: string;
  /** The owner's supervisor. */
  managerId: string | null;
  postsaleStaff: readonly string[];
  status: string;
  phase: string;
}

/**
 * Who may read and who may write an opportunity: the one rule, for REST commands and the
 * live doc alike (the SQL in files.ts `mayReadFile`, directory.ts `mayWrite` and `list` below
 * restate its read side; change them with it). Readers: its owner, the owner's supervisor,
 * its post-sale staff, admins and analysts. Writers: pre-sale the owner, supervisor and admins,
 * post-sale the owner, post-sale staff and admins; `write` is false once it is closed (neither
 * open nor in its post-sale phase). `presale`/`postsale` are who may act in each phase.
 */
export function opportunityAccess(p: Principal, row: AccessRow) {
  const isOwner = row.ownerId === p.userId;
  const isManager = row.managerId !== null && row.managerId === p.userId;
  const isAdmin = p.roles.has('admin');
  const isStaff = row.postsaleStaff.includes(p.userId);
  const presale = isOwner || isManager || isAdmin;
  const postsale = isOwner || isStaff || isAdmin;
  const live = row.status === 'open' || row.phase === 'postsale';
  return {
    manager: row.managerId,
    read: isOwner || isManager || isAdmin || isStaff || p.roles.has('analyst'),
    write: live && (row.phase === 'postsale' ? postsale : presale),
    presale,
    postsale,
  };
}

type Q = Db | Tx;
type Row = typeof opportunities.$inferSelect;
type Loaded = Row & {
  customerName: string;
  customerFields: Record<string, unknown>;
  ownerName: string | null;
  managerId: string | null;
  contactCount: number;
  orderCount: number;
  approval: OpportunityState['approval'];
};
const DAY = 86_400_000;

/**
 * What a command's caller saw: the stage (`expectedStageId`) and/or the revisions its
 * `If-Match` names. A mismatch is 409 STALE_STATE.
 */
export interface Expected {
  stageId?: string | null;
  /** The revisions of the entity tags in `If-Match` (empty: none can match). */
  revs?: number[];
}

/** The opportunity's entity tag: weak (the view also depends on the clock), from its `rev`. */
export const etagOf = (rev: number) => `W/"${rev}"`;

/**
 * The revisions an `If-Match` header names (`W/"7"` or `"7"`); undefined for none or `*`.
 * A tag that is not one of ours matches nothing.
 */
export function parseIfMatch(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const revs: number[] = [];
  for (const part of header.split(',')) {
    const m = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(part);
    if (m) revs.push(Number(m[1]));
  }
  return revs;
}

/** Events other layers (live docs, notifications, webhooks) subscribe to after commit. */
export interface OpportunityEvents {
  /** Its process, when the caller knows it (saves listeners a lookup). */
  changed(tenantId: string, opportunityId: string, processId?: string): unknown;
  /** `webhook`: an outbox row was written for the tenant's webhook. */
  transition?(event: {
    tenantId: string;
    opportunityId: string;
    action: string;
    from: string | null;
    to: string | null;
    fromStatus: string;
    toStatus: string;
    actorId: string;
    at: Date;
    webhook: boolean;
  }): unknown;
  approval?(event: {
    tenantId: string;
    approvalId: string;
    opportunityId: string;
    opportunityName: string;
    stageId: string;
    approverId: string;
    requestedBy: string;
    state: string;
  }): unknown;
}

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

/** What the service calls outward, given by the composition root (the live layer, notifications, …). */
export interface OpportunityHooks {
  /** Told after each commit. */
  readonly events: readonly OpportunityEvents[];
  /** Runs before a command decides: the live layer flushes co-filled form values. */
  beforeCommand(opportunityId: string): Promise<void>;
}

export class OpportunityService {
  constructor(
    private readonly ctx: ServerContext,
    private readonly processes: ProcessService,
    private readonly directory: DirectoryService,
    private readonly fields: FieldService,
    private readonly customerService: CustomerService,
    private readonly hooks: OpportunityHooks,
  ) {}

  /** Tells every subscriber; handlers that return a promise (stored notifications) are awaited. */
  private async emit(fn: (e: OpportunityEvents) => unknown) {
    await Promise.all(
      this.hooks.events.map(async (e) => {
        try {
          await fn(e);
        } catch (error) {
          this.ctx.logger.error({ err: error }, 'opportunity event handler failed');
        }
      }),
    );
  }

  // ---- access ----------------------------------------------------------------------

  private toLoaded(r: LoadedRow | undefined): Loaded {
    if (!r) throw notFound('opportunity');
    const [state, action] = r.approval ? r.approval.split(':') : [];
    return {
      ...r.o,
      customerName: r.customerName,
      customerFields: r.customerFields,
      ownerName: r.ownerName,
      managerId: r.managerId,
      contactCount: r.contactCount,
      orderCount: r.orderCount,
      approval: state
        ? { state: state as 'pending' | 'approved' | 'rejected', action: action as 'complete' | 'win' }
        : null,
    };
  }

  /**
   * One opportunity as `selectLoaded` reads it; with `lock`, its row is locked for the
   * transaction.
   */
  private async load(q: Q, tenantId: string, id: string, lock = false): Promise<Loaded> {
    const query = selectLoaded(q).where(and(eq(opportunities.tenantId, tenantId), eq(opportunities.id, id)));
    return this.toLoaded((lock ? await query.for('update', { of: opportunities }) : await query)[0]);
  }

  private readonly preparedLoads = new Map<number, { execute(p: { keys: string }): Promise<LoadedRow[]> }>();

  /**
   * The same load outside a transaction (the hot path of every command and view): loads
   * asked for in the same moment go to the database together, as one prepared statement.
   */
  private async loadFast(tenantId: string, id: string): Promise<Loaded> {
    const row = this.toLoaded(await this.loads.add({ tenantId, id }));
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

  private remember(row: Loaded) {
    const key = `${row.tenantId}/${row.id}`;
    const had = this.known.get(key);
    if (had && had.rev > row.rev) return; // a read that started before a later write
    this.known.delete(key);
    this.known.set(key, row);
    if (this.known.size > OpportunityService.KNOWN_MAX) this.known.delete(this.known.keys().next().value!);
  }

  private forget(tenantId: string, id: string) {
    this.known.delete(`${tenantId}/${id}`);
  }

  private lock(tx: Tx, tenantId: string, id: string): Promise<Loaded> {
    return this.load(tx, tenantId, id, true);
  }

  /** Who may do what with one opportunity (`opportunityAccess`). */
  private access(p: Principal, row: Loaded) {
    return opportunityAccess(p, row);
  }

  private mayAct(p: Principal, row: Loaded) {
    const a = this.access(p, row);
    const ok = row.phase === 'postsale' ? a.postsale : a.presale;
    if (!ok)
      throw new ApiError('FORBIDDEN', [
        {
          message: {
            zh: '只有负责人、直属上级或指定的售后人员可以操作此商机',
            en: 'Only the owner, their supervisor or assigned post-sale staff may act on this opportunity',
          },
        },
      ]);
    return a;
  }

  // ---- state -------------------------------------------------------------------------

  private state(row: Loaded): OpportunityState {
    return {
      status: row.status,
      phase: row.phase,
      stageId: row.stageId,
      contactCount: row.contactCount,
      orderCount: row.orderCount,
      approval: row.approval,
      values: {
        customer: { ...row.customerFields, name: row.customerName },
        opportunity: { ...row.fields, name: row.name, amount: row.amount, expectedCloseDate: row.expectedCloseDate },
        stage: (row.stageId && row.stageValues[row.stageId]) || {},
      },
    };
  }

  private async view(q: Q, row: Loaded, def?: ProcessDefinition, catalog?: FieldCatalog) {
    def ??= await this.processes.definition(q, row.processId, row.processVersion);
    const state = this.state(row);
    catalog ??= await this.fields.catalog(q, row.tenantId);
    const at = stageById(def, row.stageId);
    const winRate = winRateOf(def, row);
    const now = this.ctx.clock.now();
    const gates = row.status === 'open' || row.phase === 'postsale' ? evaluateGates(def, state) : [];
    const labelOf = (source: string, key: string) => fieldLabel(def!, catalog!, row.stageId, source, key);
    return {
      id: row.id,
      name: row.name,
      customerId: row.customerId,
      customerName: row.customerName,
      ownerId: row.ownerId,
      ownerName: row.ownerName,
      supervisorId: row.managerId,
      departmentId: row.departmentId,
      amount: row.amount,
      currency: row.currency,
      expectedCloseDate: row.expectedCloseDate,
      processId: row.processId,
      processVersion: row.processVersion,
      stageId: row.stageId,
      stageName: at?.stage.name ?? null,
      stageRequirements: at?.stage.requirements ?? '',
      status: row.status,
      phase: row.phase,
      terminalName: row.status === 'open' ? null : def.terminal[row.status].name,
      winRate,
      weightedAmount: Math.round(row.amount * winRate) / 100,
      stageEnteredAt: row.stageEnteredAt.toISOString(),
      daysInStage: Math.floor((now.getTime() - row.stageEnteredAt.getTime()) / DAY),
      overdue:
        at?.phase === 'postsale' &&
        !!at.stage.overdueAfterDays &&
        now.getTime() - row.stageEnteredAt.getTime() >= at.stage.overdueAfterDays * DAY,
      fields: row.fields,
      stageValues: row.stageValues,
      postsaleStaff: row.postsaleStaff,
      lostReason: row.lostReason,
      contactCount: state.contactCount,
      orderCount: state.orderCount,
      approval: state.approval,
      gates: gates.map((g) => ({ ...g, message: gateDetail(g, def!, row.stageId, labelOf).message })),
      actions: row.status === 'open' || row.phase === 'postsale' ? availableActions(def, state) : [],
      form: at ? formOf(at.stage.fields, catalog, state) : null,
      /** The stages of the version it is on, for drawing its path. */
      path: {
        presale: def.presale.map((x) => ({ id: x.id, name: x.name, winRate: x.winRate })),
        postsale: def.postsale.map((x) => ({ id: x.id, name: x.name, overdueAfterDays: x.overdueAfterDays })),
        terminal: def.terminal,
        maxStageIndex: row.maxStageIndex,
        rules: def.rules,
      },
      createdAt: row.createdAt.toISOString(),
      closedAt: row.closedAt?.toISOString() ?? null,
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  // ---- queries -----------------------------------------------------------------------

  async get(p: Principal, id: string) {
    return (await this.getTagged(p, id)).view;
  }

  /** The view with its entity tag (`ETag`, taken by commands as `If-Match`). */
  async getTagged(p: Principal, id: string) {
    const { db } = this.ctx.database;
    const row = await this.loadFast(p.tenantId, id);
    if (!this.access(p, row).read) throw new ApiError('FORBIDDEN');
    return { view: await this.view(db, row), etag: etagOf(row.rev) };
  }

  /** Whether the row is still what the caller saw. */
  private matches(row: Loaded, expected: Expected | undefined): boolean {
    if (!expected) return true;
    if (expected.stageId !== undefined && expected.stageId !== row.stageId) return false;
    if (expected.revs !== undefined && !expected.revs.includes(row.rev)) return false;
    return true;
  }

  private stale(row: Loaded): ApiError {
    return new ApiError('STALE_STATE', [
      {
        stageId: row.stageId,
        status: row.status,
        phase: row.phase,
        etag: etagOf(row.rev),
        message: {
          zh: '商机已不在您看到的状态，请刷新后再操作',
          en: 'The opportunity is no longer as you saw it; reload it and try again',
        },
      },
    ]);
  }

  /** For commands on a locked row: it is what the caller saw, or 409 STALE_STATE. */
  private expect(row: Loaded, expected: Expected | undefined) {
    if (!this.matches(row, expected)) throw this.stale(row);
  }

  /** A customer's contacts changed: the open opportunities on it have new gates. */
  async customerChanged(tenantId: string, customerId: string) {
    const rows = await this.ctx.database.db
      .select({ id: opportunities.id })
      .from(opportunities)
      .where(
        and(
          eq(opportunities.tenantId, tenantId),
          eq(opportunities.customerId, customerId),
          or(eq(opportunities.status, 'open'), eq(opportunities.phase, 'postsale')),
        ),
      );
    for (const r of rows) await this.emit((e) => e.changed(tenantId, r.id));
  }

  /** What a user may do with the live doc of an opportunity (throws 404 outside the tenant). */
  async accessFor(p: Principal, id: string): Promise<{ read: boolean; write: boolean }> {
    const row = await this.loadFast(p.tenantId, id);
    const { read, write } = this.access(p, row);
    return { read, write };
  }

  /** The view without a user (the live layer mirrors it into the opportunity's doc). */
  async systemView(id: string) {
    const { db } = this.ctx.database;
    const [r] = await db
      .select({ tenantId: opportunities.tenantId })
      .from(opportunities)
      .where(eq(opportunities.id, id));
    if (!r) throw notFound('opportunity');
    return { ...(await this.view(db, await this.loadFast(r.tenantId, id))), tenantId: r.tenantId };
  }

  async list(p: Principal, query: z.infer<typeof listOpportunitiesQuery>) {
    const { db } = this.ctx.database;
    const where: SQL[] = [eq(opportunities.tenantId, p.tenantId)];
    if (query.processId) where.push(eq(opportunities.processId, query.processId));
    if (query.status) where.push(eq(opportunities.status, query.status));
    if (query.ownerId) where.push(eq(opportunities.ownerId, query.ownerId));
    if (query.stageId) where.push(eq(opportunities.stageId, query.stageId));
    if (!p.roles.has('admin') && !p.roles.has('analyst')) {
      // Own, direct reports', and those one works post-sale (the read side of `opportunityAccess`).
      where.push(
        or(
          eq(opportunities.ownerId, p.userId),
          sql`${opportunities.ownerId} in (select id from users where tenant_id = ${p.tenantId} and manager_id = ${p.userId})`,
          sql`${opportunities.postsaleStaff} @> ${JSON.stringify([p.userId])}::jsonb`,
        )!,
      );
    }
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      where.push(
        or(lt(opportunities.createdAt, c.at), and(eq(opportunities.createdAt, c.at), lt(opportunities.id, c.id)))!,
      );
    }
    const rows = await db
      .select()
      .from(opportunities)
      .where(and(...where))
      .orderBy(desc(opportunities.createdAt), desc(opportunities.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const catalog = await this.fields.catalog(db, p.tenantId);
    const items = [];
    for (const r of page) items.push(await this.view(db, await this.load(db, p.tenantId, r.id), undefined, catalog));
    const last = page.at(-1);
    return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  async history(p: Principal, id: string) {
    const { db } = this.ctx.database;
    await this.get(p, id);
    const rows = await db
      .select()
      .from(stageHistory)
      .where(and(eq(stageHistory.tenantId, p.tenantId), eq(stageHistory.opportunityId, id)))
      .orderBy(asc(stageHistory.id));
    return { items: rows.map(({ tenantId: _t, ...r }) => ({ ...r, at: r.at.toISOString() })) };
  }

  // ---- commands ----------------------------------------------------------------------

  async create(p: Principal, input: z.infer<typeof createOpportunitySchema>) {
    const { db } = this.ctx.database;
    if (!canSell(p))
      throw new ApiError('FORBIDDEN', [
        { message: { zh: '只有销售人员和管理员可以新建商机', en: 'Only salespeople and admins create opportunities' } },
      ]);
    const ownerId = input.ownerId ?? p.userId;
    const id = this.ctx.ids('opp');
    await db.transaction(async (tx) => {
      const owner = await this.directory.user(tx, p.tenantId, ownerId);
      if (!owner)
        throw new ApiError('VALIDATION_FAILED', [
          { path: 'body.ownerId', message: { zh: '负责人不在通讯录中', en: 'The owner is not in the directory' } },
        ]);
      if (ownerId !== p.userId && !p.roles.has('admin') && owner.managerId !== p.userId)
        throw new ApiError('FORBIDDEN', [
          { message: { zh: '不能为他人创建商机', en: 'You cannot create opportunities for this owner' } },
        ]);
      const [customer] = await tx
        .select({ id: customers.id })
        .from(customers)
        .where(and(eq(customers.tenantId, p.tenantId), eq(customers.id, input.customerId)));
      if (!customer)
        throw new ApiError('VALIDATION_FAILED', [
          { path: 'body.customerId', message: { zh: '客户不存在', en: 'No such customer' } },
        ]);
      const process = await this.processes.row(tx, p.tenantId, input.processId).catch(() => {
        throw new ApiError('VALIDATION_FAILED', [
          { path: 'body.processId', message: { zh: '销售流程不存在', en: 'No such process' } },
        ]);
      });
      await this.checkUsable(tx, p.tenantId, process, owner.departmentId);
      const fields = await this.customerService.checkValues(tx, p, 'opportunity', input.fields, 'body.fields');
      const def = await this.processes.definition(tx, process.id, process.currentVersion);
      const start = initialState(def);
      const now = this.ctx.clock.now();
      await tx.insert(opportunities).values({
        id,
        tenantId: p.tenantId,
        name: input.name,
        customerId: input.customerId,
        ownerId,
        departmentId: owner.departmentId,
        amount: input.amount,
        currency: input.currency,
        expectedCloseDate: input.expectedCloseDate ?? null,
        processId: process.id,
        processVersion: process.currentVersion,
        ...start,
        stageEnteredAt: now,
        maxStageIndex: 0,
        fields,
        createdAt: now,
        updatedAt: now,
      });
      await tx.insert(stageHistory).values({
        tenantId: p.tenantId,
        opportunityId: id,
        processId: process.id,
        processVersion: process.currentVersion,
        fromStageId: null,
        toStageId: start.stageId,
        fromStatus: null,
        toStatus: 'open',
        action: 'create',
        actorId: p.userId,
        at: now,
      });
    });
    await this.emit((e) => e.changed(p.tenantId, id));
    return this.get(p, id);
  }

  private async checkUsable(
    q: Q,
    tenantId: string,
    process: { id: string; status: string; departments: string[] },
    departmentId: string | null,
  ) {
    if (process.status !== 'enabled') throw new ApiError('PROCESS_DISABLED');
    const usable = await this.processes.usableFor(q, tenantId, departmentId);
    if (!usable.some((u) => u.id === process.id))
      throw new ApiError('PROCESS_NOT_APPLICABLE', [
        {
          departmentId,
          message: { zh: '负责人所在部门不在适用范围内', en: "The owner's department is not in the process' scope" },
        },
      ]);
  }

  /** Stage form values: keys are the stage's field keys (or `source.key` when ambiguous). */
  async saveStageForm(p: Principal, id: string, values: Record<string, unknown>, expected?: Expected) {
    const { db } = this.ctx.database;
    await db.transaction(async (tx) => {
      const row = await this.lock(tx, p.tenantId, id);
      this.mayAct(p, row);
      this.expect(row, expected);
      if (!(row.status === 'open' || row.phase === 'postsale') || !row.stageId)
        throw new ApiError('INVALID_TRANSITION', [
          { message: { zh: '商机已结束，表单不可编辑', en: 'The opportunity is closed; its form is read-only' } },
        ]);
      const def = await this.processes.definition(tx, row.processId, row.processVersion);
      const stage = stageById(def, row.stageId)!.stage;
      const catalog = await this.fields.catalog(tx, p.tenantId);
      const writes = resolveFormValues(stage.fields, catalog, values);
      if (writes.refs.length) {
        // Each value that names a user or file, against the field's value now, and stored as checked.
        const [customer] = await tx
          .select({ fields: customers.fields })
          .from(customers)
          .where(and(eq(customers.tenantId, row.tenantId), eq(customers.id, row.customerId)));
        const current = {
          customer: customer?.fields ?? {},
          opportunity: row.fields,
          stage: row.stageValues[row.stageId] ?? {},
        } as Record<StageField['source'], Record<string, unknown>>;
        const stored = await checkValueRefs(
          tx,
          p,
          writes.refs.map((r) => ({ ...r, current: current[r.source][r.key] })),
        );
        writes.refs.forEach((r, i) => (writes[r.source][r.key] = stored[i]));
      }
      const now = this.ctx.clock.now();
      if (Object.keys(writes.customer).length) {
        const { name, ...custom } = writes.customer;
        await tx
          .update(customers)
          .set({
            fields: sql`${customers.fields} || ${JSON.stringify(custom)}::jsonb`,
            ...(name !== undefined ? { name: String(name) } : {}),
            updatedAt: now,
          })
          .where(and(eq(customers.tenantId, row.tenantId), eq(customers.id, row.customerId)));
      }
      const { name, amount, expectedCloseDate, ...custom } = writes.opportunity;
      const stageValues = {
        ...row.stageValues,
        [row.stageId]: { ...(row.stageValues[row.stageId] ?? {}), ...writes.stage },
      };
      await tx
        .update(opportunities)
        .set({
          rev: sql`${opportunities.rev} + 1`,
          fields: { ...row.fields, ...custom },
          stageValues,
          ...(name !== undefined ? { name: String(name) } : {}),
          ...(amount !== undefined ? { amount: Number(amount ?? 0) } : {}),
          ...(expectedCloseDate !== undefined
            ? { expectedCloseDate: (expectedCloseDate as string | null) || null }
            : {}),
          updatedAt: now,
        })
        .where(eq(opportunities.id, row.id));
    });
    this.forget(p.tenantId, id);
    await this.emit((e) => e.changed(p.tenantId, id));
    return this.get(p, id);
  }

  /** complete-stage, move-back, win, lose, invalidate: decided by core, one transaction with history. */
  /**
   * complete-stage, move-back, win, lose, invalidate. Decided by core against the
   * opportunity's version, then written as one statement that compare-and-sets the
   * opportunity's `rev` (the move, cancelling a pending approval, the history row);
   * if anything changed it since it was read, it is read and decided again.
   */
  async command(
    p: Principal,
    id: string,
    action: Action,
    comment?: string,
    expected?: Expected,
  ): Promise<{ status: 200 | 202; body: unknown; etag?: string }> {
    const { db } = this.ctx.database;
    await this.hooks.beforeCommand(id);
    for (let attempt = 0; attempt < 10; attempt++) {
      const known = attempt === 0 ? this.known.get(`${p.tenantId}/${id}`) : undefined;
      const row = known ?? (await this.loadFast(p.tenantId, id));
      let access: ReturnType<OpportunityService['access']>;
      try {
        access = this.mayAct(p, row);
      } catch (error) {
        if (known) continue; // denied on what this instance knew: ask the database
        throw error;
      }
      // The caller's expectation is checked on the row the decision (and so the move's
      // compare-and-set on its rev) uses; on what this instance knew, a mismatch may only
      // mean the entry is stale: read it again before answering STALE_STATE.
      if (!this.matches(row, expected)) {
        if (known) continue;
        throw this.stale(row);
      }
      const def = await this.processes.definition(db, row.processId, row.processVersion);
      const state = this.state(row);
      let decided = action;
      if (action.type === 'lose') {
        const lost = (await this.fields.catalog(db, p.tenantId)).opportunity.find((f) => f.key === 'lostReason');
        if (action.reason && lost?.options && !lost.options.some((o) => o.value === action.reason))
          throw new ApiError('VALIDATION_FAILED', [
            { path: 'body.reason', message: { zh: '不是可选的输单原因', en: 'Not one of the lost reasons' } },
          ]);
        decided = { ...action, reasonRequired: !!lost?.required };
      }
      const outcome = decide(def, state, decided);
      // Only a move is decided on what this instance knew (its write checks the rev);
      // anything else is decided again on a fresh read.
      if (known && !(outcome.ok && outcome.kind === 'moved')) continue;
      if (!outcome.ok) throw await this.refusal(db, outcome, def, row);
      const now = this.ctx.clock.now();
      if (outcome.kind === 'approvalRequested') {
        if (!access.manager)
          throw new ApiError('INVALID_TRANSITION', [
            {
              gate: 'approval',
              message: { zh: '负责人没有直属上级，无法提交确认', en: 'The owner has no supervisor to approve' },
            },
          ]);
        const approvalId = this.ctx.ids('apr');
        // Only while the opportunity is as read; the one-pending index refuses a twin.
        const inserted = await db
          .execute(sql`insert into approvals (id, tenant_id, opportunity_id, stage_id, stage_entry, action, requested_by, approver_id, state, values, requested_at)
            select ${approvalId}, ${p.tenantId}, ${row.id}, ${row.stageId}, ${row.stageEntry}, ${outcome.action}, ${p.userId}, ${access.manager}, 'pending',
                   ${JSON.stringify(state.values)}::jsonb, ${now.toISOString()}::timestamptz
            where exists (select 1 from opportunities where id = ${row.id} and rev = ${row.rev})
            on conflict do nothing returning id`)
          .then((r) => rowsOf(r).length);
        this.forget(p.tenantId, id);
        if (!inserted) continue;
        await this.emit((e) =>
          e.approval?.({
            tenantId: p.tenantId,
            approvalId,
            opportunityId: row.id,
            opportunityName: row.name,
            stageId: row.stageId!,
            approverId: access.manager!,
            requestedBy: p.userId,
            state: 'pending',
          }),
        );
        await this.emit((e) => e.changed(p.tenantId, id));
        return {
          status: 202,
          body: await this.view(db, { ...row, approval: { state: 'pending', action: outcome.action } }, def),
        };
      }
      if (outcome.kind !== 'moved') throw new Error('unexpected outcome');
      const moved = await this.applyMove(db, p, row, def, state, outcome.action, outcome.next, now, {
        lostReason: action.type === 'lose' ? (action.reason ?? null) : undefined,
        comment,
      });
      if (!moved) {
        this.forget(p.tenantId, id); // changed since: read it again
        continue;
      }
      this.remember(moved.row);
      await this.emit((e) => e.transition?.(moved.transition));
      await this.emit((e) => e.changed(p.tenantId, id, row.processId));
      return { status: 200, body: await this.view(db, moved.row, def), etag: etagOf(moved.row.rev) };
    }
    throw new ApiError('CONFLICT', [
      { message: { zh: '商机正被频繁修改，请重试', en: 'The opportunity kept changing; try again' } },
    ]);
  }

  /** Writes a decided move in one statement, if the opportunity's rev is still the one read. */
  private async applyMove(
    q: Q,
    p: Principal,
    row: Loaded,
    def: ProcessDefinition,
    state: OpportunityState,
    action: HistoryAction,
    next: Pick<OpportunityState, 'status' | 'phase' | 'stageId'>,
    now: Date,
    extra: { lostReason?: string | null; comment?: string },
  ) {
    const stageChanged = next.stageId !== row.stageId || next.phase !== row.phase;
    const at = stageById(def, next.stageId);
    const after: Loaded = {
      ...row,
      ...next,
      stageEnteredAt: stageChanged ? now : row.stageEnteredAt,
      stageEntry: row.stageEntry + (stageChanged ? 1 : 0),
      maxStageIndex: at?.phase === 'presale' ? Math.max(row.maxStageIndex, at.index) : row.maxStageIndex,
      closedAt: next.status !== 'open' && row.status === 'open' ? now : row.closedAt,
      lostReason: extra.lostReason !== undefined ? extra.lostReason : row.lostReason,
      updatedAt: now,
      rev: row.rev + 1,
      approval: stageChanged ? null : row.approval,
    };
    const iso = now.toISOString();
    // The host's webhook hears of every move, from the same statement (an outbox row).
    const hookId = this.ctx.ids('whd');
    const stageName = (id: string | null) => (id ? (stageById(def, id)?.stage.name ?? id) : null);
    const event = {
      id: hookId,
      type: 'opportunity.stage-changed',
      createdAt: iso,
      tenantId: p.tenantId,
      data: {
        opportunityId: row.id,
        opportunityName: row.name,
        action,
        actorId: p.userId,
        at: iso,
        previous: { stageId: row.stageId, stageName: stageName(row.stageId), status: row.status, phase: row.phase },
        current: { stageId: next.stageId, stageName: stageName(next.stageId), status: next.status, phase: next.phase },
      },
    };
    const move: MoveRecord = {
      id: row.id,
      rev: row.rev,
      new_rev: after.rev,
      tenant_id: p.tenantId,
      status: after.status,
      phase: after.phase,
      stage_id: after.stageId,
      stage_entered_at: after.stageEnteredAt.toISOString(),
      stage_entry: after.stageEntry,
      max_stage_index: after.maxStageIndex,
      closed_at: after.closedAt?.toISOString() ?? null,
      lost_reason: after.lostReason,
      at: iso,
      hook_id: hookId,
      event,
      process_id: row.processId,
      process_version: row.processVersion,
      from_stage_id: row.stageId,
      from_status: row.status,
      action,
      actor_id: p.userId,
      days_spent: (now.getTime() - row.stageEnteredAt.getTime()) / DAY,
      values: state.values,
      comment: extra.comment ?? extra.lostReason ?? null,
    };
    // Outside a transaction (every plain command) moves are group-committed; inside one
    // (an approval's), it is written in that transaction.
    const [written] =
      q === this.ctx.database.db
        ? [await this.moves.add(move)]
        : await writeMoves((s) => q.execute(s).then(rowsOf<MoveRow>), [move]);
    if (!written?.moved) return null;
    return {
      row: after,
      transition: {
        tenantId: p.tenantId,
        opportunityId: row.id,
        action,
        from: row.stageId,
        to: next.stageId,
        fromStatus: row.status,
        toStatus: next.status,
        actorId: p.userId,
        at: now,
        webhook: written.hooked,
      },
    };
  }

  /** Concurrent commands' moves, written together: one statement and one commit for many. */
  private readonly moves = new Batcher<MoveRecord, WrittenMove>(
    (batch) => writeMoves((s) => this.ctx.database.prepared<MoveRow>(s), batch),
    (m) => m.id,
  );

  async changeProcess(p: Principal, id: string, processId: string, expected?: Expected) {
    const { db } = this.ctx.database;
    await db.transaction(async (tx) => {
      const row = await this.lock(tx, p.tenantId, id);
      this.mayAct(p, row);
      this.expect(row, expected);
      if (row.status !== 'open' || row.phase !== 'presale')
        throw new ApiError('INVALID_TRANSITION', [
          {
            message: {
              zh: '只有进行中的售前商机可以更换销售流程',
              en: 'Only an open pre-sale opportunity can change process',
            },
          },
        ]);
      if (processId === row.processId)
        throw new ApiError('INVALID_TRANSITION', [
          { message: { zh: '已在此销售流程中', en: 'Already on this process' } },
        ]);
      const process = await this.processes.row(tx, p.tenantId, processId);
      await this.checkUsable(tx, p.tenantId, process, row.departmentId);
      const def = await this.processes.definition(tx, process.id, process.currentVersion);
      const start = initialState(def);
      const now = this.ctx.clock.now();
      await tx
        .update(opportunities)
        .set({
          rev: sql`${opportunities.rev} + 1`,
          processId,
          processVersion: process.currentVersion,
          ...start,
          stageEnteredAt: now,
          stageEntry: sql`${opportunities.stageEntry} + 1`,
          maxStageIndex: 0,
          updatedAt: now,
        })
        .where(eq(opportunities.id, row.id));
      await tx
        .update(approvals)
        .set({ state: 'cancelled', decidedAt: now })
        .where(and(eq(approvals.opportunityId, row.id), eq(approvals.state, 'pending')));
      await tx.insert(stageHistory).values({
        tenantId: p.tenantId,
        opportunityId: row.id,
        processId,
        processVersion: process.currentVersion,
        fromStageId: row.stageId,
        toStageId: start.stageId,
        fromStatus: row.status,
        toStatus: 'open',
        action: 'change-process',
        actorId: p.userId,
        at: now,
        daysSpent: (now.getTime() - row.stageEnteredAt.getTime()) / DAY,
        comment: `from ${row.processId}`,
      });
    });
    this.forget(p.tenantId, id);
    await this.emit((e) => e.changed(p.tenantId, id));
    return this.get(p, id);
  }

  async createOrder(p: Principal, id: string, amount: number, expected?: Expected) {
    const { db } = this.ctx.database;
    const order = await db.transaction(async (tx) => {
      const row = await this.lock(tx, p.tenantId, id);
      this.mayAct(p, row);
      this.expect(row, expected);
      const def = await this.processes.definition(tx, row.processId, row.processVersion);
      const outcome = decide(def, this.state(row), { type: 'createOrder' });
      if (!outcome.ok) throw await this.refusal(tx, outcome, def, row);
      const [created] = await tx
        .insert(orders)
        .values({
          id: this.ctx.ids('ord'),
          tenantId: p.tenantId,
          opportunityId: id,
          amount,
          createdBy: p.userId,
          createdAt: this.ctx.clock.now(),
        })
        .returning();
      return created!;
    });
    this.forget(p.tenantId, id);
    await this.emit((e) => e.changed(p.tenantId, id));
    return {
      id: order.id,
      opportunityId: id,
      amount: order.amount,
      createdBy: order.createdBy,
      createdAt: order.createdAt.toISOString(),
    };
  }

  async listOrders(p: Principal, id: string) {
    await this.get(p, id);
    const rows = await this.ctx.database.db
      .select()
      .from(orders)
      .where(and(eq(orders.tenantId, p.tenantId), eq(orders.opportunityId, id)))
      .orderBy(asc(orders.createdAt));
    return { items: rows.map(({ tenantId: _t, ...o }) => ({ ...o, createdAt: o.createdAt.toISOString() })) };
  }

  async setPostsaleStaff(p: Principal, id: string, userIds: string[], expected?: Expected) {
    const { db } = this.ctx.database;
    await db.transaction(async (tx) => {
      const row = await this.lock(tx, p.tenantId, id);
      const access = this.access(p, row);
      if (!access.presale) throw new ApiError('FORBIDDEN');
      this.expect(row, expected);
      const unique = [...new Set(userIds)];
      for (const u of unique)
        if (!(await this.directory.user(tx, p.tenantId, u)))
          throw new ApiError('VALIDATION_FAILED', [
            { path: 'body.userIds', userId: u, message: { zh: `用户 ${u} 不存在`, en: `No user ${u}` } },
          ]);
      await tx
        .update(opportunities)
        .set({ rev: sql`${opportunities.rev} + 1`, postsaleStaff: unique, updatedAt: this.ctx.clock.now() })
        .where(eq(opportunities.id, id));
    });
    this.forget(p.tenantId, id);
    await this.emit((e) => e.changed(p.tenantId, id));
    return this.get(p, id);
  }

  /** A core refusal as an ApiError, naming required fields by their labels. */
  private async refusal(q: Q, refusal: Refusal, def: ProcessDefinition, row: Row): Promise<ApiError> {
    const catalog = await this.fields.catalog(q, row.tenantId);
    const labelOf = (source: string, key: string) => fieldLabel(def, catalog, row.stageId, source, key);
    const details = refusal.details.map((d) =>
      d.gate === 'requiredField'
        ? gateDetail(
            { gate: 'requiredField', source: d.source as 'stage', key: String(d.key), met: false },
            def,
            row.stageId,
            labelOf,
          )
        : d,
    );
    return new ApiError(refusal.code, details);
  }

  // ---- approvals ---------------------------------------------------------------------

  async listApprovals(p: Principal, state?: string) {
    const { db } = this.ctx.database;
    const where: SQL[] = [eq(approvals.tenantId, p.tenantId)];
    if (!p.roles.has('admin')) where.push(or(eq(approvals.approverId, p.userId), eq(approvals.requestedBy, p.userId))!);
    if (state) where.push(eq(approvals.state, state as 'pending'));
    const rows = await db
      .select({
        a: approvals,
        oppName: opportunities.name,
        ownerId: opportunities.ownerId,
        amount: opportunities.amount,
        processId: opportunities.processId,
        processVersion: opportunities.processVersion,
        requestedByName: users.name,
      })
      .from(approvals)
      .innerJoin(opportunities, eq(opportunities.id, approvals.opportunityId))
      .leftJoin(users, and(eq(users.tenantId, approvals.tenantId), eq(users.id, approvals.requestedBy)))
      .where(and(...where))
      .orderBy(desc(approvals.requestedAt))
      .limit(200);
    const items = [];
    for (const r of rows) {
      const def = await this.processes.definition(db, r.processId, r.processVersion);
      const { tenantId: _t, ...a } = r.a;
      items.push({
        ...a,
        requestedAt: a.requestedAt.toISOString(),
        decidedAt: a.decidedAt?.toISOString() ?? null,
        opportunityName: r.oppName,
        requestedByName: r.requestedByName ?? a.requestedBy,
        ownerId: r.ownerId,
        amount: r.amount,
        stageName: stageById(def, a.stageId)?.stage.name ?? a.stageId,
      });
    }
    return { items };
  }

  async decideApproval(p: Principal, approvalId: string, decision: 'approve' | 'reject', comment: string) {
    const { db } = this.ctx.database;
    let transition: Parameters<NonNullable<OpportunityEvents['transition']>>[0] | null = null;
    const [found] = await db
      .select()
      .from(approvals)
      .where(and(eq(approvals.tenantId, p.tenantId), eq(approvals.id, approvalId)));
    if (!found) throw notFound('approval');
    await this.hooks.beforeCommand(found.opportunityId);
    let oppName = '';
    await db.transaction(async (tx) => {
      const locked = await this.lock(tx, p.tenantId, found.opportunityId);
      oppName = locked.name;
      const [a] = await tx.select().from(approvals).where(eq(approvals.id, approvalId)).for('update');
      if (a!.approverId !== p.userId)
        throw new ApiError('FORBIDDEN', [
          { message: { zh: '只有负责人的直属上级可以确认', en: "Only the owner's direct supervisor can decide" } },
        ]);
      if (a!.state !== 'pending')
        throw new ApiError('CONFLICT', [
          { state: a!.state, message: { zh: '该申请已处理', en: 'This approval was already decided' } },
        ]);
      const now = this.ctx.clock.now();
      await tx
        .update(approvals)
        .set({ state: decision === 'approve' ? 'approved' : 'rejected', comment, decidedAt: now })
        .where(eq(approvals.id, approvalId));
      if (decision === 'reject') return;
      // Approval completes the stage (or wins): decide again with the approval granted, on
      // the row as it is now (deciding the approval bumped its rev).
      const row = await this.lock(tx, p.tenantId, found.opportunityId);
      const def = await this.processes.definition(tx, row.processId, row.processVersion);
      const state = { ...this.state(row), approval: { state: 'approved' as const, action: a!.action } };
      const outcome = decide(def, state, a!.action === 'win' ? { type: 'win' } : { type: 'completeStage' });
      if (!outcome.ok) throw await this.refusal(tx, outcome, def, row);
      if (outcome.kind !== 'moved') throw new Error('approval did not move');
      const moved = await this.applyMove(tx, p, row, def, state, outcome.action, outcome.next, now, { comment });
      if (!moved) throw new Error('a locked opportunity changed');
      transition = moved.transition;
    });
    if (transition) await this.emit((e) => e.transition?.(transition!));
    await this.emit((e) =>
      e.approval?.({
        tenantId: p.tenantId,
        approvalId,
        opportunityId: found.opportunityId,
        opportunityName: oppName,
        stageId: found.stageId,
        approverId: p.userId,
        requestedBy: found.requestedBy,
        state: decision === 'approve' ? 'approved' : 'rejected',
      }),
    );
    this.forget(p.tenantId, found.opportunityId);
    await this.emit((e) => e.changed(p.tenantId, found.opportunityId));
    return {
      approval: (await this.listApprovals(p)).items.find((x) => x.id === approvalId),
      opportunity: await this.get(p, found.opportunityId),
    };
  }
}

/** A decided move as the move statement takes it (snake_case: the recordset's columns). */
export interface MoveRecord {
  id: string;
  rev: number;
  new_rev: number;
  tenant_id: string;
  status: string;
  phase: string;
  stage_id: string | null;
  stage_entered_at: string;
  stage_entry: number;
  max_stage_index: number;
  closed_at: string | null;
  lost_reason: string | null;
  at: string;
  hook_id: string;
  event: unknown;
  process_id: string;
  process_version: number;
  from_stage_id: string | null;
  from_status: string;
  action: string;
  actor_id: string;
  days_spent: number;
  values: unknown;
  comment: string | null;
}
interface WrittenMove {
  moved: boolean;
  hooked: boolean;
}
export interface MoveRow {
  id: string;
  hooked: boolean;
}

/**
 * Writes decided moves in one statement: each opportunity only if its `rev` is still the
 * one its command read (compare-and-set), and for each one written, the pending approval
 * of the stage it leaves cancelled, the webhook's outbox row (when the tenant has one)
 * and its history row. Results in input order.
 */
export async function writeMoves(
  run: (statement: SQL) => Promise<MoveRow[]>,
  moves: MoveRecord[],
): Promise<WrittenMove[]> {
  const rows = await run(sql`
    with m as (
      select * from jsonb_to_recordset(${JSON.stringify(moves)}::jsonb) as m(id text, rev int, new_rev int, tenant_id text, status text, phase text,
        stage_id text, stage_entered_at timestamptz, stage_entry int, max_stage_index int, closed_at timestamptz, lost_reason text, at timestamptz,
        hook_id text, event jsonb, process_id text, process_version int, from_stage_id text, from_status text, action text, actor_id text,
        days_spent float8, "values" jsonb, comment text)
      -- The batch's size as a literal: otherwise the planner takes jsonb_to_recordset for
      -- 100 rows and, on a table of a few thousand, hashes a scan of all of it (one prepared
      -- statement per batch size).
      limit ${sql.raw(String(moves.length))}
    ), upd as (
      update opportunities o set status = m.status, phase = m.phase, stage_id = m.stage_id, stage_entered_at = m.stage_entered_at,
        stage_entry = m.stage_entry, max_stage_index = m.max_stage_index, closed_at = m.closed_at, lost_reason = m.lost_reason,
        updated_at = m.at, rev = m.new_rev
      from m where o.id = m.id and o.rev = m.rev
      returning o.id
    ), cancelled as (
      -- a move ends any pending approval of the stage being left
      update approvals a set state = 'cancelled', decided_at = m.at
      from m where a.opportunity_id = m.id and a.state = 'pending' and m.id in (select id from upd)
    ), hook as (
      insert into webhook_deliveries (id, tenant_id, event, state, attempts, next_attempt_at, created_at)
      select m.hook_id, m.tenant_id, m.event, 'pending', 0, m.at, m.at from m
      where m.id in (select id from upd) and exists (select 1 from tenants t where t.id = m.tenant_id and t.webhook_url is not null)
      returning id
    ), history as (
      insert into stage_history (tenant_id, opportunity_id, process_id, process_version, from_stage_id, to_stage_id,
        from_status, to_status, action, actor_id, at, days_spent, values, comment)
      select m.tenant_id, m.id, m.process_id, m.process_version, m.from_stage_id, m.stage_id, m.from_status, m.status, m.action,
        m.actor_id, m.at, m.days_spent, m."values", m.comment
      from m where m.id in (select id from upd)
    )
    select upd.id, exists (select 1 from hook where hook.id = m.hook_id) as hooked from upd join m on m.id = upd.id`);
  const written = new Map(rows.map((r) => [r.id, r.hooked]));
  return moves.map((m) => ({ moved: written.has(m.id), hooked: written.get(m.id) === true }));
}

/** The label of a stage form field: its own (stage-only) or its definition's. */
export function fieldLabel(
  def: ProcessDefinition,
  catalog: FieldCatalog,
  stageId: string | null,
  source: string,
  key: string,
): string {
  const f = stageById(def, stageId)?.stage.fields.find((x) => x.source === source && x.key === key);
  if (f?.label) return f.label.zh || f.label.en;
  if (source === 'customer' || source === 'opportunity')
    return catalog[source].find((d) => d.key === key)?.label.zh ?? key;
  return key;
}

/** The current stage's form: each field with its type, label, options and value. */
function formOf(fields: readonly StageField[], catalog: FieldCatalog, state: OpportunityState) {
  return fields.map((f) => {
    const def = f.source === 'stage' ? null : catalog[f.source].find((d) => d.key === f.key);
    return {
      source: f.source,
      key: f.key,
      required: f.required,
      type: f.type ?? def?.type ?? 'text',
      label: f.label ?? def?.label ?? { zh: f.key, en: f.key },
      options: f.options ?? def?.options ?? null,
      value: state.values[f.source][f.key] ?? null,
    };
  });
}

/** Maps submitted values onto the stage's fields, checking each by type. */
export function resolveFormValues(
  fields: readonly StageField[],
  catalog: FieldCatalog,
  values: Record<string, unknown>,
) {
  const out = {
    customer: {} as Record<string, unknown>,
    opportunity: {} as Record<string, unknown>,
    stage: {} as Record<string, unknown>,
    /** Values naming a user or a file, for `checkValueRefs`. */
    refs: [] as (ValueRef & { source: StageField['source']; key: string })[],
  };
  const details = [];
  for (const [name, value] of Object.entries(values)) {
    const dot = name.indexOf('.');
    const matches =
      dot > 0 ? fields.filter((f) => `${f.source}.${f.key}` === name) : fields.filter((f) => f.key === name);
    if (matches.length !== 1) {
      details.push({
        path: `body.values.${name}`,
        message: matches.length
          ? { zh: `${name} 有歧义，请写成 来源.字段`, en: `${name} is ambiguous: use source.key` }
          : { zh: `本阶段没有字段 ${name}`, en: `This stage has no field ${name}` },
      });
      continue;
    }
    const f = matches[0]!;
    const def = f.source === 'stage' ? null : catalog[f.source].find((d) => d.key === f.key);
    const type = f.type ?? def?.type;
    if (!type) {
      details.push({
        path: `body.values.${name}`,
        message: { zh: `字段 ${name} 未定义`, en: `Field ${name} is not defined` },
      });
      continue;
    }
    const problem = checkFieldValue(type, value, f.options ?? def?.options);
    if (problem)
      details.push({
        path: `body.values.${name}`,
        message: { zh: `${name}：${problem.message.zh}`, en: `${name}: ${problem.message.en}` },
      });
    else if (
      f.source === 'opportunity' &&
      f.key === 'amount' &&
      value !== null &&
      (typeof value !== 'number' || value < 0)
    )
      details.push({
        path: `body.values.${name}`,
        message: { zh: '金额不能为负', en: 'The amount cannot be negative' },
      });
    else {
      out[f.source][f.key] = value;
      if (type === 'file' || type === 'user')
        out.refs.push({ path: `body.values.${name}`, type, value, source: f.source, key: f.key });
    }
  }
  if (details.length) throw new ApiError('VALIDATION_FAILED', details);
  return out;
}

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    if (typeof id !== 'string' || Number.isNaN(date.getTime())) throw new Error('bad');
    return { at: date, id };
  } catch {
    throw new ApiError('VALIDATION_FAILED', [
      { path: 'query.cursor', message: { zh: '游标无效', en: 'The cursor is not valid' } },
    ]);
  }
}
