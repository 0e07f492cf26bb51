import {
  postsaleTeamFor,
  stageById,
  type HistoryAction,
  type OpportunityState,
  type PostsaleTeam,
  type ProcessDefinition,
} from '@sales-process/core';
import { sql, type SQL } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { Batcher } from '../db/batcher.js';
import { rowsOf } from '../db/open.js';
import type { Principal } from '../http/auth.js';
import type { Loaded, Q } from './loads.js';

/**
 * Writing stage moves: each decided move as one statement that compare-and-sets the
 * opportunity's `rev` and writes what goes with it (the cancelled approval, the webhook's
 * outbox row, the history row); concurrent commands' moves are group-committed.
 */

const DAY = 86_400_000;

/** A move as listeners hear of it after commit (`OpportunityEvents.transition`). */
export interface Transition {
  tenantId: string;
  opportunityId: string;
  action: string;
  from: string | null;
  to: string | null;
  fromStatus: string;
  toStatus: string;
  actorId: string;
  at: Date;
  /** An outbox row was written for the tenant's webhook. */
  webhook: boolean;
}

/** A decided move before it is written (`MoveWriter.plan`). */
export interface PlannedMove {
  record: MoveRecord;
  after: Loaded;
  transition: Transition;
}

/** The users a post-sale team names (directory.ts `teamMembers`). */
export type TeamMembers = (q: Q, tenantId: string, team: PostsaleTeam) => Promise<string[]>;

export class MoveWriter {
  constructor(
    private readonly ctx: ServerContext,
    private readonly teamMembers: TeamMembers,
  ) {}

  /**
   * The post-sale staff after a move, when it adds some (else null): entering post-sale (a
   * win) adds the team of the stage it lands in (its own, else the process's
   * `postsaleTeam`); moving on to a post-sale stage with a `team` of its own adds that team.
   * Staff already there stay (assigned by hand or earlier), first.
   */
  private async staffAfter(
    q: Q,
    row: Loaded,
    def: ProcessDefinition,
    next: Pick<OpportunityState, 'phase' | 'stageId'>,
    members?: Map<string, Promise<string[]>>,
  ): Promise<string[] | null> {
    if (next.phase !== 'postsale' || (row.phase === 'postsale' && row.stageId === next.stageId)) return null;
    const team =
      row.phase === 'postsale'
        ? (def.postsale.find((s) => s.id === next.stageId)?.team ?? null)
        : postsaleTeamFor(def, next.stageId);
    if (!team || (!team.userIds.length && !team.departments.length)) return null;
    const key = `${row.tenantId}\u0000${JSON.stringify(team)}`;
    let users = members?.get(key);
    if (!users) {
      users = this.teamMembers(q, row.tenantId, team);
      members?.set(key, users);
    }
    const added = (await users).filter((u) => !row.postsaleStaff.includes(u));
    return added.length ? [...row.postsaleStaff, ...added] : null;
  }

