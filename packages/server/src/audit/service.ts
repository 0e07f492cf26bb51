/**
 * The configuration audit trail: every admin change (processes, fields, webhooks, tenant
 * settings, directory syncs, currency rates) as one row with its actor, time and a compact
 * diff. Services record inside the transaction that makes the change, so a change and its
 * row land together or not at all.
 */
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import type { Db, Tx } from '../db/open.js';
import { auditLog, users } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError } from '../http/errors.js';

type Q = Db | Tx;

export interface AuditEntry {
  /** `process.publish`, `field.update`, `webhook.update`, `directory.sync`, … */
  action: string;
  targetType: string;
  targetId?: string | null;
  /** `diffOf(before, after)`, or a summary for bulk actions. */
  diff?: Record<string, unknown>;
}

/** Keys whose values differ, as `{key: [before, after]}`; secrets show only that they changed. */
export function diffOf(
  before: Record<string, unknown> | null | undefined,
  after: Record<string, unknown> | null | undefined,
  secret: readonly string[] = [],
): Record<string, [unknown, unknown]> {
  const out: Record<string, [unknown, unknown]> = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of keys) {
    const a = before?.[key];
    const b = after?.[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    out[key] = secret.includes(key) ? ['…', '…'] : [a ?? null, b ?? null];
  }
  return out;
}

const PAGE = 50;

export class AuditLog {
  constructor(private readonly ctx: ServerContext) {}

  /** Records one change, in `q` (the transaction that makes it). */
  async record(q: Q, p: Principal | null, entry: AuditEntry, tenantId = p?.tenantId): Promise<void> {
    if (!tenantId) throw new Error('audit entry without a tenant');
    await q.insert(auditLog).values({
      tenantId,
      at: this.ctx.clock.now(),
      actorId: p?.userId ?? null,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      diff: entry.diff ?? {},
    });
  }

  /**
   * Newest first, 50 a page; `cursor` is the previous page's `nextCursor`. Each entry names
   * its actor as the directory knows them (`actorName`, null when not synced or a system change).
   */
  async list(p: Principal, query: { cursor?: string; targetType?: string; targetId?: string }) {
    const where: SQL[] = [eq(auditLog.tenantId, p.tenantId)];
    if (query.targetType) where.push(eq(auditLog.targetType, query.targetType));
    if (query.targetId) where.push(eq(auditLog.targetId, query.targetId));
    if (query.cursor) {
      if (!/^[1-9][0-9]{0,15}$/.test(query.cursor))
        throw new ApiError('VALIDATION_FAILED', [
          { path: 'query.cursor', message: { zh: '游标无效', en: 'The cursor is not valid' } },
        ]);
      where.push(lt(auditLog.id, Number(query.cursor)));
    }
    const rows = await this.ctx.database.db
      .select({
        id: auditLog.id,
        at: auditLog.at,
        actorId: auditLog.actorId,
        actorName: users.name,
        action: auditLog.action,
        targetType: auditLog.targetType,
        targetId: auditLog.targetId,
        diff: auditLog.diff,
      })
      .from(auditLog)
      .leftJoin(users, and(eq(users.tenantId, auditLog.tenantId), eq(users.id, auditLog.actorId)))
      .where(and(...where))
      .orderBy(desc(auditLog.id))
      .limit(PAGE + 1);
    const page = rows.slice(0, PAGE);
    return {
      items: page.map((r) => ({
        id: String(r.id),
        at: r.at.toISOString(),
        actorId: r.actorId,
        actorName: r.actorName,
        action: r.action,
        targetType: r.targetType,
        targetId: r.targetId,
        diff: r.diff,
      })),
      nextCursor: rows.length > PAGE ? String(page[page.length - 1]!.id) : null,
    };
  }
}
