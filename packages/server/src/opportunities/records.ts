import type { editOpportunitySchema, reassignSchema } from '@sales-process/core';
import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import { approvals, opportunities, opportunityChanges, users } from '../db/schema.js';
import { requireRatedCurrency } from '../directory/currencies.js';
import type { CustomerService } from '../directory/customers.js';
import type { DirectoryService } from '../directory/directory.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import { canSell, opportunityAccess } from './access.js';
import type { OpportunityLoads } from './loads.js';
import { etagOf, expect, type Expected } from './preconditions.js';
import type { OpportunityEvents, Sight } from './service.js';

/**
 * The opportunity as a record, beside its stage moves: editing its own values (name,
 * amount, currency, expected close date, custom fields) and giving it to another owner.
 * Each change bumps `rev` (If-Match, the known-state cache, the live doc follow it), is
 * told to listeners as a command's change is, and is kept in `opportunity_changes`, which
 * the history shows beside the moves. The funnel's rollups follow by their triggers. An
 * amount is in a currency the tenant can convert (directory/currencies.ts).
 */

export type Changes = Record<string, [unknown, unknown]>;

/** What records use of the opportunity service. */
export interface RecordPorts {
  ctx: ServerContext;
  directory: DirectoryService;
  customers: CustomerService;
  loads: OpportunityLoads;
  /** The live layer flushes co-filled form values first (an edit then wins over them). */
  beforeCommand(opportunityId: string): Promise<void>;
  emit(fn: (e: OpportunityEvents) => unknown): Promise<void>;
}

/** One opportunity's answer in a reassignment. */
export type ReassignResult =
  | { opportunityId: string; result: 'moved'; ownerId: string; departmentId: string | null; etag: string }
  | { opportunityId: string; result: 'refused'; error: ApiError };

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * A list in parts of at most 1,000: a departing salesperson may have many thousands of open
 * opportunities, more than one statement's parameters (65,535) hold.
 */
const inParts = <T>(items: readonly T[], size = 1000): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

export class Records {
  constructor(private readonly o: RecordPorts) {}

