import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { stageById, type ProcessDefinition } from '@sales-process/core';
import { and, asc, desc, eq, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { rowsOf, type Db, type Tx } from '../db/open.js';
import { notifications, opportunities, tenants, webhookAttempts, webhookDeliveries } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { purgeIdempotencyKeys } from '../http/idempotency.js';
import { ApiError, notFound } from '../http/errors.js';
import type { OpportunityEvents } from '../opportunities/service.js';
import type { ProcessService } from '../processes/service.js';
import { checkWebhookUrl, resolveTarget, TargetRefused, type TargetPolicy } from './webhook-target.js';

type Q = Db | Tx;
const DAY = 86_400_000;

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

export interface WebhookOptions {
  /** First retry after this long; doubles each time, up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  /** How long a worker may take to POST before its claim lapses. */
  leaseMs?: number;
  timeoutMs?: number;
  /** Poll for due deliveries this often (0: only when kicked or called). */
  pollMs?: number;
  /**
   * Deliver to loopback, private, link-local and other non-public addresses (default false;
   * `WEBHOOK_ALLOW_PRIVATE=true`): tests and local setups with a receiver on this machine.
   */
  allowPrivate?: boolean;
  /** Accept `http:` URLs besides `https:` (default: as `allowPrivate`; `WEBHOOK_ALLOW_HTTP=true`). */
  allowHttp?: boolean;
}

/**
 * The host webhook: an outbox of events, each POSTed as JSON signed with HMAC-SHA256
 * (`X-SP-Signature: sha256=<hex of "timestamp.body">`), retried with exponential backoff,
 * every attempt recorded. Claimed with FOR UPDATE SKIP LOCKED and a lease, so instances
 * never POST the same delivery at once and a worker that dies mid-POST is retried.
 */
export class WebhookService {
  private readonly opts: Required<WebhookOptions>;
  private readonly policy: TargetPolicy;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly ctx: ServerContext,
    options: WebhookOptions = {},
  ) {
    const allowPrivate = options.allowPrivate ?? false;
    this.opts = {
      baseDelayMs: 1000,
      maxDelayMs: 3_600_000,
      maxAttempts: 15,
      leaseMs: 30_000,
      timeoutMs: 10_000,
      pollMs: 5000,
      ...options,
      allowPrivate,
      allowHttp: options.allowHttp ?? allowPrivate,
    };
    this.policy = { allowPrivate: this.opts.allowPrivate, allowHttp: this.opts.allowHttp };
  }

  start() {
    if (this.opts.pollMs > 0) this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    this.timer?.unref();
    this.kick();
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async configure(p: Principal, input: { url: string; secret: string } | null) {
    if (input) checkWebhookUrl(input.url, this.policy);
    await this.ctx.database.db
      .update(tenants)
      .set({ webhookUrl: input?.url ?? null, webhookSecret: input?.secret ?? null })
      .where(eq(tenants.id, p.tenantId));
    return { url: input?.url ?? null, configured: !!input };
  }

  async get(p: Principal) {
    const [row] = await this.ctx.database.db
      .select({ url: tenants.webhookUrl })
      .from(tenants)
      .where(eq(tenants.id, p.tenantId));
    return { url: row?.url ?? null, configured: !!row?.url };
  }

  /** Adds an event to the outbox in the caller's transaction, if the tenant has a webhook. */
  async enqueue(q: Q, tenantId: string, event: { type: string; data: Record<string, unknown> }) {
    const id = this.ctx.ids('whd');
    const now = this.ctx.clock.now();
    await q.execute(sql`insert into webhook_deliveries (id, tenant_id, event, state, attempts, next_attempt_at, created_at)
      select ${id}, ${tenantId}, ${JSON.stringify({ id, type: event.type, createdAt: now.toISOString(), tenantId, data: event.data })}::jsonb,
             'pending', 0, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
      where exists (select 1 from tenants where id = ${tenantId} and webhook_url is not null)`);
  }

  /** Deliver what is due soon (coalesces concurrent kicks). */
  kick() {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.deliverDue()
      .then(() => undefined)
      .catch((e) => this.ctx.logger.error({ err: e }, 'webhook delivery round failed'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Claims due deliveries and POSTs them; returns how many were attempted. */
  async deliverDue(limit = 20): Promise<number> {
    const now = this.ctx.clock.now();
    const lease = new Date(now.getTime() + this.opts.leaseMs);
    const claimed = rowsOf<{
      id: string;
      tenant_id: string;
      event: Record<string, unknown>;
      attempts: number;
      url: string;
      secret: string;
    }>(
      await this.ctx.database.db.execute(sql`
        with due as (
          select d.id from webhook_deliveries d
          where d.state = 'pending' and d.next_attempt_at <= ${now.toISOString()}::timestamptz
            and (d.locked_until is null or d.locked_until < ${now.toISOString()}::timestamptz)
          order by d.next_attempt_at
          limit ${limit}
          for update skip locked
        )
        update webhook_deliveries d set locked_until = ${lease.toISOString()}::timestamptz
        from due, tenants t
        where d.id = due.id and t.id = d.tenant_id
        returning d.id, d.tenant_id, d.event, d.attempts, t.webhook_url as url, t.webhook_secret as secret`),
    );
    await Promise.all(claimed.map((d) => this.attempt(d)));
    return claimed.length;
  }

  private async attempt(d: {
    id: string;
    event: Record<string, unknown>;
    attempts: number;
    url: string | null;
    secret: string | null;
  }) {
    const at = this.ctx.clock.now();
    let status: number | null = null;
    let error: string | null = null;
    let refused = false;
    if (!d.url || !d.secret) error = 'no webhook configured';
    else {
      const body = JSON.stringify(d.event);
      const timestamp = String(Math.floor(at.getTime() / 1000));
      try {
        // The host is resolved now and every address vetted; the request connects to the
        // vetted address (a lookup that answers it), so DNS cannot swap it in between.
        const url = checkWebhookUrl(d.url, this.policy);
        const target = await resolveTarget(url, this.policy);
        status = await postTo(
          url,
          target,
          {
            'content-type': 'application/json',
            'x-sp-delivery': d.id,
            'x-sp-event': String(d.event.type),
            'x-sp-timestamp': timestamp,
            'x-sp-signature': `sha256=${sign(d.secret, timestamp, body)}`,
          },
          body,
          this.opts.timeoutMs,
        );
        if (status < 200 || status >= 300) error = 'the receiver did not answer 2xx';
      } catch (e) {
        refused = e instanceof TargetRefused || e instanceof ApiError;
        this.ctx.logger.warn({ err: e, delivery: d.id }, 'webhook delivery failed');
        error = refused
          ? e instanceof ApiError
            ? `refused: ${String(e.details[0]?.message.en ?? e.message)}`
            : (e as Error).message
          : (e as Error).name === 'TimeoutError'
            ? 'timed out'
            : 'could not connect';
      }
    }
    const attempts = d.attempts + 1;
    const delivered = !error;
    // A refused target is not retried: it would be refused again.
    const giveUp = !delivered && (refused || attempts >= this.opts.maxAttempts);
    const delay = Math.min(this.opts.baseDelayMs * 2 ** (attempts - 1), this.opts.maxDelayMs);
    await this.ctx.database.db.transaction(async (tx) => {
      await tx.insert(webhookAttempts).values({ deliveryId: d.id, at, status, error });
      await tx
        .update(webhookDeliveries)
        .set({
          attempts,
          state: delivered ? 'delivered' : giveUp ? 'failed' : 'pending',
          deliveredAt: delivered ? at : null,
          lastError: error,
          lockedUntil: null,
          nextAttemptAt: new Date(this.ctx.clock.now().getTime() + delay),
        })
        .where(eq(webhookDeliveries.id, d.id));
    });
    if (!delivered && !giveUp) {
      const t = setTimeout(() => this.kick(), delay + 5);
      t.unref();
    }
  }

  async deliveries(p: Principal, limit = 50) {
    const rows = await this.ctx.database.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.tenantId, p.tenantId))
      .orderBy(desc(webhookDeliveries.createdAt))
      .limit(limit);
    const items = [];
    for (const r of rows) {
      const attempts = await this.ctx.database.db
        .select()
        .from(webhookAttempts)
        .where(eq(webhookAttempts.deliveryId, r.id))
        .orderBy(asc(webhookAttempts.id));
      // A status code shows only for a delivered attempt: what else answered says nothing the
      // host needs and would map what answers where.
      items.push({
        id: r.id,
        state: r.state,
        event: r.event,
        attempts: attempts.map((a) => ({ at: a.at.toISOString(), status: a.error ? null : a.status, error: a.error })),
        lastError: r.lastError,
        deliveredAt: r.deliveredAt?.toISOString() ?? null,
      });
    }
    return { items };
  }
}

/** POSTs to the vetted address; resolves with the status code. */
function postTo(
  url: URL,
  target: { address: string; family: 4 | 6 },
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<number> {
  const pinned = ((_host: string, options: { all?: boolean }, done: (...args: unknown[]) => void) => {
    if (options?.all) done(null, [{ address: target.address, family: target.family }]);
    else done(null, target.address, target.family);
  }) as unknown as typeof import('node:dns').lookup;
  return new Promise((resolveStatus, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        signal: AbortSignal.timeout(timeoutMs),
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolveStatus(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function sign(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

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
