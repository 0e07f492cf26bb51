import { decide, stageById, type OpportunityView } from '@sales-process/core';
import { and, desc, eq, or, type SQL } from 'drizzle-orm';
import { approvals, opportunities, users } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import { refusalError } from './form.js';
import { stateOf } from './loads.js';
import type { CommandPorts } from './commands.js';
import type { Transition } from './moves.js';

/** What approvals use of the opportunity service: what the batch uses, and the user's view. */
export interface ApprovalPorts extends CommandPorts {
  /** The opportunity as the user sees it. */
  get(p: Principal, id: string): Promise<OpportunityView>;
}

/**
 * Approvals: a stage (or a win) that needs the owner's supervisor waits as a pending
 * approval (requested by `OpportunityService.command`); the supervisor approves, which
 * moves it on the row as it is then, or rejects.
 */
export class Approvals {
  constructor(private readonly o: ApprovalPorts) {}

  async list(p: Principal, state?: string) {
    const { db } = this.o.ctx.database;
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
      const def = await this.o.processes.definition(db, r.processId, r.processVersion);
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

  async decide(p: Principal, approvalId: string, decision: 'approve' | 'reject', comment: string) {
    const { db } = this.o.ctx.database;
    let transition: Transition | null = null;
    const [found] = await db
      .select()
      .from(approvals)
      .where(and(eq(approvals.tenantId, p.tenantId), eq(approvals.id, approvalId)));
    if (!found) throw notFound('approval');
    await this.o.beforeCommand(found.opportunityId);
    let oppName = '';
    await db.transaction(async (tx) => {
      const locked = await this.o.loads.lock(tx, p.tenantId, found.opportunityId);
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
      const now = this.o.ctx.clock.now();
      await tx
        .update(approvals)
        .set({ state: decision === 'approve' ? 'approved' : 'rejected', comment, decidedAt: now })
        .where(eq(approvals.id, approvalId));
      if (decision === 'reject') return;
      // Approval completes the stage (or wins): decide again with the approval granted, on
      // the row as it is now (deciding the approval bumped its rev).
      const row = await this.o.loads.lock(tx, p.tenantId, found.opportunityId);
      const def = await this.o.processes.definition(tx, row.processId, row.processVersion);
      const state = { ...stateOf(row), approval: { state: 'approved' as const, action: a!.action } };
      const outcome = decide(def, state, a!.action === 'win' ? { type: 'win' } : { type: 'completeStage' });
      if (!outcome.ok) throw refusalError(outcome, def, await this.o.fields.catalog(tx, row.tenantId), row.stageId);
      if (outcome.kind !== 'moved') throw new Error('approval did not move');
      const moved = await this.o.moves.apply(tx, p, row, def, state, outcome.action, outcome.next, now, { comment });
      if (!moved) throw new Error('a locked opportunity changed');
      transition = moved.transition;
    });
    if (transition) await this.o.emit((e) => e.transition?.(transition!));
    await this.o.emit((e) =>
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
    this.o.loads.forget(p.tenantId, found.opportunityId);
    await this.o.emit((e) => e.changed(p.tenantId, found.opportunityId));
    return {
      approval: (await this.list(p)).items.find((x) => x.id === approvalId),
      opportunity: await this.o.get(p, found.opportunityId),
    };
  }
}
