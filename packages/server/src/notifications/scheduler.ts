import { stageById, type ProcessDefinition } from '@sales-process/core';
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { opportunities } from '../db/schema.js';
import { purgeIdempotencyKeys } from '../http/idempotency.js';
import type { ProcessService } from '../processes/service.js';

const DAY = 86_400_000;

import type { NotificationService } from './notifications.js';

/**
 * Finds opportunities past their stage's reminder or overdue days, once per stage entry,
 * by the injected clock. Idempotent: the notification's unique key is (kind,
 * opportunity, stage entry, recipient), so instances racing on a tick notify once.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly ctx: ServerContext,
    private readonly processes: ProcessService,
    private readonly notifications: NotificationService,
    private readonly intervalMs = 60_000,
  ) {}

  start() {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass; returns how many notifications it created. */
  tick(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<number> {
    const { db } = this.ctx.database;
    const now = this.ctx.clock.now();
    // Idempotency-Key answers older than their TTL go.
    await purgeIdempotencyKeys(this.ctx).catch((err) =>
      this.ctx.logger.error({ err }, 'purging idempotency keys failed'),
    );
    // The versions live opportunities are on, and their thresholds.
    const versions = await db
      .selectDistinct({ processId: opportunities.processId, version: opportunities.processVersion })
      .from(opportunities)
      .where(or(eq(opportunities.status, 'open'), eq(opportunities.phase, 'postsale')));
    const rules: { processId: string; version: number; stageId: string; kind: 'reminder' | 'overdue'; days: number }[] =
      [];
    for (const v of versions) {
      const def: ProcessDefinition = await this.processes.definition(db, v.processId, v.version);
      for (const s of [...def.presale, ...def.postsale]) {
        if (s.remindAfterDays) rules.push({ ...v, stageId: s.id, kind: 'reminder', days: s.remindAfterDays });
        if ('overdueAfterDays' in s && s.overdueAfterDays)
          rules.push({ ...v, stageId: s.id, kind: 'overdue', days: s.overdueAfterDays });
      }
    }
    let created = 0;
    for (const r of rules) {
      const due = await db
        .select({
          id: opportunities.id,
          tenantId: opportunities.tenantId,
          ownerId: opportunities.ownerId,
          staff: opportunities.postsaleStaff,
          phase: opportunities.phase,
          stageEntry: opportunities.stageEntry,
          name: opportunities.name,
          enteredAt: opportunities.stageEnteredAt,
        })
        .from(opportunities)
        .where(
          and(
            eq(opportunities.processId, r.processId),
            eq(opportunities.processVersion, r.version),
            eq(opportunities.stageId, r.stageId),
            or(eq(opportunities.status, 'open'), eq(opportunities.phase, 'postsale')),
            lt(opportunities.stageEnteredAt, new Date(now.getTime() - r.days * DAY + 1)),
            sql`not exists (select 1 from notifications n where n.tenant_id = ${opportunities.tenantId}
                 and n.dedupe_key = ${r.kind} || ':' || ${opportunities.id} || ':' || ${opportunities.stageEntry})`,
          ),
        )
        .limit(1000);
      for (const o of due) {
        const def = await this.processes.definition(db, r.processId, r.version);
        const stage = stageById(def, r.stageId)!;
        // Pre-sale reminders go to the owner; post-sale ones to the staff (the owner if none);
        // overdue notices to the owner and the staff.
        const users =
          r.kind === 'overdue'
            ? [o.ownerId, ...o.staff]
            : o.phase === 'postsale'
              ? o.staff.length
                ? o.staff
                : [o.ownerId]
              : [o.ownerId];
        created += await this.notifications.notify({
          tenantId: o.tenantId,
          userIds: [...new Set(users)],
          kind: r.kind,
          opportunityId: o.id,
          stageId: r.stageId,
          dedupeKey: `${r.kind}:${o.id}:${o.stageEntry}`,
          payload: {
            opportunityName: o.name,
            stageName: stage.stage.name,
            days: r.days,
            phase: stage.phase,
            enteredAt: o.enteredAt.toISOString(),
          },
        });
      }
    }
    return created;
  }
}
