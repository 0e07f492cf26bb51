/**
 * What a connection and a user may spend: token buckets for messages, bytes and event-loop
 * time, meters of recent use, and the users' shared budgets (with their connection caps).
 */
import type { Logger } from 'pino';
import type { Principal } from '../http/auth.js';
import { tooManyConnections, userKey } from '../http/user-slots.js';
import { CLOSE_RATE_LIMITED } from '@sales-process/core';
import type { LiveOptions } from './options.js';

/** A token bucket: `rate` per second, holding at most `capacity`. */
export class Bucket {
  private level: number;
  private at = performance.now();
  constructor(
    private readonly rate: number,
    private readonly capacity: number,
  ) {
    this.level = capacity;
  }
  private refill() {
    const now = performance.now();
    this.level = Math.min(this.capacity, this.level + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
  /** Takes `n` if there is that much. */
  take(n: number): boolean {
    this.refill();
    if (this.level < n) return false;
    this.level -= n;
    return true;
  }
  /**
   * Charges `n` already spent: the level may go into debt of half the capacity. A single
   * charge from a full bucket always passes (one large, legitimate update on reconnect).
   */
  charge(n: number): boolean {
    this.refill();
    const full = this.level >= this.capacity;
    this.level -= n;
    return full || this.level >= -this.capacity / 2;
  }
}

/** What was added recently: decays with a one-second time constant, so it reads as a rate per second. */
export class Meter {
  private value = 0;
  private at = performance.now();
  add(n: number) {
    this.value = this.read() + n;
  }
  read(): number {
    const now = performance.now();
    this.value *= Math.exp(-(now - this.at) / 1000);
    this.at = now;
    return this.value;
  }
}

/** One connection's own budget (SyncOptions' per-connection rates). */
export class ConnectionBudget {
  readonly messages: Bucket;
  readonly bytes: Bucket;
  readonly cpu: Bucket;
  /** What it used lately, to find a user's most active connections. */
  readonly recentMessages = new Meter();
  readonly recentCpu = new Meter();
  constructor(o: LiveOptions) {
    this.messages = new Bucket(o.messagesPerSecond, o.messagesPerSecond * o.burstSeconds);
    this.bytes = new Bucket(o.bytesPerSecond, Math.max(o.bytesPerSecond * o.burstSeconds, o.maxFrameBytes));
    this.cpu = new Bucket(o.cpuMsPerSecond, o.cpuBurstMs);
  }
}

/** What the user budgets need of a connection. */
export interface Budgeted {
  readonly id: string;
  readonly principal: Principal;
  readonly budget: ConnectionBudget;
  close(code: number, reason: string): void;
}

/** One user's live connections (tenant and user id) and the budget they share. */
export interface UserLive {
  key: string;
  conns: Set<Budgeted>;
  /** Places taken before the upgrade (when each lapses), for connections not opened yet. */
  pending: number[];
  messages: Bucket;
  cpu: Bucket;
  idleTimer: NodeJS.Timeout | null;
}

/** How long a place taken before the upgrade is held for the connection to open. */
const PENDING_MS = 10_000;

/** The users with live connections: their caps and shared budgets. */
export class UserBudgets {
  private readonly users = new Map<string, UserLive>();

  constructor(
    private readonly opts: LiveOptions,
    private readonly logger: Logger,
  ) {}

  private userOf(p: Principal): UserLive {
    const key = userKey(p);
    let u = this.users.get(key);
    if (!u) {
      const o = this.opts;
      u = {
        key,
        conns: new Set(),
        pending: [],
        idleTimer: null,
        // Short bursts (a quarter of a second of messages, one connection's burst of time): what
        // 50 sockets pile up before the first of them is closed stays well under a second. Ten
        // tabs reconnecting at once send about 40.
        messages: new Bucket(o.userMessagesPerSecond, o.userMessagesPerSecond / 4),
        cpu: new Bucket(o.userCpuMsPerSecond, o.cpuBurstMs),
      };
      this.users.set(key, u);
    }
    if (u.idleTimer) clearTimeout(u.idleTimer);
    u.idleTimer = null;
    return u;
  }

  /**
   * Forgets an idle user once their budget would be full again (reconnecting does not refill
   * it) and the places held for their upgrades have lapsed: an upgrade admitted but never
   * opened leaves a place that nothing else would clear. Any later admit or open cancels it.
   */
  private maybeForget(u: UserLive) {
    if (u.conns.size || u.idleTimer) return;
    const lapse = Math.max(0, (u.pending.at(-1) ?? 0) - performance.now());
    u.idleTimer = setTimeout(
      () => {
        u.idleTimer = null;
        const now = performance.now();
        while (u.pending.length && u.pending[0]! <= now) u.pending.shift();
        if (u.conns.size || this.users.get(u.key) !== u) return;
        if (u.pending.length) this.maybeForget(u);
        else this.users.delete(u.key);
      },
      lapse + (this.opts.burstSeconds + 2) * 1000,
    );
    u.idleTimer.unref?.();
  }

  /** How many users the server holds a budget for (tests: that idle ones are forgotten). */
  get size(): number {
    return this.users.size;
  }

  /**
   * Before the upgrade: holds a place for one more of the user's connections, or refuses
   * it with 429 RATE_LIMITED past `maxConnectionsPerUser` (open ones and ones on their way).
   */
  admit(p: Principal): void {
    const u = this.userOf(p);
    const now = performance.now();
    while (u.pending.length && u.pending[0]! <= now) u.pending.shift();
    if (u.conns.size + u.pending.length >= this.opts.maxConnectionsPerUser) {
      this.logger.warn({ user: p.userId, open: u.conns.size }, 'websocket refused: too many connections of one user');
      this.maybeForget(u);
      throw tooManyConnections(this.opts.maxConnectionsPerUser, {
        zh: '实时文档连接',
        en: 'live document connections',
      });
    }
    u.pending.push(now + PENDING_MS);
    // If the upgrade never opens, nothing else would forget the user (userOf cancelled it).
    this.maybeForget(u);
  }

  /** A connection opened: the place `admit` held becomes it. */
  opened(conn: Budgeted): UserLive {
    const u = this.userOf(conn.principal);
    u.pending.shift();
    u.conns.add(conn);
    return u;
  }

  closed(conn: Budgeted, u: UserLive): void {
    u.conns.delete(conn);
    this.maybeForget(u);
  }

  /** One message of `conn` against its user's budget; past it, the user's most active connections are closed. */
  takeMessage(conn: Budgeted, u: UserLive): void {
    conn.budget.recentMessages.add(1);
    if (!u.messages.take(1)) this.shed(u, 'recentMessages', this.opts.userMessagesPerSecond, 'too many messages');
  }

  /**
   * Time `conn` just spent on an update, charged to it (past its budget it is closed, not
   * served) and to its user (past theirs, their most active connections are).
   */
  chargeCpu(conn: Budgeted, u: UserLive, spent: number): void {
    conn.budget.recentCpu.add(spent);
    if (!conn.budget.cpu.charge(spent)) {
      this.logger.warn({ conn: conn.id, user: conn.principal.userId }, 'websocket over its time budget');
      conn.close(CLOSE_RATE_LIMITED, 'rate limited: updates take too long');
    } else if (!u.cpu.charge(spent)) this.shed(u, 'recentCpu', this.opts.userCpuMsPerSecond, 'updates take too long');
  }

  /**
   * The user's shared budget ran out: closes their most active connections (by `meter`)
   * with 4429: every one that used at least half what the busiest did lately, then more
   * until the rest used at most half the user's rate. A quiet tab stays open; fifty equal
   * flooders are all closed at once (at the start of a flood none has used much yet).
   */
  private shed(u: UserLive, meter: 'recentMessages' | 'recentCpu', rate: number, why: string) {
    const ranked = [...u.conns].map((c) => ({ c, used: c.budget[meter].read() })).sort((a, b) => b.used - a.used);
    let total = ranked.reduce((sum, r) => sum + r.used, 0);
    const busiest = ranked[0]?.used ?? 0;
    for (const { c, used } of ranked) {
      if (used < busiest / 2 && total <= rate / 2) break;
      total -= used;
      this.logger.warn(
        { conn: c.id, user: c.principal.userId, used: Math.round(used) },
        `user over their shared budget: ${why}`,
      );
      c.close(CLOSE_RATE_LIMITED, `rate limited: your connections together send too much (${why})`);
    }
  }
}
