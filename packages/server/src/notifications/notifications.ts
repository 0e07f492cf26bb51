import { and, desc, eq, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { notifications } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import type { WebhookService } from './webhooks.js';
import type { OpportunityEvents } from '../opportunities/service.js';

export type NotificationKind = 'reminder' | 'overdue' | 'approval-requested' | 'approval-decided';

export interface NotificationInput {
  tenantId: string;
  userIds: string[];
  kind: NotificationKind;
  opportunityId: string;
  stageId: string | null;
  /** Unique per event: the same event never notifies a user twice. */
  dedupeKey: string;
  payload: Record<string, unknown>;
}

/** Someone connected who wants their notifications live (SSE). */
type Listener = (notification: Record<string, unknown>) => void;

/**
 * Notifications stored per recipient, pushed live to the recipient's open streams (on
 * any instance, through NOTIFY), and handed to the host's webhook through an outbox.
 */
export class NotificationService {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly webhooks: WebhookService,
  ) {}

  async start(): Promise<() => Promise<void>> {
    return this.ctx.database.listen('sp_notification', (payload) => void this.onNotify(payload));
  }

  /** Stores one notification per recipient, once per dedupe key, with its webhook event, in one transaction. */
  async notify(input: NotificationInput): Promise<number> {
    if (!input.userIds.length) return 0;
    const now = this.ctx.clock.now();
    const created = await this.ctx.database.db.transaction(async (tx) => {
      const rows = await tx
        .insert(notifications)
        .values(
          input.userIds.map((userId) => ({
            id: this.ctx.ids('ntf'),
            tenantId: input.tenantId,
            userId,
            kind: input.kind,
            opportunityId: input.opportunityId,
            stageId: input.stageId,
            payload: input.payload,
            dedupeKey: input.dedupeKey,
            createdAt: now,
          })),
        )
        .onConflictDoNothing()
        .returning();
      for (const r of rows)
        await this.webhooks.enqueue(tx, input.tenantId, { type: `notification.${r.kind}`, data: this.view(r) });
      return rows;
    });
    for (const r of created) {
      await this.ctx.database
        .notify('sp_notification', JSON.stringify({ tenantId: r.tenantId, userId: r.userId, id: r.id }))
        .catch(() => {});
    }
    if (created.length) this.webhooks.kick();
    return created.length;
  }

  view(r: typeof notifications.$inferSelect) {
    return {
      id: r.id,
      userId: r.userId,
      kind: r.kind,
      opportunityId: r.opportunityId,
      stageId: r.stageId,
      payload: r.payload,
      createdAt: r.createdAt.toISOString(),
      readAt: r.readAt?.toISOString() ?? null,
    };
  }

  async list(p: Principal, q: { unread?: boolean; cursor?: string; limit: number }) {
    const where: SQL[] = [eq(notifications.tenantId, p.tenantId), eq(notifications.userId, p.userId)];
    if (q.unread) where.push(isNull(notifications.readAt));
    if (q.cursor) {
      const [at, id] = decode(q.cursor);
      where.push(or(lt(notifications.createdAt, at), and(eq(notifications.createdAt, at), lt(notifications.id, id)))!);
    }
    const rows = await this.ctx.database.db
      .select()
      .from(notifications)
      .where(and(...where))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const [unread] = await this.ctx.database.db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(notifications)
      .where(
        and(eq(notifications.tenantId, p.tenantId), eq(notifications.userId, p.userId), isNull(notifications.readAt)),
      );
    const last = page.at(-1);
    return {
      items: page.map((r) => this.view(r)),
      unread: unread?.n ?? 0,
      nextCursor: rows.length > q.limit && last ? encode(last.createdAt, last.id) : null,
    };
  }

  async markRead(p: Principal, id: string) {
    const [row] = await this.ctx.database.db
      .update(notifications)
      .set({ readAt: sql`coalesce(${notifications.readAt}, ${this.ctx.clock.now().toISOString()}::timestamptz)` })
      .where(and(eq(notifications.tenantId, p.tenantId), eq(notifications.userId, p.userId), eq(notifications.id, id)))
      .returning();
    if (!row) throw notFound('notification');
    return this.view(row);
  }

  subscribe(tenantId: string, userId: string, listener: Listener): () => void {
    const key = `${tenantId}/${userId}`;
    const set = this.listeners.get(key) ?? new Set();
    set.add(listener);
    this.listeners.set(key, set);
    return () => {
      set.delete(listener);
      if (!set.size) this.listeners.delete(key);
    };
  }

  private async onNotify(payload: string) {
    let msg: { tenantId: string; userId: string; id: string };
    try {
      msg = JSON.parse(payload);
    } catch {
      return;
    }
    const set = this.listeners.get(`${msg.tenantId}/${msg.userId}`);
    if (!set?.size) return;
    const [row] = await this.ctx.database.db
      .select()
      .from(notifications)
      .where(and(eq(notifications.tenantId, msg.tenantId), eq(notifications.id, msg.id)));
    if (row) for (const l of set) l(this.view(row));
  }

  /** Approval requested and decided: tell the people involved (OpportunityService events). */
  events(): OpportunityEvents {
    return {
      changed: () => {},
      approval: (e) =>
        this.notify({
          tenantId: e.tenantId,
          userIds: [e.state === 'pending' ? e.approverId : e.requestedBy],
          kind: e.state === 'pending' ? 'approval-requested' : 'approval-decided',
          opportunityId: e.opportunityId,
          stageId: e.stageId,
          dedupeKey: `approval:${e.approvalId}:${e.state}`,
          payload: { approvalId: e.approvalId, state: e.state, opportunityName: e.opportunityName },
        }).catch((err) => this.ctx.logger.error({ err }, 'approval notification failed')),
    };
  }
}

function encode(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

function decode(cursor: string): [Date, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const d = new Date(at);
    if (Number.isNaN(d.getTime()) || typeof id !== 'string') throw new Error();
    return [d, id];
  } catch {
    throw new ApiError('VALIDATION_FAILED', [
      { path: 'query.cursor', message: { zh: '游标无效', en: 'The cursor is not valid' } },
    ]);
  }
}
