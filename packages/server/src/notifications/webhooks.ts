import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { asc, desc, eq, sql } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { rowsOf, type Db, type Tx } from '../db/open.js';
import { tenants, webhookAttempts, webhookDeliveries } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { diffOf, type AuditLog } from '../audit/service.js';
import { checkWebhookUrl, resolveTarget, TargetRefused, type TargetPolicy } from './webhook-target.js';

type Q = Db | Tx;

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
    /** Configuration changes are recorded (`webhook.update`: the URL, the secret only as changed). */
    private readonly audit: AuditLog,
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
    const after = { url: input?.url ?? null, secret: input?.secret ?? null };
    await this.ctx.database.db.transaction(async (tx) => {
      const [before] = await tx
        .select({ url: tenants.webhookUrl, secret: tenants.webhookSecret })
        .from(tenants)
        .where(eq(tenants.id, p.tenantId))
        .for('update');
      await tx
        .update(tenants)
        .set({ webhookUrl: after.url, webhookSecret: after.secret })
        .where(eq(tenants.id, p.tenantId));
      const diff = diffOf(before, after, ['secret']);
      if (Object.keys(diff).length)
        await this.audit.record(tx, p, { action: 'webhook.update', targetType: 'webhook', diff });
    });
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