  /**
   * `PATCH /opportunities/{id}`: by its owner, the owner's supervisor and admins, in any
   * status; custom fields checked against their definitions (and the records they name)
   * as on creation. Nothing that differs: nothing written, no change recorded.
   */
  async edit(p: Principal, id: string, input: z.infer<typeof editOpportunitySchema>, expected?: Expected) {
    const { db } = this.o.ctx.database;
    await this.o.beforeCommand(id);
    const written = await db.transaction(async (tx) => {
      const row = await this.o.loads.lock(tx, p.tenantId, id);
      if (!opportunityAccess(p, row).presale || !canSell(p))
        throw new ApiError('FORBIDDEN', [
          {
            message: {
              zh: '只有负责人、其直属上级或管理员可以修改商机',
              en: 'Only the owner, their supervisor or an admin may edit this opportunity',
            },
          },
        ]);
      // The body first (400), then whether it is still as the caller saw it (409).
      const fields = input.fields
        ? await this.o.customers.checkValues(tx, p, 'opportunity', input.fields, 'body.fields', row.fields)
        : {};
      // A new amount or currency must convert into the base currency; an amount left alone
      // keeps the currency it has, rate or none.
      const currency = input.currency ?? row.currency;
      if (!same(currency, row.currency) || (input.amount !== undefined && !same(input.amount, row.amount)))
        await requireRatedCurrency(tx, p.tenantId, currency);
      expect(row, expected);
      const changes: Changes = {};
      const note = (key: string, before: unknown, after: unknown) => {
        if (after !== undefined && !same(before, after)) changes[key] = [before ?? null, after ?? null];
      };
      note('name', row.name, input.name);
      note('amount', row.amount, input.amount);
      note('currency', row.currency, input.currency);
      note('expectedCloseDate', row.expectedCloseDate, input.expectedCloseDate);
      for (const [key, value] of Object.entries(fields)) note(`fields.${key}`, row.fields[key], value);
      if (!Object.keys(changes).length) return null;
      const now = this.o.ctx.clock.now();
      await tx
        .update(opportunities)
        .set({
          rev: sql`${opportunities.rev} + 1`,
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.amount !== undefined ? { amount: input.amount } : {}),
          ...(input.currency !== undefined ? { currency: input.currency } : {}),
          ...(input.expectedCloseDate !== undefined ? { expectedCloseDate: input.expectedCloseDate } : {}),
          ...(input.fields ? { fields: { ...row.fields, ...fields } } : {}),
          updatedAt: now,
        })
        .where(eq(opportunities.id, row.id));
      await tx.insert(opportunityChanges).values({
        tenantId: p.tenantId,
        opportunityId: row.id,
        action: 'edit',
        actorId: p.userId,
        at: now,
        changes,
        reason: input.reason ?? null,
      });
      return { processId: row.processId };
    });
    this.o.loads.forget(p.tenantId, id);
    if (written) await this.o.emit((e) => e.changed(p.tenantId, id, written.processId));
  }

  /**
   * `POST /opportunities/reassign`: each named opportunity (or every open one of
   * `fromOwnerId`, post-sale ones still moving included) to `toOwnerId`, whose department
   * it takes, as on creation. Admins and the current owner's direct supervisor may; a
   * closed one keeps its owner. A pending approval its new owner's supervisor would not
   * decide is cancelled. Answered per opportunity; 403 when the caller may move none.
   */
  async reassign(p: Principal, input: z.infer<typeof reassignSchema>): Promise<ReassignResult[]> {
    const { db } = this.o.ctx.database;
    const admin = p.roles.has('admin');
    if (!canSell(p))
      throw new ApiError('FORBIDDEN', [
        {
          message: {
            zh: '只有管理员和负责人的直属上级可以转移商机',
            en: "Only admins and the owner's direct supervisor may reassign opportunities",
          },
        },
      ]);
    const to = await this.o.directory.user(db, p.tenantId, input.toOwnerId);
    if (!to)
      throw new ApiError('VALIDATION_FAILED', [
        {
          path: 'body.toOwnerId',
          message: { zh: '新负责人不在通讯录中', en: 'The new owner is not in the directory' },
        },
      ]);
    let ids: string[];
    if (input.fromOwnerId !== undefined) {
      if (input.fromOwnerId === input.toOwnerId)
        throw new ApiError('VALIDATION_FAILED', [
          {
            path: 'body.toOwnerId',
            message: { zh: '新负责人与原负责人相同', en: 'The new owner is the one they have' },
          },
        ]);
      if (!admin && (await this.o.directory.user(db, p.tenantId, input.fromOwnerId))?.managerId !== p.userId)
        throw new ApiError('FORBIDDEN', [
          {
            fromOwnerId: input.fromOwnerId,
            message: {
              zh: '只能转移直属下级的商机',
              en: 'You may reassign only the opportunities of your direct reports',
            },
          },
        ]);
      ids = (
        await db
          .select({ id: opportunities.id })
          .from(opportunities)
          .where(
            and(
              eq(opportunities.tenantId, p.tenantId),
              eq(opportunities.ownerId, input.fromOwnerId),
              or(eq(opportunities.status, 'open'), eq(opportunities.phase, 'postsale')),
            ),
          )
          .orderBy(asc(opportunities.id))
      ).map((r) => r.id);
    } else ids = input.opportunityIds ?? [];

    const results = new Map<string, ReassignResult>();
    const refuse = (id: string, error: ApiError) => results.set(id, { opportunityId: id, result: 'refused', error });
    const moved: { id: string; processId: string; before: Sight }[] = [];
    if (ids.length)
      await db.transaction(async (tx) => {
        // Locked in id order (ids are in id order when there is more than one part), so two
        // reassignments over the same opportunities cannot deadlock.
        const rows = [];
        for (const part of inParts(ids))
          rows.push(
            ...(await tx
              .select({
                id: opportunities.id,
                ownerId: opportunities.ownerId,
                departmentId: opportunities.departmentId,
                status: opportunities.status,
                phase: opportunities.phase,
                processId: opportunities.processId,
                postsaleStaff: opportunities.postsaleStaff,
                managerId: users.managerId,
              })
              .from(opportunities)
              .leftJoin(users, and(eq(users.tenantId, opportunities.tenantId), eq(users.id, opportunities.ownerId)))
              .where(and(eq(opportunities.tenantId, p.tenantId), inArray(opportunities.id, part)))
              .orderBy(asc(opportunities.id))
              .for('update', { of: opportunities })),
          );
        const byId = new Map(rows.map((r) => [r.id, r]));
        for (const id of ids) {
          const row = byId.get(id);
          if (!row) refuse(id, notFound('opportunity'));
          else if (!admin && opportunityAccess(p, row).manager !== p.userId)
            refuse(
              id,
              new ApiError('FORBIDDEN', [
                {
                  message: {
                    zh: '只有管理员和负责人的直属上级可以转移此商机',
                    en: "Only admins and the owner's direct supervisor may reassign this opportunity",
                  },
                },
              ]),
            );
          else if (row.status !== 'open' && row.phase !== 'postsale')
            refuse(
              id,
              new ApiError('INVALID_TRANSITION', [
                {
                  status: row.status,
                  message: { zh: '已结束的商机保留原负责人', en: 'A closed opportunity keeps its owner' },
                },
              ]),
            );
          else if (row.ownerId === to.id)
            refuse(
              id,
              new ApiError('INVALID_TRANSITION', [
                { ownerId: to.id, message: { zh: '已是该负责人的商机', en: 'The new owner has it already' } },
              ]),
            );
          else
            moved.push({
              id,
              processId: row.processId,
              // Who saw it until now: the stream tells those who no longer do.
              before: {
                processId: row.processId,
                ownerId: row.ownerId,
                managerId: row.managerId,
                postsaleStaff: row.postsaleStaff,
              },
            });
        }
        if (!moved.length) return;
        const movedIds = moved.map((m) => m.id);
        const now = this.o.ctx.clock.now();
        const rev = new Map<string, number>();
        const cancelled = new Set<string>();
        for (const part of inParts(movedIds)) {
          const revs = await tx
            .update(opportunities)
            .set({ ownerId: to.id, departmentId: to.departmentId, updatedAt: now, rev: sql`${opportunities.rev} + 1` })
            .where(and(eq(opportunities.tenantId, p.tenantId), inArray(opportunities.id, part)))
            .returning({ id: opportunities.id, rev: opportunities.rev });
          for (const r of revs) rev.set(r.id, r.rev);
          // The pending approvals of the owner's old supervisor are not the new one's to decide.
          const dropped = await tx
            .update(approvals)
            .set({ state: 'cancelled', decidedAt: now })
            .where(
              and(
                inArray(approvals.opportunityId, part),
                eq(approvals.state, 'pending'),
                sql`${approvals.approverId} is distinct from ${to.managerId}::text`,
              ),
            )
            .returning({ opportunityId: approvals.opportunityId });
          for (const r of dropped) cancelled.add(r.opportunityId);
        }
        const changeRows = movedIds.map((id) => {
          const row = byId.get(id)!;
          const changes: Changes = { ownerId: [row.ownerId, to.id] };
          if (!same(row.departmentId, to.departmentId)) changes.departmentId = [row.departmentId, to.departmentId];
          if (cancelled.has(id)) changes.approval = ['pending', 'cancelled'];
          results.set(id, {
            opportunityId: id,
            result: 'moved',
            ownerId: to.id,
            departmentId: to.departmentId,
            etag: etagOf(rev.get(id)!),
          });
          return {
            tenantId: p.tenantId,
            opportunityId: id,
            action: 'reassign',
            actorId: p.userId,
            at: now,
            changes,
            reason: input.reason ?? null,
          };
        });
        for (const part of inParts(changeRows)) await tx.insert(opportunityChanges).values(part);
      });
    for (const m of moved) {
      this.o.loads.forget(p.tenantId, m.id);
      await this.o.emit((e) => e.changed(p.tenantId, m.id, m.processId, m.before));
    }
    const out = ids.map((id) => results.get(id)!);
    if (out.length && out.every((r) => r.result === 'refused' && r.error.code === 'FORBIDDEN'))
      throw new ApiError(
        'FORBIDDEN',
        out.map((r) => ({
          opportunityId: r.opportunityId,
          message: (r as { error: ApiError }).error.details[0]!.message,
        })),
      );
    return out;
  }
}
