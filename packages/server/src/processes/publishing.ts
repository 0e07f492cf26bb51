import {
  checkPublishable,
  publishImpact,
  stageById,
  type FieldCatalog,
  type ProcessDefinition,
  type ProcessDraft,
  type publishSchema,
} from '@sales-process/core';
import { and, eq, or, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import type { Db, Tx } from '../db/open.js';
import { opportunities, processes, processVersions, stageHistory } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { processSummary, versionChanges } from '../audit/changes.js';
import { diffOf, type AuditLog } from '../audit/service.js';
import { ApiError, notFound } from '../http/errors.js';

type Q = Db | Tx;

/** Opportunities still moving (open pre-sale, or won and in post-sale): publish moves these. */
const live = or(eq(opportunities.status, 'open'), eq(opportunities.phase, 'postsale'));

/** What publishing uses of ProcessService. */
export interface PublishPorts {
  ctx: ServerContext;
  /** A publish is recorded in its transaction; a refused one records nothing. */
  audit: AuditLog;
  row(q: Q, tenantId: string, id: string): Promise<{ currentVersion: number }>;
  definition(q: Q, processId: string, version: number): Promise<ProcessDefinition>;
  catalog(q: Q, tenantId: string): Promise<FieldCatalog>;
  /** The draft, parsed and checked as publishable (or 422). */
  publishableDraft(tenantId: string, id: string): Promise<ProcessDraft>;
  /** Puts the draft back to the current version. */
  resetDraft(tenantId: string, id: string): Promise<void>;
}

/**
 * Publishing a draft: its impact on live opportunities (the preview), and the publish
 * itself, as a new version that moves live opportunities onto it (mapping those in
 * removed stages) or as a new process.
 */
export class Publishing {
  constructor(private readonly s: PublishPorts) {}

  private async impact(
    q: Q,
    tenantId: string,
    id: string,
    before: ProcessDefinition,
    after: ProcessDefinition,
    mapping: Record<string, string>,
  ) {
    const rows = await q
      .select({ stageId: opportunities.stageId, n: sql<number>`count(*)`.mapWith(Number) })
      .from(opportunities)
      .where(and(eq(opportunities.tenantId, tenantId), eq(opportunities.processId, id), live))
      .groupBy(opportunities.stageId);
    return publishImpact(before, after, new Map(rows.map((r) => [r.stageId, r.n])), mapping);
  }

  async preview(p: Principal, id: string, input: z.infer<typeof publishSchema>) {
    const { db } = this.s.ctx.database;
    const row = await this.s.row(db, p.tenantId, id);
    const draft = await this.s.publishableDraft(p.tenantId, id);
    const before = await this.s.definition(db, id, row.currentVersion);
    const catalog = await this.s.catalog(db, p.tenantId);
    const warnings = checkPublishable(draft.definition, catalog, draft.name).filter((x) => x.severity === 'warning');
    if (input.mode === 'new-process')
      return {
        mode: input.mode,
        affected: 0,
        perStage: [],
        unmapped: [],
        changes: (await this.impact(db, p.tenantId, id, before, draft.definition, {})).changes,
        warnings,
        draft,
      };
    const impact = await this.impact(db, p.tenantId, id, before, draft.definition, input.stageMapping);
    return { mode: input.mode, affected: impact.total, ...impact, warnings, draft };
  }

  async publish(p: Principal, id: string, input: z.infer<typeof publishSchema>) {
    const { db } = this.s.ctx.database;
    const draft = await this.s.publishableDraft(p.tenantId, id);
    const now = this.s.ctx.clock.now();
    const result = await db.transaction(async (tx) => {
      // Serialise publishes of one process.
      const [row] = await tx
        .select()
        .from(processes)
        .where(and(eq(processes.tenantId, p.tenantId), eq(processes.id, id)))
        .for('update');
      if (!row) throw notFound('process');
      if (input.mode === 'new-process') {
        const newId = this.s.ctx.ids('proc');
        await tx.insert(processes).values({
          id: newId,
          tenantId: p.tenantId,
          name: draft.name,
          departments: draft.departments,
          status: 'enabled',
          currentVersion: 1,
          derivedFrom: id,
          createdAt: now,
          updatedAt: now,
        });
        await tx.insert(processVersions).values({
          processId: newId,
          version: 1,
          tenantId: p.tenantId,
          name: draft.name,
          definition: draft.definition,
          publishedAt: now,
          publishedBy: p.userId,
        });
        if (input.disableOld)
          await tx.update(processes).set({ status: 'disabled', updatedAt: now }).where(eq(processes.id, id));
        const created = processSummary({ ...draft, status: 'enabled', version: 1 });
        await this.s.audit.record(tx, p, {
          action: 'process.create',
          targetType: 'process',
          targetId: newId,
          diff: { ...diffOf(null, created), derivedFrom: [null, id] },
        });
        await this.s.audit.record(tx, p, {
          action: 'process.publish',
          targetType: 'process',
          targetId: id,
          diff: {
            mode: input.mode,
            processId: newId,
            ...(input.disableOld ? diffOf({ status: row.status }, { status: 'disabled' }) : {}),
          },
        });
        return { processId: newId, version: 1, moved: 0, resetOldDraft: true };
      }
      const before = await this.s.definition(tx, id, row.currentVersion);
      const after = draft.definition;
      const impact = await this.impact(tx, p.tenantId, id, before, after, input.stageMapping);
      if (impact.unmapped.length || impact.badTargets.length)
        throw new ApiError('PUBLISH_MAPPING_REQUIRED', [
          ...impact.unmapped.map((u) => ({
            stageId: u.stageId,
            count: u.count,
            message: {
              zh: `阶段“${u.name}”有 ${u.count} 个商机，需选择目标阶段`,
              en: `${u.count} opportunities sit in removed stage "${u.name}": choose a target`,
            },
          })),
          ...impact.badTargets.map((b) => ({
            stageId: b.from,
            target: b.to,
            message: { zh: `目标阶段 ${b.to} 不存在`, en: `Target stage ${b.to} does not exist in the draft` },
          })),
        ]);
      const version = row.currentVersion + 1;
      await tx.insert(processVersions).values({
        processId: id,
        version,
        tenantId: p.tenantId,
        name: draft.name,
        definition: after,
        publishedAt: now,
        publishedBy: p.userId,
      });
      // The first publish of a process designed from scratch also enables it.
      await tx
        .update(processes)
        .set({
          name: draft.name,
          departments: draft.departments,
          currentVersion: version,
          updatedAt: now,
          ...(row.currentVersion === 0 ? { status: 'enabled' as const } : {}),
        })
        .where(eq(processes.id, id));
      const moved = await this.migrateOpportunities(tx, p, id, before, after, version, input.stageMapping, now);
      // What changed between the versions, compactly; the mapping of the removed stages that held opportunities.
      const removed = impact.perStage.filter((x) => x.removed && x.stageId !== null);
      await this.s.audit.record(tx, p, {
        action: 'process.publish',
        targetType: 'process',
        targetId: id,
        diff: {
          version: [row.currentVersion, version],
          moved,
          ...(removed.length
            ? {
                remapped: removed.reduce((n, x) => n + x.count, 0),
                stageMapping: Object.fromEntries(removed.map((x) => [x.stageId, x.target])),
              }
            : {}),
          ...(row.currentVersion === 0 ? diffOf({ status: row.status }, { status: 'enabled' }) : {}),
          ...versionChanges({ name: row.name, departments: row.departments, definition: before }, draft),
        },
      });
      // Closed opportunities keep the version they were closed on; only the version pointer of live ones moves.
      return { processId: id, version, moved, resetOldDraft: false };
    });
    if (result.resetOldDraft) await this.s.resetDraft(p.tenantId, id);
    return { processId: result.processId, version: result.version, moved: result.moved };
  }

  private async migrateOpportunities(
    tx: Tx,
    p: Principal,
    id: string,
    before: ProcessDefinition,
    after: ProcessDefinition,
    version: number,
    mapping: Record<string, string>,
    now: Date,
  ) {
    const rows = await tx
      .select({
        id: opportunities.id,
        stageId: opportunities.stageId,
        maxStageIndex: opportunities.maxStageIndex,
        stageEnteredAt: opportunities.stageEnteredAt,
        status: opportunities.status,
        processVersion: opportunities.processVersion,
      })
      .from(opportunities)
      .where(and(eq(opportunities.tenantId, p.tenantId), eq(opportunities.processId, id), live))
      .for('update');
    // "Reached" is an index into the version's stages: translate through stage ids.
    const reachedIndex = (oldMax: number, newStage: string | null) => {
      let max = newStage
        ? Math.max(stageById(after, newStage)?.phase === 'presale' ? stageById(after, newStage)!.index : -1, -1)
        : -1;
      before.presale.slice(0, oldMax + 1).forEach((s) => {
        const at = stageById(after, s.id);
        if (at?.phase === 'presale') max = Math.max(max, at.index);
      });
      return Math.max(max, 0);
    };
    for (const o of rows) {
      const removed = o.stageId !== null && !stageById(after, o.stageId);
      const stageId = removed ? mapping[o.stageId!]! : o.stageId;
      await tx
        .update(opportunities)
        .set({
          rev: sql`${opportunities.rev} + 1`,
          processVersion: version,
          stageId,
          maxStageIndex: reachedIndex(o.maxStageIndex, stageId),
          ...(removed ? { stageEnteredAt: now, stageEntry: sql`${opportunities.stageEntry} + 1` } : {}),
          updatedAt: now,
        })
        .where(eq(opportunities.id, o.id));
      if (removed) {
        await tx.insert(stageHistory).values({
          tenantId: p.tenantId,
          opportunityId: o.id,
          processId: id,
          processVersion: version,
          fromStageId: o.stageId,
          toStageId: stageId,
          fromStatus: o.status,
          toStatus: o.status,
          action: 'migrate',
          actorId: p.userId,
          at: now,
          daysSpent: (now.getTime() - o.stageEnteredAt.getTime()) / 86_400_000,
        });
      }
    }
    return rows.length;
  }
}
