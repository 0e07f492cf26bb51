import {
  conditionsHold,
  decide,
  evaluateGates,
  gateDetail,
  initialState,
  stageById,
  type Action,
  type createOpportunitySchema,
  type editOpportunitySchema,
  type FieldCatalog,
  type listOpportunitiesQuery,
  type OpportunityCommand,
  type OpportunityView,
  type ProcessDefinition,
  type reassignSchema,
  type Refusal,
  type StageField,
} from '@sales-process/core';
import { and, asc, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import { rowsOf } from '../db/open.js';
import { approvals, customers, opportunities, opportunityChanges, orders, stageHistory } from '../db/schema.js';
import { checkValueRefs, type FieldService } from '../directory/fields.js';
import type { CustomerService } from '../directory/customers.js';
import { requireRatedCurrency } from '../directory/currencies.js';
import type { DirectoryService } from '../directory/directory.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import { conditionsUnmetError, judgeConditions } from '../processes/applicability.js';
import type { ProcessService } from '../processes/service.js';
import { canSell, mayAct, opportunityAccess, type OpportunityAccess } from './access.js';
import { Approvals } from './approvals.js';
import { CommandBatch, decidable, noApprover, type CommandResult } from './commands.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { OpportunityFeed, type FeedMessage, type Sight } from './feed.js';
import { fieldLabel, refusalError, resolveFormValues } from './form.js';
import { OpportunityLoads, stateOf, type Loaded, type Q, type Row } from './loads.js';
import { MoveWriter, type Transition } from './moves.js';
import { etagOf, expect, matches, stale, type Expected } from './preconditions.js';
import { Records } from './records.js';
import { opportunityView } from './view.js';

/*
 * Over 400 lines on purpose: the commands share one cycle (lock or load, check access and the
 * caller's preconditions, decide with core, write, forget the known state, tell listeners) and
 * read best side by side. Reading and caching rows is loads.ts, writing moves moves.ts, the
 * view view.ts, approvals approvals.ts, access rules access.ts, form values form.ts, edits and
 * reassignments records.ts.
 */

export { opportunityAccess, type AccessRow } from './access.js';
export { etagOf, parseIfMatch, type Expected } from './preconditions.js';
export { loadStatement } from './loads.js';
export { writeMoves, type MoveRecord } from './moves.js';
export type { ReassignResult } from './records.js';
export type { CommandResult } from './commands.js';
export type { FeedMessage, Sight } from './feed.js';

const DAY = 86_400_000;

/** Events other layers (live docs, notifications, webhooks) subscribe to after commit. */
export interface OpportunityEvents {
  /**
   * Its process, when the caller knows it (saves listeners a lookup); `before`, when the
   * change may have taken it out of someone's sight (reassigned, its post-sale staff or its
   * process changed): who saw it until now (the stream tells them `removed`).
   */
  changed(tenantId: string, opportunityId: string, processId?: string, before?: Sight): unknown;
  /** A move was written (`webhook`: an outbox row was written for the tenant's webhook). */
  transition?(event: Transition): unknown;
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

  private readonly loads = new OpportunityLoads(this.ctx);
  private readonly moves = new MoveWriter(this.ctx, (q, tenantId, team) =>
    this.directory.teamMembers(q, tenantId, team),
  );
  private readonly approvals = new Approvals({
    ctx: this.ctx,
    processes: this.processes,
    fields: this.fields,
    loads: this.loads,
    moves: this.moves,
    beforeCommand: (id) => this.hooks.beforeCommand(id),
    emit: (fn) => this.emit(fn),
    get: (p, id) => this.get(p, id),
  });
  /** `GET /opportunities/stream` (feed.ts): told of every change, as the hooks' listeners are. */
  private readonly feed = new OpportunityFeed(this.ctx);
  private readonly batch = new CommandBatch({
    ctx: this.ctx,
    processes: this.processes,
    fields: this.fields,
    loads: this.loads,
    moves: this.moves,
    beforeCommand: (id) => this.hooks.beforeCommand(id),
    emit: (fn) => this.emit(fn),
  });
  private readonly records = new Records({
    ctx: this.ctx,
    directory: this.directory,
    customers: this.customerService,
    loads: this.loads,
    beforeCommand: (id) => this.hooks.beforeCommand(id),
    emit: (fn) => this.emit(fn),
  });

  /** Tells every subscriber; handlers that return a promise (stored notifications) are awaited. */
  private async emit(fn: (e: OpportunityEvents) => unknown) {
    await Promise.all(
      [...this.hooks.events, this.feed.events].map(async (e) => {
        try {
          await fn(e);
        } catch (error) {
          this.ctx.logger.error({ err: error }, 'opportunity event handler failed');
        }
      }),
    );
  }

  // ---- views ----------------------------------------------------------------------

  /** Its view (view.ts), with the definition of its version and the tenant's catalog unless given. */
  private async view(q: Q, row: Loaded, def?: ProcessDefinition, catalog?: FieldCatalog): Promise<OpportunityView> {
    def ??= await this.processes.definition(q, row.processId, row.processVersion);
    catalog ??= await this.fields.catalog(q, row.tenantId);
    return opportunityView(row, def, catalog, this.ctx.clock.now());
  }

  // ---- queries -----------------------------------------------------------------------

  async get(p: Principal, id: string) {
    return (await this.getTagged(p, id)).view;
  }

  /** The view with its entity tag (`ETag`, taken by commands as `If-Match`). */
  async getTagged(p: Principal, id: string) {
    const { db } = this.ctx.database;
    const row = await this.loads.loadFast(p.tenantId, id);
    if (!opportunityAccess(p, row).read) throw new ApiError('FORBIDDEN');
    return { view: await this.view(db, row), etag: etagOf(row.rev) };
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
    const row = await this.loads.loadFast(p.tenantId, id);
    const { read, write } = opportunityAccess(p, row);
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
    return { ...(await this.view(db, await this.loads.loadFast(r.tenantId, id))), tenantId: r.tenantId };
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
    // The page in one statement, each row as a single load reads it.
    const rows = await this.loads.page(
      db,
      and(...where),
      [desc(opportunities.createdAt), desc(opportunities.id)],
      query.limit + 1,
    );
    const page = rows.slice(0, query.limit);
    const catalog = await this.fields.catalog(db, p.tenantId);
    const now = this.ctx.clock.now();
    const items = [];
    for (const row of page) {
      const def = await this.processes.definition(db, row.processId, row.processVersion);
      const remindAfterDays = stageById(def, row.stageId)?.stage.remindAfterDays || null;
      items.push({
        ...opportunityView(row, def, catalog, now),
        // What a board's card needs besides the view: the revision (its ETag's), the current
        // stage's reminder days, and whether an open one has stayed past them.
        rev: row.rev,
        remindAfterDays,
        stale:
          row.status === 'open' &&
          remindAfterDays !== null &&
          now.getTime() - row.stageEnteredAt.getTime() >= remindAfterDays * DAY,
      });
    }
    const last = page.at(-1);
    return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /**
   * Its stage moves (`kind: 'move'`, as they always were) and its edits and reassignments
   * (`kind: 'change'`: `action`, `actorId`, `at`, `changes` `{key: [before, after]}`,
   * `reason`), in time order; moves keep their own order, a change at the same moment
   * comes after them.
   */
  async history(p: Principal, id: string) {
    const { db } = this.ctx.database;
    await this.get(p, id);
    const [moves, changes] = await Promise.all([
      db
        .select()
        .from(stageHistory)
        .where(and(eq(stageHistory.tenantId, p.tenantId), eq(stageHistory.opportunityId, id)))
        .orderBy(asc(stageHistory.id)),
      db
        .select()
        .from(opportunityChanges)
        .where(and(eq(opportunityChanges.tenantId, p.tenantId), eq(opportunityChanges.opportunityId, id)))
        .orderBy(asc(opportunityChanges.id)),
    ]);
    const items: ({ kind: 'move' | 'change'; at: string } & Record<string, unknown>)[] = [];
    let c = 0;
    for (const { tenantId: _t, ...m } of moves) {
      while (c < changes.length && changes[c]!.at < m.at) items.push(changeItem(changes[c++]!));
      items.push({ kind: 'move', ...m, at: m.at.toISOString() });
    }
    while (c < changes.length) items.push(changeItem(changes[c++]!));
    return { items };
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
        .select({ id: customers.id, fields: customers.fields })
        .from(customers)
        .where(and(eq(customers.tenantId, p.tenantId), eq(customers.id, input.customerId)));
      if (!customer)
        throw new ApiError('VALIDATION_FAILED', [
          { path: 'body.customerId', message: { zh: '客户不存在', en: 'No such customer' } },
        ]);
      const named = input.processId
        ? await this.processes.row(tx, p.tenantId, input.processId).catch(() => {
            throw new ApiError('VALIDATION_FAILED', [
              { path: 'body.processId', message: { zh: '销售流程不存在', en: 'No such process' } },
            ]);
          })
        : null;
      if (named) await this.checkUsable(tx, p.tenantId, named, owner.departmentId);
      const fields = await this.customerService.checkValues(tx, p, 'opportunity', input.fields, 'body.fields');
      const currency = await requireRatedCurrency(tx, p.tenantId, input.currency);
      const { process, def } = await this.processForNew(tx, p.tenantId, named, owner.departmentId, {
        customer: customer.fields,
        opportunity: fields,
      });
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
        currency,
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

  /**
   * The process a new opportunity goes on: the one named (its conditions must hold for the
   * customer's and the opportunity's values: 422 PROCESS_NOT_APPLICABLE naming them), or
   * with none named, the one enabled process usable by the owner's department whose
   * conditions hold, when exactly one does (else 400 at `body.processId`, as before).
   */
  private async processForNew(
    q: Q,
    tenantId: string,
    named: Awaited<ReturnType<ProcessService['row']>> | null,
    departmentId: string | null,
    values: { customer: Record<string, unknown>; opportunity: Record<string, unknown> },
  ) {
    if (named) {
      const def = await this.processes.definition(q, named.id, named.currentVersion);
      await this.checkConditions(q, tenantId, def, values);
      return { process: named, def };
    }
    const matching = [];
    for (const process of await this.processes.usableFor(q, tenantId, departmentId)) {
      const def = await this.processes.definition(q, process.id, process.currentVersion);
      if (conditionsHold(def, values)) matching.push({ process, def });
    }
    if (matching.length === 1) return matching[0]!;
    throw new ApiError('VALIDATION_FAILED', [
      {
        path: 'body.processId',
        candidates: matching.map((m) => m.process.id),
        message: matching.length
          ? {
              zh: `有 ${matching.length} 个销售流程适用，请指定 processId`,
              en: `${matching.length} processes apply: name one in processId`,
            }
          : { zh: '没有适用的销售流程，请指定 processId', en: 'No process applies: name one in processId' },
      },
    ]);
  }

  /** 422 PROCESS_NOT_APPLICABLE unless the process's field conditions hold (naming the unmet ones by label). */
  private async checkConditions(
    q: Q,
    tenantId: string,
    def: ProcessDefinition,
    values: { customer: Record<string, unknown>; opportunity: Record<string, unknown> },
  ) {
    const { unmet } = judgeConditions(def, values);
    if (unmet.length) throw conditionsUnmetError(await this.fields.catalog(q, tenantId), unmet);
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
      const row = await this.loads.lock(tx, p.tenantId, id);
      mayAct(p, row);
      expect(row, expected);
      if (!(row.status === 'open' || row.phase === 'postsale') || !row.stageId)
        throw new ApiError('INVALID_TRANSITION', [
          { message: { zh: '商机已结束，表单不可编辑', en: 'The opportunity is closed; its form is read-only' } },
        ]);
      const def = await this.processes.definition(tx, row.processId, row.processVersion);
      const stage = stageById(def, row.stageId)!.stage;
      const catalog = await this.fields.catalog(tx, p.tenantId);
      // The values now: one left as it is stays valid (an archived option, a file of someone else's).
      const [customer] = stage.fields.some((f) => f.source === 'customer')
        ? await tx
            .select({ fields: customers.fields })
            .from(customers)
            .where(and(eq(customers.tenantId, row.tenantId), eq(customers.id, row.customerId)))
        : [];
      const current = {
        customer: customer?.fields ?? {},
        opportunity: row.fields,
        stage: row.stageValues[row.stageId] ?? {},
      } as Record<StageField['source'], Record<string, unknown>>;
      const writes = resolveFormValues(stage.fields, catalog, values, current);
      if (writes.refs.length) {
        // Each value that names a user or file, against the field's value now, and stored as checked.
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
    this.loads.forget(p.tenantId, id);
    await this.emit((e) => e.changed(p.tenantId, id));
    return this.get(p, id);
  }

  /**
   * complete-stage, move-back, win, lose, invalidate, reopen. Decided by core against the
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
      const known = attempt === 0 ? this.loads.knownState(p.tenantId, id) : undefined;
      const row = known ?? (await this.loads.loadFast(p.tenantId, id));
      let access: OpportunityAccess;
      try {
        access = mayAct(p, row);
      } catch (error) {
        if (known) continue; // denied on what this instance knew: ask the database
        throw error;
      }
      // The caller's expectation is checked on the row the decision (and so the move's
      // compare-and-set on its rev) uses; on what this instance knew, a mismatch may only
      // mean the entry is stale: read it again before answering STALE_STATE.
      if (!matches(row, expected)) {
        if (known) continue;
        throw stale(row);
      }
      const def = await this.processes.definition(db, row.processId, row.processVersion);
      const state = stateOf(row);
      const catalog = action.type === 'lose' ? await this.fields.catalog(db, p.tenantId) : undefined;
      const decided = decidable(p, action, catalog, 'body.reason');
      const outcome = decide(def, state, decided);
      // Only a move is decided on what this instance knew (its write checks the rev);
      // anything else is decided again on a fresh read.
      if (known && !(outcome.ok && outcome.kind === 'moved')) continue;
      if (!outcome.ok) throw await this.refusal(db, outcome, def, row);
      const now = this.ctx.clock.now();
      if (outcome.kind === 'approvalRequested') {
        if (!access.manager) throw noApprover();
        const approvalId = this.ctx.ids('apr');
        // Only while the opportunity is as read; the one-pending index refuses a twin.
        const inserted = await db
          .execute(sql`insert into approvals (id, tenant_id, opportunity_id, stage_id, stage_entry, action, requested_by, approver_id, state, values, requested_at)
            select ${approvalId}, ${p.tenantId}, ${row.id}, ${row.stageId}, ${row.stageEntry}, ${outcome.action}, ${p.userId}, ${access.manager}, 'pending',
                   ${JSON.stringify(state.values)}::jsonb, ${now.toISOString()}::timestamptz
            where exists (select 1 from opportunities where id = ${row.id} and rev = ${row.rev})
            on conflict do nothing returning id`)
          .then((r) => rowsOf(r).length);
        this.loads.forget(p.tenantId, id);
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
      const moved = await this.moves.apply(db, p, row, def, state, outcome.action, outcome.next, now, {
        // Reopened, it is no longer lost for a reason.
        lostReason: action.type === 'lose' ? (action.reason ?? null) : action.type === 'reopen' ? null : undefined,
        comment,
      });
      if (!moved) {
        this.loads.forget(p.tenantId, id); // changed since: read it again
        continue;
      }
      this.loads.remember(moved.row);
      await this.emit((e) => e.transition?.(moved.transition));
      await this.emit((e) => e.changed(p.tenantId, id, row.processId));
      return { status: 200, body: await this.view(db, moved.row, def), etag: etagOf(moved.row.rev) };
    }
    throw new ApiError('CONFLICT', [
      { message: { zh: '商机正被频繁修改，请重试', en: 'The opportunity kept changing; try again' } },
    ]);
  }

  /**
   * `POST /opportunities/commands` (commands.ts): each command decided as `command` decides
   * it, answered per item in order, written in one transaction.
   */
  commands(p: Principal, commands: readonly OpportunityCommand[]): Promise<CommandResult[]> {
    return this.batch.run(p, commands);
  }

  /**
   * `GET /opportunities/stream` (feed.ts): `push` hears of each change to an opportunity `p`
   * may read (of `processId`, which must exist, or of every process) once this resolves;
   * answers the function that stops it.
   */
  async follow(p: Principal, processId: string | undefined, push: (message: FeedMessage) => void) {
    if (processId !== undefined) await this.processes.row(this.ctx.database.db, p.tenantId, processId);
    return this.feed.follow(p, processId, push);
  }

  /** `PATCH /opportunities/{id}` (records.ts): the view after, with its entity tag. */
  async edit(p: Principal, id: string, input: z.infer<typeof editOpportunitySchema>, expected?: Expected) {
    await this.records.edit(p, id, input, expected);
    return this.getTagged(p, id);
  }

  /** `POST /opportunities/reassign` (records.ts): one answer per opportunity. */
  reassign(p: Principal, input: z.infer<typeof reassignSchema>) {
    return this.records.reassign(p, input);
  }

  /**
   * `GET /opportunities/{id}/change-process`: what `POST` with the same `processId` and
   * `stageId` would do, refused exactly as it would be; writes nothing.
   */
  async previewChangeProcess(p: Principal, id: string, processId: string, stageId?: string) {
    const { db } = this.ctx.database;
    const row = await this.loads.loadFast(p.tenantId, id);
    mayAct(p, row);
    const plan = await this.planChange(db, p, row, processId, stageId);
    const catalog = await this.fields.catalog(db, p.tenantId);
    const landingId = plan.landing.stageId;
    const base = stateOf(row);
    // As it would stand there: a new stage entry (no approval), the values kept under that stage id.
    const state = {
      ...base,
      status: 'open' as const,
      phase: 'presale' as const,
      stageId: landingId,
      approval: null,
      values: { ...base.values, stage: (landingId && row.stageValues[landingId]) || {} },
    };
    const labelOf = (source: string, key: string) => fieldLabel(plan.def, catalog, landingId, source, key);
    return {
      processId: plan.process.id,
      processName: plan.process.name,
      version: plan.process.currentVersion,
      landing: plan.landing,
      stages: plan.def.presale.map((s) => ({ id: s.id, name: s.name })),
      gates: evaluateGates(plan.def, state).map((g) => ({
        ...g,
        message: gateDetail(g, plan.def, landingId, labelOf).message,
      })),
    };
  }

  /**
   * Where changing process takes an open pre-sale opportunity, or the refusal (the POST and
   * its preview alike, in this order): closed or post-sale (422 INVALID_TRANSITION), the
   * same process (422), no such process (404), disabled (422 PROCESS_DISABLED), outside the
   * owner's department (422 PROCESS_NOT_APPLICABLE), field conditions unmet for the
   * customer's and the opportunity's values (422 PROCESS_NOT_APPLICABLE naming them), a
   * `stageId` that is not a pre-sale stage of the target's current version (422
   * INVALID_TRANSITION). Lands at `stageId` (`chosen`), else at the stage with the id it is
   * in now if the target has one (`sameId`), else at the target's first stage (`first`).
   */
  private async planChange(q: Q, p: Principal, row: Loaded, processId: string, stageId?: string) {
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
    const process = await this.processes.row(q, p.tenantId, processId);
    await this.checkUsable(q, p.tenantId, process, row.departmentId);
    const def = await this.processes.definition(q, process.id, process.currentVersion);
    await this.checkConditions(q, p.tenantId, def, { customer: row.customerFields, opportunity: row.fields });
    let landing: { stageId: string | null; reason: 'chosen' | 'sameId' | 'first' };
    if (stageId !== undefined) {
      if (!def.presale.some((s) => s.id === stageId))
        throw new ApiError('INVALID_TRANSITION', [
          {
            stageId,
            message: {
              zh: `目标销售流程没有售前阶段 ${stageId}`,
              en: `The target process has no pre-sale stage ${stageId}`,
            },
          },
        ]);
      landing = { stageId, reason: 'chosen' };
    } else if (row.stageId && def.presale.some((s) => s.id === row.stageId))
      landing = { stageId: row.stageId, reason: 'sameId' };
    else landing = { stageId: initialState(def).stageId, reason: 'first' };
    const index = def.presale.findIndex((s) => s.id === landing.stageId);
    return {
      process,
      def,
      index: Math.max(index, 0),
      landing: {
        stageId: landing.stageId,
        stageName: index >= 0 ? def.presale[index]!.name : null,
        reason: landing.reason,
      },
    };
  }

  /**
   * `POST /opportunities/{id}/change-process`: onto the target's current version, at the
   * stage `planChange` lands it on (a new stage entry: a pending approval is cancelled; its
   * stage values stay, under their stage ids). Recorded in the stage history
   * (`action: "change-process"`, the comment naming the process it leaves).
   */
  async changeProcess(p: Principal, id: string, processId: string, expected?: Expected, stageId?: string) {
    const { db } = this.ctx.database;
    let before: Sight | undefined;
    await db.transaction(async (tx) => {
      const row = await this.loads.lock(tx, p.tenantId, id);
      before = row;
      mayAct(p, row);
      expect(row, expected);
      const { process, landing, index } = await this.planChange(tx, p, row, processId, stageId);
      const from = await this.processes.row(tx, p.tenantId, row.processId);
      const now = this.ctx.clock.now();
      await tx
        .update(opportunities)
        .set({
          rev: sql`${opportunities.rev} + 1`,
          processId,
          processVersion: process.currentVersion,
          status: 'open',
          phase: 'presale',
          stageId: landing.stageId,
          stageEnteredAt: now,
          stageEntry: sql`${opportunities.stageEntry} + 1`,
          maxStageIndex: index,
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
        toStageId: landing.stageId,
        fromStatus: row.status,
        toStatus: 'open',
        action: 'change-process',
        actorId: p.userId,
        at: now,
        daysSpent: (now.getTime() - row.stageEnteredAt.getTime()) / DAY,
        comment: `from ${from.name} (${row.processId})`,
      });
    });
    this.loads.forget(p.tenantId, id);
    await this.emit((e) => e.changed(p.tenantId, id, processId, before));
    return this.get(p, id);
  }

  async createOrder(p: Principal, id: string, amount: number, expected?: Expected) {
    const { db } = this.ctx.database;
    const order = await db.transaction(async (tx) => {
      const row = await this.loads.lock(tx, p.tenantId, id);
      mayAct(p, row);
      expect(row, expected);
      const def = await this.processes.definition(tx, row.processId, row.processVersion);
      const outcome = decide(def, stateOf(row), { type: 'createOrder' });
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
    this.loads.forget(p.tenantId, id);
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
    let before: Sight | undefined;
    await db.transaction(async (tx) => {
      const row = await this.loads.lock(tx, p.tenantId, id);
      before = row;
      const access = opportunityAccess(p, row);
      if (!access.presale) throw new ApiError('FORBIDDEN');
      expect(row, expected);
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
    this.loads.forget(p.tenantId, id);
    await this.emit((e) => e.changed(p.tenantId, id, before?.processId, before));
    return this.get(p, id);
  }

  /** A core refusal as an ApiError, naming required fields by their labels. */
  private async refusal(q: Q, refusal: Refusal, def: ProcessDefinition, row: Row): Promise<ApiError> {
    return refusalError(refusal, def, await this.fields.catalog(q, row.tenantId), row.stageId);
  }

  // ---- approvals (approvals.ts) ---------------------------------------------------------

  listApprovals(p: Principal, state?: string) {
    return this.approvals.list(p, state);
  }

  decideApproval(p: Principal, approvalId: string, decision: 'approve' | 'reject', comment: string) {
    return this.approvals.decide(p, approvalId, decision, comment);
  }
}

/** A row of `opportunity_changes` as the history shows it. */
function changeItem({ tenantId: _t, ...c }: typeof opportunityChanges.$inferSelect) {
  return { kind: 'change' as const, ...c, at: c.at.toISOString() };
}
