import {
  decide,
  LOST_REASON_KEY,
  offeredOptions,
  type Action,
  type FieldCatalog,
  type OpportunityCommand,
} from '@sales-process/core';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { rowsOf } from '../db/open.js';
import { approvals, opportunities } from '../db/schema.js';
import type { FieldService } from '../directory/fields.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import type { ProcessService } from '../processes/service.js';
import { mayAct, opportunityAccess, type OpportunityAccess } from './access.js';
import { refusalError } from './form.js';
import { stateOf, type Loaded, type OpportunityLoads } from './loads.js';
import { writeMoves, type MoveRow, type MoveWriter, type PlannedMove } from './moves.js';
import { matches, stale } from './preconditions.js';
import type { OpportunityEvents } from './service.js';

/**
 * `POST /opportunities/commands`: up to 500 stage commands, each decided exactly as its
 * single endpoint decides it (`OpportunityService.command`: access, `expectedStageId`,
 * the lost reason, core's `decide`, an approval request needing a supervisor) and answered
 * per item, in one transaction written in a fixed number of statements whatever the
 * batch's size: the batch's rows locked in id order (two batches over the same
 * opportunities queue instead of deadlocking), read with everything the rules need, the
 * moves with their history, cancelled approvals, webhook outbox rows and post-sale staff
 * in one statement (moves.ts `writeMoves`), the approval requests in one. A refused or
 * stale item writes nothing and holds back nothing else. After commit each change is told
 * to listeners as a single command's is.
 */

/** What the batch uses of the opportunity service. */
export interface CommandPorts {
  ctx: ServerContext;
  processes: ProcessService;
  fields: FieldService;
  loads: OpportunityLoads;
  moves: MoveWriter;
  /** The live layer flushes co-filled form values before a decision reads them. */
  beforeCommand(opportunityId: string): Promise<void>;
  emit(fn: (e: OpportunityEvents) => unknown): Promise<void>;
}

/** One command's answer. `status`, `phase`, `stageId` and `rev` are the opportunity's after it, for those who may read it. */
export interface CommandResult {
  opportunityId: string;
  result: 'moved' | 'approvalRequested' | 'refused' | 'stale';
  status?: string;
  phase?: string;
  stageId?: string | null;
  rev?: number;
  error?: ApiError;
}

/** A batch's command as the single endpoint's route hands it to the service. */
export function actionOf(c: OpportunityCommand): Action {
  switch (c.type) {
    case 'completeStage':
      return { type: 'completeStage', toStageId: c.toStageId };
    case 'moveBack':
      return { type: 'moveBack', stageId: c.stageId! };
    case 'lose':
      return { type: 'lose', reason: c.reason ?? null };
    case 'reopen':
      return { type: 'reopen', stageId: c.stageId! };
    default:
      return { type: c.type };
  }
}

/**
 * The action as core decides it, for one user: a lost reason must be one offered now
 * (400 at `reasonPath` otherwise; the field says whether one is required), a reopen
 * knows whether its user is an admin.
 */
export function decidable(
  p: Principal,
  action: Action,
  /** The tenant's fields (only a lose reads them). */
  catalog: FieldCatalog | undefined,
  reasonPath: string,
): Action {
  if (action.type === 'lose') {
    const lost = catalog?.opportunity.find((f) => f.key === LOST_REASON_KEY);
    // The reasons offered now (field management): an archived one is not.
    if (action.reason && lost?.options && !offeredOptions(lost.options)!.some((o) => o.value === action.reason))
      throw new ApiError('VALIDATION_FAILED', [
        { path: reasonPath, message: { zh: '不是可选的输单原因', en: 'Not one of the lost reasons' } },
      ]);
    return { ...action, reasonRequired: !!lost?.required };
  }
  if (action.type === 'reopen') return { ...action, admin: p.roles.has('admin') };
  return action;
}

/** 422 INVALID_TRANSITION: an approval is needed and the owner has nobody to give it. */
export const noApprover = () =>
  new ApiError('INVALID_TRANSITION', [
    {
      gate: 'approval',
      message: { zh: '负责人没有直属上级，无法提交确认', en: 'The owner has no supervisor to approve' },
    },
  ]);

/** PostgreSQL's deadlock (40P01) or serialization failure (40001), which a retry resolves. */
function retryable(error: unknown): boolean {
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
  }
  return false;
}

/** Runs `fn` on each item, at most `width` at once. */
async function eachLimited<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface Requested {
  row: Loaded;
  approvalId: string;
  approverId: string;
  action: 'complete' | 'win';
}

export class CommandBatch {
  constructor(private readonly o: CommandPorts) {}