  /**
   * A decided move as the move statement takes it (`record`), the opportunity as it will be
   * after it (`after`), and what listeners hear once it is written (`transition`, whose
   * `webhook` the write fills in). `members` caches the users of post-sale teams across
   * the moves of one batch.
   */
  async plan(
    q: Q,
    p: Principal,
    row: Loaded,
    def: ProcessDefinition,
    state: OpportunityState,
    action: HistoryAction,
    next: Pick<OpportunityState, 'status' | 'phase' | 'stageId'>,
    now: Date,
    extra: { lostReason?: string | null; comment?: string },
    members?: Map<string, Promise<string[]>>,
  ): Promise<PlannedMove> {
    const stageChanged = next.stageId !== row.stageId || next.phase !== row.phase;
    const at = stageById(def, next.stageId);
    const staff = await this.staffAfter(q, row, def, next, members);
    const after: Loaded = {
      ...row,
      ...next,
      postsaleStaff: staff ?? row.postsaleStaff,
      stageEnteredAt: stageChanged ? now : row.stageEnteredAt,
      stageEntry: row.stageEntry + (stageChanged ? 1 : 0),
      maxStageIndex: at?.phase === 'presale' ? Math.max(row.maxStageIndex, at.index) : row.maxStageIndex,
      // Closed when it leaves open; open again (a reopen), it is no longer closed.
      closedAt: next.status === 'open' ? null : row.status === 'open' ? now : row.closedAt,
      lostReason: extra.lostReason !== undefined ? extra.lostReason : row.lostReason,
      updatedAt: now,
      rev: row.rev + 1,
      approval: stageChanged ? null : row.approval,
    };
    const iso = now.toISOString();
    // The host's webhook hears of every move, from the same statement (an outbox row).
    const hookId = this.ctx.ids('whd');
    const stageName = (id: string | null) => (id ? (stageById(def, id)?.stage.name ?? id) : null);
    const event = {
      id: hookId,
      type: 'opportunity.stage-changed',
      createdAt: iso,
      tenantId: p.tenantId,
      data: {
        opportunityId: row.id,
        opportunityName: row.name,
        action,
        actorId: p.userId,
        at: iso,
        previous: { stageId: row.stageId, stageName: stageName(row.stageId), status: row.status, phase: row.phase },
        current: { stageId: next.stageId, stageName: stageName(next.stageId), status: next.status, phase: next.phase },
      },
    };
    const record: MoveRecord = {
      id: row.id,
      rev: row.rev,
      new_rev: after.rev,
      tenant_id: p.tenantId,
      status: after.status,
      phase: after.phase,
      stage_id: after.stageId,
      stage_entered_at: after.stageEnteredAt.toISOString(),
      stage_entry: after.stageEntry,
      max_stage_index: after.maxStageIndex,
      closed_at: after.closedAt?.toISOString() ?? null,
      lost_reason: after.lostReason,
      at: iso,
      hook_id: hookId,
      event,
      process_id: row.processId,
      process_version: row.processVersion,
      from_stage_id: row.stageId,
      from_status: row.status,
      action,
      actor_id: p.userId,
      // A closed one (a reopen) leaves no stay: the time since closing is not a stay in the stage.
      days_spent: row.phase === 'done' ? null : (now.getTime() - row.stageEnteredAt.getTime()) / DAY,
      values: state.values,
      comment: extra.comment ?? extra.lostReason ?? null,
      ...(staff ? { postsale_staff: staff, staff_changes: { postsaleStaff: [row.postsaleStaff, staff] } } : {}),
    };
    return {
      record,
      after,
      transition: {
        tenantId: p.tenantId,
        opportunityId: row.id,
        action,
        from: row.stageId,
        to: next.stageId,
        fromStatus: row.status,
        toStatus: next.status,
        actorId: p.userId,
        at: now,
        webhook: false,
      },
    };
  }

  /** Writes a decided move in one statement, if the opportunity's rev is still the one read. */
  async apply(
    q: Q,
    p: Principal,
    row: Loaded,
    def: ProcessDefinition,
    state: OpportunityState,
    action: HistoryAction,
    next: Pick<OpportunityState, 'status' | 'phase' | 'stageId'>,
    now: Date,
    extra: { lostReason?: string | null; comment?: string },
  ): Promise<{ row: Loaded; transition: Transition } | null> {
    const planned = await this.plan(q, p, row, def, state, action, next, now, extra);
    // Outside a transaction (every plain command) moves are group-committed; inside one
    // (an approval's), it is written in that transaction.
    const [written] =
      q === this.ctx.database.db
        ? [await this.moves.add(planned.record)]
        : await writeMoves((s) => q.execute(s).then(rowsOf<MoveRow>), [planned.record]);
    if (!written?.moved) return null;
    return { row: planned.after, transition: { ...planned.transition, webhook: written.hooked } };
  }

  /** Concurrent commands' moves, written together: one statement and one commit for many. */
  private readonly moves = new Batcher<MoveRecord, WrittenMove>(
    (batch) => writeMoves((s) => this.ctx.database.prepared<MoveRow>(s), batch),
    (m) => m.id,
  );
}

/** A decided move as the move statement takes it (snake_case: the recordset's columns). */
export interface MoveRecord {
  id: string;
  rev: number;
  new_rev: number;
  tenant_id: string;
  status: string;
  phase: string;
  stage_id: string | null;
  stage_entered_at: string;
  stage_entry: number;
  max_stage_index: number;
  closed_at: string | null;
  lost_reason: string | null;
  at: string;
  hook_id: string;
  event: unknown;
  process_id: string;
  process_version: number;
  from_stage_id: string | null;
  from_status: string;
  action: string;
  actor_id: string;
  days_spent: number | null;
  values: unknown;
  comment: string | null;
  /** The post-sale staff after the move, when it assigns a post-sale team (absent: unchanged). */
  postsale_staff?: string[] | null;
  /** Then the history's change row: `{postsaleStaff: [before, after]}`. */
  staff_changes?: Record<string, [unknown, unknown]> | null;
}
export interface WrittenMove {
  moved: boolean;
  hooked: boolean;
}
export interface MoveRow {
  id: string;
  hooked: boolean;
}

