import { and, eq, inArray } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { opportunities, users } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { opportunityAccess, type AccessRow } from './access.js';
import type { OpportunityEvents } from './service.js';

/**
 * The opportunity feed behind `GET /opportunities/stream` (a board follows other users'
 * moves): every committed change of an opportunity (a move, an approval, an edit, a
 * reassignment, a reopen, a change of process, a new one) is announced on one channel,
 * gathered for 20 ms and coalesced per tenant into few NOTIFYs, and every instance with
 * followers of that tenant reads the opportunities named, in one statement, and tells each
 * follower what it may read: `opportunity` `{id, rev, processId, stageId, status, phase, ownerId}`, or `removed`
 * `{id}` when it just left what the follower sees (reassigned away from them, its post-sale
 * staff changed, moved to another process than the one followed).
 */

/** What decides who sees an opportunity on a stream (the read side of `opportunityAccess`, and its process). */
export interface Sight {
  processId: string;
  ownerId: string;
  managerId: string | null;
  postsaleStaff: readonly string[];
}

/** `event: opportunity`: an opportunity the follower may read changed. */
export interface FeedItem {
  id: string;
  rev: number;
  processId: string;
  stageId: string | null;
  status: string;
  phase: string;
  ownerId: string;
}

export type FeedMessage = { event: 'opportunity'; data: FeedItem } | { event: 'removed'; data: { id: string } };

interface Follower {
  principal: Principal;
  processId: string | undefined;
  push(message: FeedMessage): void;
}

/** One change as announced: the opportunity's id and, when its sight changed, the sight before. */
type Announced = [id: string, before?: Sight];

const CHANNEL = 'sp_opportunities';
/** How long changes gather before they are announced. */
const ANNOUNCE_MS = 20;
/** PostgreSQL's NOTIFY payload limit is 8000 bytes: each payload stays well under it. */
const MAX_PAYLOAD = 7000;

export class OpportunityFeed {
  /** Followers by tenant, on this instance. */
  private readonly followers = new Map<string, Set<Follower>>();
  /** Changes not yet announced, by tenant (sent together `ANNOUNCE_MS` after the first). */
  private pending = new Map<string, Map<string, Sight | undefined>>();
  private scheduled = false;
  private listening: Promise<() => Promise<void>> | null = null;
  /** Announcements are handled one after another, so each follower hears them in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: ServerContext) {}

  /** What the service tells its listeners: this feed hears every change. */
  readonly events: OpportunityEvents = {
    changed: (tenantId, opportunityId, _processId, before) => this.changed(tenantId, opportunityId, before),
  };

  /** A committed change: announced to every instance soon (never awaited by the command). */
  changed(tenantId: string, id: string, seen?: Sight) {
    // Only what decides sight (a caller may hand over a whole row).
    const before = seen && {
      processId: seen.processId,
      ownerId: seen.ownerId,
      managerId: seen.managerId,
      postsaleStaff: seen.postsaleStaff,
    };
    let ids = this.pending.get(tenantId);
    if (!ids) this.pending.set(tenantId, (ids = new Map()));
    // The earliest sight before wins: whoever saw it then may have lost it since.
    if (!ids.has(id) || (before && !ids.get(id))) ids.set(id, before ?? ids.get(id));
    if (this.scheduled) return;
    this.scheduled = true;
    // A short window gathers the changes of concurrent commands into one NOTIFY (a busy
    // instance sends a few dozen a second, not one per command); followers wait no longer.
    setTimeout(() => void this.announce(), ANNOUNCE_MS).unref();
  }

  private async announce() {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [tenantId, ids] of pending) {
      let part: Announced[] = [];
      let size = 0;
      const send = async () => {
        if (!part.length) return;
        const payload = JSON.stringify({ t: tenantId, c: part });
        part = [];
        size = 0;
        await this.ctx.database
          .notify(CHANNEL, payload)
          .catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'opportunity change not announced'));
      };
      for (const [id, before] of ids) {
        let entry: Announced = before ? [id, before] : [id];
        // A sight too large to announce (a long post-sale staff list) goes without its
        // staff: those it named are told `removed` only if they saw it otherwise.
        if (before && JSON.stringify(entry).length > MAX_PAYLOAD / 2) entry = [id, { ...before, postsaleStaff: [] }];
        const length = JSON.stringify(entry).length + 1;
        if (size + length > MAX_PAYLOAD - tenantId.length - 20) await send();
        part.push(entry);
        size += length;
      }
      await send();
    }
  }

  /**
   * Follows a tenant's opportunities as `p` may read them (of `processId`, or all): the
   * channel is listened to once this resolves. Answers the function that stops it.
   */
  async follow(p: Principal, processId: string | undefined, push: (message: FeedMessage) => void) {
    const follower: Follower = { principal: p, processId, push };
    let set = this.followers.get(p.tenantId);
    if (!set) this.followers.set(p.tenantId, (set = new Set()));
    set.add(follower);
    try {
      await this.listen();
    } catch (error) {
      this.unfollow(follower);
      throw error;
    }
    return () => this.unfollow(follower);
  }

  private unfollow(follower: Follower) {
    const set = this.followers.get(follower.principal.tenantId);
    if (!set?.delete(follower)) return;
    if (!set.size) this.followers.delete(follower.principal.tenantId);
    // Nobody follows on this instance: stop listening (a later follower listens again).
    if (!this.followers.size && this.listening) {
      const listening = this.listening;
      this.listening = null;
      void listening.then((stop) => stop()).catch(() => {});
    }
  }

  private listen() {
    this.listening ??= this.ctx.database
      .listen(CHANNEL, (payload) => {
        this.chain = this.chain.then(() =>
          this.received(payload).catch((error: unknown) =>
            this.ctx.logger.error({ err: error }, 'opportunity feed failed'),
          ),
        );
      })
      .catch((error: unknown) => {
        this.listening = null;
        throw error;
      });
    return this.listening;
  }

  private async received(payload: string) {
    let message: { t: string; c: Announced[] };
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    const set = this.followers.get(message.t);
    if (!set?.size || !Array.isArray(message.c) || !message.c.length) return;
    const rows = await this.ctx.database.db
      .select({
        id: opportunities.id,
        rev: opportunities.rev,
        processId: opportunities.processId,
        stageId: opportunities.stageId,
        status: opportunities.status,
        phase: opportunities.phase,
        ownerId: opportunities.ownerId,
        postsaleStaff: opportunities.postsaleStaff,
        managerId: users.managerId,
      })
      .from(opportunities)
      .leftJoin(users, and(eq(users.tenantId, opportunities.tenantId), eq(users.id, opportunities.ownerId)))
      .where(
        and(
          eq(opportunities.tenantId, message.t),
          inArray(
            opportunities.id,
            message.c.map(([id]) => id),
          ),
        ),
      );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const follower of this.followers.get(message.t) ?? []) {
      for (const [id, before] of message.c) {
        const row = byId.get(id);
        if (!row) continue;
        const shown = (s: Sight) =>
          (follower.processId === undefined || s.processId === follower.processId) &&
          opportunityAccess(follower.principal, { ...s, status: row.status, phase: row.phase } as AccessRow).read;
        if (shown(row)) {
          const { postsaleStaff: _s, managerId: _m, ...item } = row;
          follower.push({ event: 'opportunity', data: item });
        } else if (before && shown(before)) follower.push({ event: 'removed', data: { id } });
      }
    }
  }
}