  async run(p: Principal, commands: readonly OpportunityCommand[]): Promise<CommandResult[]> {
    // As each single command does, co-filled form values are written first.
    await eachLimited(commands, 16, (c) => this.o.beforeCommand(c.opportunityId));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(p, commands);
      } catch (error) {
        // Nothing was written: a deadlock with some other writer is simply tried again.
        if (attempt < 3 && retryable(error)) continue;
        throw error;
      }
    }
  }

  private async attempt(p: Principal, commands: readonly OpportunityCommand[]): Promise<CommandResult[]> {
    const { db } = this.o.ctx.database;
    const ids = commands.map((c) => c.opportunityId);
    const catalog = await this.o.fields.catalog(db, p.tenantId);
    const moved: PlannedMove[] = [];
    const requested: Requested[] = [];
    const results = await db.transaction(async (tx) => {
      // Locked first, in one order every batch and every move statement uses (byte order of
      // the id), then read: a read that waited for a lock sees what the other committed.
      await tx
        .select({ id: opportunities.id })
        .from(opportunities)
        .where(and(eq(opportunities.tenantId, p.tenantId), inArray(opportunities.id, ids)))
        .orderBy(sql`${opportunities.id} collate "C"`)
        .for('update');
      const rows = new Map((await this.o.loads.many(tx, p.tenantId, ids)).map((r) => [r.id, r]));
      const now = this.o.ctx.clock.now();
      const members = new Map<string, Promise<string[]>>();
      const out: CommandResult[] = [];
      for (const [i, c] of commands.entries()) {
        const row = rows.get(c.opportunityId);
        if (!row) {
          out.push({ opportunityId: c.opportunityId, result: 'refused', error: notFound('opportunity') });
          continue;
        }
        const seen = (): Omit<CommandResult, 'opportunityId' | 'result'> =>
          opportunityAccess(p, row).read
            ? { status: row.status, phase: row.phase, stageId: row.stageId, rev: row.rev }
            : {};
        const refuse = (error: ApiError, result: 'refused' | 'stale' = 'refused') =>
          out.push({ opportunityId: row.id, result, ...seen(), error });
        let access: OpportunityAccess;
        let action: Action;
        try {
          access = mayAct(p, row);
          if (!matches(row, { stageId: c.expectedStageId })) {
            refuse(stale(row), 'stale');
            continue;
          }
          action = decidable(p, actionOf(c), catalog, `body.commands.${i}.reason`);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          refuse(error);
          continue;
        }
        const def = await this.o.processes.definition(tx, row.processId, row.processVersion);
        const state = stateOf(row);
        const outcome = decide(def, state, action);
        if (!outcome.ok) refuse(refusalError(outcome, def, catalog, row.stageId));
        else if (outcome.kind === 'approvalRequested') {
          if (!access.manager) refuse(noApprover());
          else {
            requested.push({
              row,
              approvalId: this.o.ctx.ids('apr'),
              approverId: access.manager,
              action: outcome.action,
            });
            out.push({ opportunityId: row.id, result: 'approvalRequested', ...seen() });
          }
        } else if (outcome.kind === 'moved') {
          const planned = await this.o.moves.plan(
            tx,
            p,
            row,
            def,
            state,
            outcome.action,
            outcome.next,
            now,
            {
              // Reopened, it is no longer lost for a reason.
              lostReason:
                action.type === 'lose' ? (action.reason ?? null) : action.type === 'reopen' ? null : undefined,
              comment: c.comment,
            },
            members,
          );
          moved.push(planned);
          const { after } = planned;
          out.push({
            opportunityId: row.id,
            result: 'moved',
            status: after.status,
            phase: after.phase,
            stageId: after.stageId,
            rev: after.rev,
          });
        } else throw new Error('unexpected outcome');
      }
      if (moved.length) {
        const written = await writeMoves(
          (s) => tx.execute(s).then(rowsOf<MoveRow>),
          moved.map((m) => m.record),
        );
        // The rows are locked: each move is written, or the whole batch is wrong.
        if (written.some((w) => !w.moved)) throw new Error('a locked opportunity changed');
        written.forEach((w, i) => (moved[i]!.transition.webhook = w.hooked));
      }
      if (requested.length) {
        const inserted = await tx
          .insert(approvals)
          .values(
            requested.map((r) => ({
              id: r.approvalId,
              tenantId: p.tenantId,
              opportunityId: r.row.id,
              stageId: r.row.stageId!,
              stageEntry: r.row.stageEntry,
              action: r.action,
              requestedBy: p.userId,
              approverId: r.approverId,
              state: 'pending' as const,
              values: { ...stateOf(r.row).values },
              requestedAt: now,
            })),
          )
          .onConflictDoNothing()
          .returning({ opportunityId: approvals.opportunityId });
        // The rows are locked and had none pending: each request is written.
        if (inserted.length !== requested.length) throw new Error('a locked opportunity changed');
        // Requesting an approval bumps the opportunity's rev (drizzle/0005): answered as it is now.
        const revs = new Map(
          (
            await tx
              .select({ id: opportunities.id, rev: opportunities.rev })
              .from(opportunities)
              .where(
                and(
                  eq(opportunities.tenantId, p.tenantId),
                  inArray(
                    opportunities.id,
                    requested.map((r) => r.row.id),
                  ),
                ),
              )
          ).map((r) => [r.id, r.rev]),
        );
        for (const item of out)
          if (item.result === 'approvalRequested' && item.rev !== undefined) item.rev = revs.get(item.opportunityId);
      }
      return out;
    });
    for (const m of moved) this.o.loads.remember(m.after);
    for (const r of requested) this.o.loads.forget(p.tenantId, r.row.id);
    // Listeners hear each change as they hear a single command's (live docs, notifications,
    // rollups, the webhook's worker), a few at a time.
    await eachLimited(moved, 16, async (m) => {
      await this.o.emit((e) => e.transition?.(m.transition));
      await this.o.emit((e) => e.changed(p.tenantId, m.after.id, m.after.processId));
    });
    await eachLimited(requested, 16, async (r) => {
      await this.o.emit((e) =>
        e.approval?.({
          tenantId: p.tenantId,
          approvalId: r.approvalId,
          opportunityId: r.row.id,
          opportunityName: r.row.name,
          stageId: r.row.stageId!,
          approverId: r.approverId,
          requestedBy: p.userId,
          state: 'pending',
        }),
      );
      await this.o.emit((e) => e.changed(p.tenantId, r.row.id, r.row.processId));
    });
    return results;
  }
}