/**
 * Writes decided moves in one statement: each opportunity only if its `rev` is still the
 * one its command read (compare-and-set), and for each one written, the pending approval
 * of the stage it leaves cancelled, the webhook's outbox row (when the tenant has one),
 * its history row and, when the move assigns a post-sale team, the new staff and its
 * change row. Results in input order.
 */
export async function writeMoves(
  run: (statement: SQL) => Promise<MoveRow[]>,
  moves: MoveRecord[],
): Promise<WrittenMove[]> {
  // In id order, as a batch of commands locks its rows: the update takes its row locks in
  // this order, so it cannot deadlock with a batch over some of the same opportunities.
  const ordered = moves.length > 1 ? [...moves].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : moves;
  const rows = await run(sql`
    with m as (
      select * from jsonb_to_recordset(${JSON.stringify(ordered)}::jsonb) as m(id text, rev int, new_rev int, tenant_id text, status text, phase text,
        stage_id text, stage_entered_at timestamptz, stage_entry int, max_stage_index int, closed_at timestamptz, lost_reason text, at timestamptz,
        hook_id text, event jsonb, process_id text, process_version int, from_stage_id text, from_status text, action text, actor_id text,
        days_spent float8, "values" jsonb, comment text, postsale_staff jsonb, staff_changes jsonb)
      -- The batch's size as a literal: otherwise the planner takes jsonb_to_recordset for
      -- 100 rows and, on a table of a few thousand, hashes a scan of all of it (one prepared
      -- statement per batch size).
      limit ${sql.raw(String(moves.length))}
    ), upd as (
      update opportunities o set status = m.status, phase = m.phase, stage_id = m.stage_id, stage_entered_at = m.stage_entered_at,
        stage_entry = m.stage_entry, max_stage_index = m.max_stage_index, closed_at = m.closed_at, lost_reason = m.lost_reason,
        updated_at = m.at, rev = m.new_rev, postsale_staff = coalesce(m.postsale_staff, o.postsale_staff)
      from m where o.id = m.id and o.rev = m.rev
      returning o.id
    ), staff as (
      -- a post-sale team assigned by the move, in the opportunity's history as a change
      insert into opportunity_changes (tenant_id, opportunity_id, action, actor_id, at, changes)
      select m.tenant_id, m.id, 'postsale-team', m.actor_id, m.at, m.staff_changes
      from m where m.staff_changes is not null and m.id in (select id from upd)
    ), cancelled as (
      -- a move ends any pending approval of the stage being left
      update approvals a set state = 'cancelled', decided_at = m.at
      from m where a.opportunity_id = m.id and a.state = 'pending' and m.id in (select id from upd)
    ), hook as (
      insert into webhook_deliveries (id, tenant_id, event, state, attempts, next_attempt_at, created_at)
      select m.hook_id, m.tenant_id, m.event, 'pending', 0, m.at, m.at from m
      where m.id in (select id from upd) and exists (select 1 from tenants t where t.id = m.tenant_id and t.webhook_url is not null)
      returning id
    ), history as (
      insert into stage_history (tenant_id, opportunity_id, process_id, process_version, from_stage_id, to_stage_id,
        from_status, to_status, action, actor_id, at, days_spent, values, comment)
      select m.tenant_id, m.id, m.process_id, m.process_version, m.from_stage_id, m.stage_id, m.from_status, m.status, m.action,
        m.actor_id, m.at, m.days_spent, m."values", m.comment
      from m where m.id in (select id from upd)
    )
    select upd.id, exists (select 1 from hook where hook.id = m.hook_id) as hooked from upd join m on m.id = upd.id`);
  const written = new Map(rows.map((r) => [r.id, r.hooked]));
  return moves.map((m) => ({ moved: written.has(m.id), hooked: written.get(m.id) === true }));
}
