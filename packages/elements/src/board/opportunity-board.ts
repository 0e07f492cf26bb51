import type { Detail, LocalizedText } from '@sales-process/core';
import { html, nothing } from 'lit';
import type { ApiClientError } from '../client/api-client.js';
import type { SalesProcessConnection } from '../shared/connection.js';
import type { KitFailure } from '../shared/failure.js';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import {
  SpApprovalRequestedEvent,
  SpBeforeActionEvent,
  SpStageChangedEvent,
  SpTransitionRefusedEvent,
} from '../shared/events.js';
import { LocalizeController } from '../shared/i18n.js';
import { StreamController } from '../shared/stream-controller.js';
import { messages } from './messages.js';
import styles from './opportunity-board.styles.js';

/** A card: what `GET /opportunities?processId=…&status=open` lists of an opportunity. */
export interface BoardCard {
  id: string;
  name: string;
  customerName: string | null;
  amount: number;
  currency: string;
  ownerId: string;
  ownerName: string;
  departmentId: string | null;
  stageId: string | null;
  stageEnteredAt: string;
  status: string;
  phase: string;
  rev: number;
  overdue: boolean;
  stale: boolean;
}

/** One command of `POST /opportunities/commands`. */
export interface BoardCommand {
  opportunityId: string;
  type: 'completeStage' | 'moveBack' | 'lose';
  expectedStageId: string | null;
  toStageId?: string;
  stageId?: string;
  reason?: string;
}

/** The answer for one opportunity of a bulk action. */
export interface BoardResult {
  opportunityId: string;
  result: 'moved' | 'approvalRequested' | 'refused' | 'stale';
  status?: string;
  phase?: string;
  stageId?: string | null;
  rev?: number;
  error?: { code: string; message: string; messages?: LocalizedText; details?: Detail[] };
}

interface Column {
  id: string;
  name: string;
  winRate: number;
  post: boolean;
}
interface Note {
  lines: string[];
  retry?: BoardCommand;
  approval?: boolean;
}
interface User {
  id: string;
  name: string;
  departmentId: string | null;
  roles: string[];
}
type Dept = { id: string; name: string; parentId: string | null };
type Reason = { value: string; label: LocalizedText; archived?: boolean };

const init = { bubbles: true, composed: true };

/** A card's name was clicked (or Enter pressed on it): the host may show the opportunity. */
export class SpOpportunityOpenEvent extends Event {
  static readonly type = 'sp-opportunity-open';
  constructor(readonly detail: { opportunityId: string }) {
    super(SpOpportunityOpenEvent.type, init);
  }
}

/** A bulk move, reassign or lose got its answers, one per card. */
export class SpBulkDoneEvent extends Event {
  static readonly type = 'sp-bulk-done';
  constructor(readonly detail: { action: 'move' | 'reassign' | 'lose'; items: BoardResult[] }) {
    super(SpBulkDoneEvent.type, init);
  }
}

/** A card's slot in a column (px): its fixed height plus the gap. Columns render only the slots in view. */
const SLOT = 98;
const OVERSCAN = 4;
const enc = encodeURIComponent;

/**
 * @summary The pipeline board (商机看板): a column per pre-sale stage (and the post-sale stages
 * for post-sale staff) with the process's open opportunities as cards (name, customer,
 * amount, owner, days in stage, overdue and stale marks), each column's total and weighted
 * total; filters by owner, department (with its sub-departments) and "mine". Drag a card, or
 * with the keyboard pick it up (Space), choose a stage (←/→) and drop it (Space), to move it
 * through the server's rules (`POST /opportunities/commands`); a refusal shows the unmet gates
 * on the card, with the stage form to fill them in and a retry (or a request for approval).
 * Cards follow other users' moves live. Select cards for a bulk move, reassign or lose.
 * Columns render only the cards in view, so thousands of cards stay smooth.
 *
 * @event {SpBeforeActionEvent} sp-before-action - Cancelable, before each card's command is sent; `detail: {opportunityId, action, body}`.
 * @event {SpStageChangedEvent} sp-stage-changed - The server moved a card; `detail: {opportunityId, action, stageId, status}`.
 * @event {SpApprovalRequestedEvent} sp-approval-requested - The move asked the owner's supervisor; `detail: {opportunityId, stageId}`.
 * @event {SpTransitionRefusedEvent} sp-transition-refused - A card's move was refused (`details`: the unmet gates) or was stale (`code: 'STALE_STATE'`); `detail: {opportunityId, action, code, details}`.
 * @event {SpBulkDoneEvent} sp-bulk-done - A bulk action got its answers; `detail: {action: 'move' | 'reassign' | 'lose', items}`, one `{opportunityId, result, error?}` per card.
 * @event {SpOpportunityOpenEvent} sp-opportunity-open - A card was opened (its name clicked, or Enter); `detail: {opportunityId}`.
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
 * @csspart toolbar - The filters.
 * @csspart bulk - The bulk actions bar (shown while cards are selected).
 * @csspart column - A stage's column (`data-stage` is its id).
 * @csspart headline - How many opportunities the filters show, and how many of them are stale (past their stage's reminder days).
 * @csspart column-header - A column's name, count, select-all box and totals.
 * @csspart total - A column's total and weighted total.
 * @csspart cards - A column's scrolling list of cards.
 * @csspart card - One card (`data-id` is the opportunity's id).
 * @csspart card-name - The card's name, a button that opens it.
 * @csspart mark - The overdue or stale mark (also `overdue` or `stale`).
 * @csspart refusal - What the server said on a card (unmet gates, with fill-in and retry buttons).
 * @csspart dialog - The dialog with the stage form of a refused card.
 * @cssproperty --sp-board-height - Height of the columns (default 70vh).
 * @cssproperty --sp-board-column-width - Width of a column (default 260px).
 * @cssproperty --sp-color-text - Text colour (default #1f2328; dark #e6edf3).
 * @cssproperty --sp-color-muted - Secondary text (default #59636e).
 * @cssproperty --sp-color-surface - Background of controls and panels (default #ffffff).
 * @cssproperty --sp-color-subtle - Background of quiet areas (default #f4f6f8).
 * @cssproperty --sp-color-border - Borders (default #d1d9e0).
 * @cssproperty --sp-color-accent - Primary buttons, the current step, selection (default #0b65c2).
 * @cssproperty --sp-color-on-accent - Text on the accent colour (default #ffffff).
 * @cssproperty --sp-color-success - Done and won (default #1a7f37).
 * @cssproperty --sp-color-warning - Overdue, pending, offline (default #9a6700).
 * @cssproperty --sp-color-danger - Errors and destructive actions (default #cf222e).
 * @cssproperty --sp-radius - Corner radius (default 6px).
 * @cssproperty --sp-focus-ring - The focus ring's box-shadow.
 * @cssproperty --sp-font-family - Font family (default system-ui with PingFang SC / Microsoft YaHei).
 * @cssproperty --sp-font-size - Base font size (default 14px; host `rem` hacks do not leak in).
 * @cssproperty --sp-line-height - Line height (default 1.5).
 */
export class OpportunityBoard extends ConnectedElement {
  static override styles = styles;

  static override properties = {
    processId: { attribute: 'process-id' },
    mine: { type: Boolean },
    cards: { state: true },
    owner: { state: true },
    dept: { state: true },
    grab: { state: true },
    over: { state: true },
    said: { state: true },
    formId: { state: true },
    loading: { state: true },
  };

  /** The process whose opportunities the board shows. */
  processId = '';
  /** Only the signed-in user's own opportunities (the "mine" filter). */
  mine = false;
  /** The cards by opportunity id. */
  cards = new Map<string, BoardCard>();
  protected cols: Column[] = [];
  protected owner = '';
  protected dept = '';
  protected grab: { id: string; col: number } | null = null;
  protected over = -1;
  protected said = '';
  protected formId = '';
  protected loading = false;
  protected readonly selected = new Set<string>();
  protected readonly notes = new Map<string, Note>();
  protected readonly busy = new Set<string>();
  protected readonly i18n = new LocalizeController(this, messages);
  /** Other users' moves, live: an event moves a known card at once; an unknown one is fetched. */
  protected readonly stream = new StreamController(
    this,
    () => [this.processId && this.conn, `/opportunities/stream?processId=${enc(this.processId)}`],
    { onEvent: (e) => this.#event(e.event, JSON.parse(e.data)) },
  );
  #users: User[] = [];
  #depts: Dept[] = [];
  #reasons: Reason[] = [];
  #post = false;
  #scroll: number[] = [];
  #active = '';
  #drag = '';
  #key = '';
  #conn?: SalesProcessConnection;
  #abort?: AbortController;
  #memo?: { key: unknown[]; cols: BoardCard[][]; sums: Map<string, number>[][]; owners: Map<string, string> };

  protected override willUpdate(): void {
    if (!this.processId) return;
    const key = `${this.processId} ${this.stream.attached}`;
    const conn = this.conn;
    if (key === this.#key && conn === this.#conn) return;
    this.#key = key;
    this.#conn = conn;
    void this.refresh();
  }

  protected override reload() {
    return this.refresh();
  }

  /** Loads the process, the directory, the lost reasons and every card again (500 a page). */
  async refresh(): Promise<void> {
    this.#abort?.abort();
    const { signal } = (this.#abort = new AbortController());
    const client = this.client;
    const get = <T>(path: string) => client.get<T>(path, signal);
    const post = (this.#post = client.roles.includes('postsale'));
    const pid = enc(this.processId);
    this.loading = true;
    try {
      const [process, dir, fields] = await Promise.all([
        get<{ definition: Record<'presale' | 'postsale', { id: string; name: string; winRate?: number }[]> }>(
          `/processes/${pid}`,
        ),
        get<{ users: User[]; departments: Dept[] }>('/directory').catch(() => null),
        get<{ items: { key: string; options?: Reason[] }[] }>('/fields/opportunity').catch(() => null),
      ]);
      const col = (post: boolean) => (s: { id: string; name: string; winRate?: number }) => ({
        id: s.id,
        name: s.name,
        winRate: post ? 100 : (s.winRate ?? 0),
        post,
      });
      this.cols = [
        ...process.definition.presale.map(col(false)),
        ...(post ? process.definition.postsale.map(col(true)) : []),
      ];
      this.#users = dir?.users ?? [];
      this.#depts = dir?.departments ?? [];
      this.#reasons = (fields?.items.find((f) => f.key === 'lostReason')?.options ?? []).filter((o) => !o.archived);
      this.cards = new Map();
      for (const status of post ? ['open', 'won'] : ['open']) {
        let cursor = '';
        do {
          const page = await get<{ items: BoardCard[]; nextCursor: string | null }>(
            `/opportunities?processId=${pid}&status=${status}&limit=500${cursor && `&cursor=${enc(cursor)}`}`,
          );
          const next = new Map(this.cards);
          for (const c of page.items) if (this.#keep(c) && !((next.get(c.id)?.rev ?? -1) >= c.rev)) next.set(c.id, c);
          this.cards = next;
          cursor = page.nextCursor ?? '';
        } while (cursor);
      }
      this.failure = null;
      this.loading = false;
    } catch (e) {
      if ((e as Error)?.name !== 'AbortError') this.loading = false;
      this.loadFailed(e, this.cols.length);
    }
  }

  #keep(c: Pick<BoardCard, 'status' | 'phase'>) {
    return c.status === 'open' || (this.#post && c.phase === 'postsale');
  }

  /** Puts (or, when it no longer belongs on the board, removes) cards. */
  #put(...cards: BoardCard[]) {
    const next = new Map(this.cards);
    for (const c of cards) this.#keep(c) ? next.set(c.id, c) : next.delete(c.id);
    this.cards = next;
  }

  /** A move elsewhere: a known card follows at once; a new one, or one with a new owner, is fetched. */
  #event(type: string, d: BoardCard) {
    const c = this.cards.get(d.id);
    if (type === 'removed') d.status = '';
    else if (type !== 'opportunity' || (c?.rev ?? -1) >= d.rev) return;
    if (c && (c.ownerId === d.ownerId || !this.#keep(d)))
      this.#put({
        ...c,
        ...d,
        ...(d.stageId !== c.stageId && { stageEnteredAt: new Date().toISOString(), overdue: false, stale: false }),
      });
    else if (this.#keep(d)) void this.#fetch(d.id, d.rev);
  }

  async #fetch(id: string, rev: number) {
    let view: BoardCard | null = null;
    try {
      view = await this.client.get<BoardCard>(`/opportunities/${enc(id)}`);
    } catch {}
    const c = view ?? this.cards.get(id);
    if (c && !((this.cards.get(id)?.rev ?? -1) > rev))
      this.#put({ ...c, rev, stale: !!c.stale, status: view ? c.status : '' });
  }

  /** The filtered cards of each column, oldest in its stage first (recomputed only when cards or filters change). */
  #group() {
    const key = [this.cards, this.cols, this.owner, this.dept, this.mine];
    if (this.#memo?.key.every((k, i) => k === key[i])) return this.#memo;
    const me = this.client.subject;
    let depts: Set<string | null> | null = null;
    if (this.dept) {
      depts = new Set([this.dept]);
      for (let size = 0; size !== depts.size; ) {
        size = depts.size;
        for (const d of this.#depts) if (depts.has(d.parentId)) depts.add(d.id);
      }
    }
    const at = new Map(this.cols.map((c, i) => [c.id, i]));
    const cols = this.cols.map((): BoardCard[] => []);
    const owners = new Map<string, string>();
    for (const c of this.cards.values()) {
      owners.set(c.ownerId, c.ownerName);
      const i = at.get(c.stageId!);
      if (
        i !== undefined &&
        (!this.owner || c.ownerId === this.owner) &&
        (!this.mine || c.ownerId === me) &&
        (!depts || depts.has(c.departmentId))
      )
        cols[i]!.push(c);
    }
    // Each column's total and weighted total, per currency.
    const sums = cols.map((list, i) => {
      list.sort((a, b) => (a.stageEnteredAt < b.stageEnteredAt ? -1 : a.stageEnteredAt > b.stageEnteredAt ? 1 : 0));
      const m = [new Map<string, number>(), new Map<string, number>()];
      for (const c of list)
        for (const [k, x] of m.entries())
          x.set(c.currency, (x.get(c.currency) ?? 0) + (k ? (c.amount * this.cols[i]!.winRate) / 100 : c.amount));
      return m;
    });
    return (this.#memo = { key, cols, sums, owners });
  }

  #colOf(c: BoardCard) {
    return this.cols.findIndex((x) => x.id === c.stageId);
  }

  #say(key: keyof (typeof messages)['en'], vars?: Record<string, string | number>) {
    this.said = this.i18n.t(key, vars);
  }

  /** Moves cards to a column: forward is `completeStage` (`toStageId` past the next one), back is `moveBack`. */
  async #moveTo(list: BoardCard[], to: number): Promise<BoardResult[]> {
    const col = this.cols[to]!;
    const commands: BoardCommand[] = [];
    for (const c of list) {
      const from = this.#colOf(c);
      if (from === to) continue;
      // Pre-sale and post-sale stages are apart: no move between them.
      if (from < 0 || this.cols[from]!.post !== col.post) continue;
      const base = { opportunityId: c.id, expectedStageId: c.stageId };
      commands.push(
        to > from
          ? { ...base, type: 'completeStage', ...(to > from + 1 && { toStageId: col.id }) }
          : { ...base, type: 'moveBack', stageId: col.id },
      );
    }
    this.requestUpdate();
    return this.#send(commands);
  }

  /** Sends commands (500 a request) and shows each card's answer on it. */
  async #send(commands: BoardCommand[]): Promise<BoardResult[]> {
    const t = this.i18n;
    commands = commands.filter((c) =>
      this.dispatchEvent(new SpBeforeActionEvent({ opportunityId: c.opportunityId, action: c.type, body: { ...c } })),
    );
    const out: BoardResult[] = [];
    const n = { ok: 0, refused: 0, stale: 0 };
    for (const c of commands) this.busy.add(c.opportunityId);
    this.requestUpdate();
    for (let i = 0; i < commands.length; i += 500) {
      const part = commands.slice(i, i + 500);
      let items: BoardResult[];
      try {
        items = (await this.client.post<{ items: BoardResult[] }>('/opportunities/commands', { commands: part })).data
          .items;
      } catch (e) {
        const err = e as ApiClientError;
        this.reportError(e);
        items = part.map((c) => ({ opportunityId: c.opportunityId, result: 'refused', error: err }));
      }
      const byId = new Map(part.map((c) => [c.opportunityId, c]));
      const moved: BoardCard[] = [];
      for (const r of items) {
        const c = this.cards.get(r.opportunityId);
        const cmd = byId.get(r.opportunityId);
        this.busy.delete(r.opportunityId);
        if (!c || !cmd) continue;
        out.push(r);
        const id = c.id;
        this.notes.delete(id);
        if (r.result === 'moved') {
          n.ok++;
          const stageId = r.stageId ?? null;
          const status = r.status ?? c.status;
          moved.push({
            ...c,
            status,
            stageId,
            phase: r.phase ?? c.phase,
            rev: r.rev ?? c.rev,
            stageEnteredAt: new Date().toISOString(),
            overdue: false,
            stale: false,
          });
          this.dispatchEvent(new SpStageChangedEvent({ opportunityId: id, action: cmd.type, stageId, status }));
        } else if (r.result === 'approvalRequested') {
          n.ok++;
          this.notes.set(id, { lines: [t.t('pending')] });
          this.dispatchEvent(new SpApprovalRequestedEvent({ opportunityId: id, stageId: c.stageId }));
        } else {
          const err = r.error ?? { code: 'STALE_STATE', message: '' };
          this.dispatchEvent(
            new SpTransitionRefusedEvent({
              opportunityId: id,
              action: cmd.type,
              code: err.code,
              details: err.details ?? [],
            }),
          );
          if (r.result === 'stale') {
            n.stale++;
            this.notes.set(id, { lines: [this.failureMessage(err as KitFailure)] });
            void this.#fetch(id, c.rev);
          } else {
            n.refused++;
            const lines = this.detailMessages(err).filter(Boolean);
            this.notes.set(id, {
              lines: lines.length ? lines : [this.errorMessage(err)],
              retry: cmd,
              approval: err.details?.some((d) => d.gate === 'approval'),
            });
          }
        }
      }
      this.#put(...moved);
    }
    for (const c of commands) this.busy.delete(c.opportunityId);
    this.requestUpdate();
    const one = commands.length === 1 && this.cards.get(commands[0]!.opportunityId);
    if (one && out[0]) {
      const note = this.notes.get(one.id);
      if (note) this.#say('refused', { name: one.name, why: note.lines.join('；') });
      else this.#say('dropped', { name: one.name, col: this.cols[this.#colOf(one)]?.name ?? '' });
    } else if (commands.length) this.#say('summary', n);
    return out;
  }

  async #reassign(list: BoardCard[], to: string): Promise<BoardResult[]> {
    try {
      const { items } = (
        await this.client.post<{ items: BoardResult[] }>('/opportunities/reassign', {
          opportunityIds: list.map((c) => c.id),
          toOwnerId: to,
        })
      ).data;
      let ok = 0;
      for (const r of items) {
        const c = this.cards.get(r.opportunityId);
        if (!c) continue;
        this.notes.delete(c.id);
        // Its new owner's name and department come with the card.
        if (r.result === 'moved' && ++ok) void this.#fetch(c.id, c.rev + 1);
        else this.notes.set(c.id, { lines: [this.errorMessage(r.error)] });
      }
      this.#say('summary', { ok, refused: items.length - ok, stale: 0 });
      return items;
    } catch (e) {
      this.reportError(e);
      this.said = this.errorMessage(e);
      return [];
    }
  }

  readonly #bulk = async (e: SubmitEvent) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const action = (e.submitter as HTMLButtonElement).value as 'move' | 'reassign' | 'lose';
    const list = [...this.selected].flatMap((id) => this.cards.get(id) ?? []);
    this.selected.clear();
    const items =
      action === 'move'
        ? await this.#moveTo(
            list,
            this.cols.findIndex((c) => c.id === form.get('to')),
          )
        : action === 'lose'
          ? await this.#send(
              list.map((c) => ({
                opportunityId: c.id,
                type: 'lose',
                expectedStageId: c.stageId,
                ...(form.get('reason') ? { reason: String(form.get('reason')) } : {}),
              })),
            )
          : await this.#reassign(list, String(form.get('owner')));
    this.dispatchEvent(new SpBulkDoneEvent({ action, items }));
  };

  #toggle(id: string, on = !this.selected.has(id), all = false) {
    if (all) this.selected.clear();
    else on ? this.selected.add(id) : this.selected.delete(id);
    this.requestUpdate();
  }

  #open(id: string) {
    this.dispatchEvent(new SpOpportunityOpenEvent({ opportunityId: id }));
  }

  async #fill(id: string) {
    this.formId = id;
    await this.updateComplete;
    this.renderRoot.querySelector('dialog')?.showModal();
  }

  /** Focuses a column's card by index, scrolling it into the rendered window first. */
  async #focus(col: number, index: number) {
    const list = this.#group().cols[col] ?? [];
    const c = list[Math.max(0, Math.min(index, list.length - 1))];
    const ul = this.renderRoot.querySelectorAll<HTMLElement>('.cards')[col];
    if (!c || !ul) return;
    const top = list.indexOf(c) * SLOT;
    if (top < ul.scrollTop || top + SLOT > ul.scrollTop + ul.clientHeight) ul.scrollTop = top;
    this.#scroll[col] = ul.scrollTop;
    this.#active = c.id;
    this.requestUpdate();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>(`[data-id="${CSS.escape(c.id)}"]`)?.focus();
  }

  /** The keyboard: Space picks up and drops, ←/→ choose the stage while held, Esc cancels; ↑/↓/Home/End/←/→ move focus; X selects; Enter opens. */
  readonly #keydown = (e: KeyboardEvent) => {
    const li = e.target as HTMLElement;
    const c = this.cards.get(li.dataset?.id ?? '');
    if (!c) return;
    const k = e.key;
    const col = this.#colOf(c);
    const g = this.grab;
    const step = k === 'ArrowLeft' ? -1 : k === 'ArrowRight' ? 1 : 0;
    if (g && step) {
      const to = g.col + step;
      if (this.cols[to]?.post === this.cols[g.col]!.post) {
        this.grab = { ...g, col: to };
        this.#say('over', { col: this.cols[to]!.name });
      }
    } else if (g && k === ' ') {
      this.grab = null;
      void this.#moveTo([this.cards.get(g.id) ?? c], g.col);
    } else if (g && k === 'Escape') {
      this.grab = null;
      this.#say('cancelled');
    } else if (k === ' ') {
      this.grab = { id: c.id, col };
      this.#say('picked', { name: c.name });
    } else if (k === 'Enter') this.#open(c.id);
    else if (k === 'x' || k === 'X') this.#toggle(c.id);
    else {
      const list = this.#group().cols[col]!;
      const i = list.indexOf(c);
      const to = { ArrowUp: i - 1, ArrowDown: i + 1, Home: 0, End: list.length - 1 }[k];
      if (to !== undefined) void this.#focus(col, to);
      else if (step) void this.#focus(col + step, i);
      else return;
    }
    e.preventDefault();
  };

  #scrolled(i: number, ul: HTMLElement) {
    const before = Math.floor((this.#scroll[i] ?? 0) / SLOT);
    this.#scroll[i] = ul.scrollTop;
    if (Math.floor(ul.scrollTop / SLOT) !== before) this.requestUpdate();
  }

  readonly #dragEnd = () => {
    this.#drag = '';
    this.over = -1;
  };

  #drop(e: DragEvent, i: number) {
    e.preventDefault();
    const id = this.#drag;
    this.#dragEnd();
    if (id)
      void this.#moveTo(
        [...(this.selected.has(id) ? this.selected : [id])].flatMap((x) => this.cards.get(x) ?? []),
        i,
      );
  }

  protected override render() {
    if (this.failure) return this.renderFailure();
    const t = this.i18n;
    const { cols, sums, owners } = this.#group();
    const pick = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLSelectElement).value);
    const option = (value: string, label: string, current: string) =>
      html`<option value=${value} ?selected=${value === current}>${label}</option>`;
    const mayReassign = this.client.roles.some((r) => r === 'admin' || r === 'supervisor');
    return html`<div class="bar" part="toolbar">
        <label>${t.t('owner')} <select @change=${pick((v) => (this.owner = v))}>${option('', t.t('all'), this.owner)}${[...owners].map(([id, name]) => option(id, name, this.owner))}</select></label>
        ${this.#depts.length ? html`<label>${t.t('department')} <select @change=${pick((v) => (this.dept = v))}>${option('', t.t('all'), this.dept)}${this.#depts.map((d) => option(d.id, d.name, this.dept))}</select></label>` : nothing}
        <label><input type="checkbox" .checked=${this.mine} @change=${(e: Event) => (this.mine = (e.target as HTMLInputElement).checked)} /> ${t.t('mine')}</label>
        <span part="headline">${t.t('headline', { n: cols.reduce((n, l) => n + l.length, 0), stale: cols.reduce((n, l) => n + l.filter((c) => c.stale).length, 0) })}</span>
        ${this.loading ? html`<span class="muted">${t.t('loading')}</span>` : nothing}
      </div>
      ${
        this.selected.size
          ? html`<form class="bar bulk" part="bulk" @submit=${this.#bulk}>
            <strong>${t.t('selected', { n: this.selected.size })}</strong>
            <select name="to" aria-label=${t.t('moveTo')}>${this.cols.map((c) => option(c.id, c.name, ''))}</select>
            <button value="move">${t.t('move')}</button>
            ${mayReassign ? html`<select name="owner" aria-label=${t.t('reassignTo')}>${this.#users.filter((u) => u.roles.includes('sales')).map((u) => option(u.id, u.name, ''))}</select><button value="reassign">${t.t('reassign')}</button>` : nothing}
            ${this.#reasons.length ? html`<select name="reason" aria-label=${t.t('lostReason')}>${this.#reasons.map((o) => option(o.value, t.pick(o.label), ''))}</select>` : nothing}
            <button class="danger" value="lose">${t.t('lose')}</button>
            <button type="button" @click=${() => this.#toggle('', false, true)}>${t.t('clear')}</button>
          </form>`
          : nothing
      }
      <div class="cols" @keydown=${this.#keydown} @focusin=${(e: Event) => (this.#active = (e.target as HTMLElement).dataset?.id ?? this.#active)} @dragstart=${(
        e: DragEvent,
      ) => {
        this.#drag = (e.target as HTMLElement).dataset?.id ?? '';
        e.dataTransfer?.setData('text/plain', this.#drag);
      }} @dragend=${this.#dragEnd}>
        ${this.cols.map((col, i) => this.#column(col, i, cols[i]!, sums[i]!))}
      </div>
      <p id="hint" class="sr">${t.t('hint')}</p>
      <div class="sr" aria-live="assertive">${this.said}</div>
      <dialog part="dialog" aria-label=${t.t('form')} @close=${() => (this.formId = '')}>
        ${this.formId ? html`<stage-feedback-form opportunity-id=${this.formId} .baseUrl=${this.baseUrl} .token=${this.token} .tokenProvider=${this.tokenProvider}></stage-feedback-form>` : nothing}
        <form method="dialog"><button>${t.t('close')}</button></form>
      </dialog>`;
  }

  #column(col: Column, i: number, list: BoardCard[], sums: Map<string, number>[]) {
    const t = this.i18n;
    const start = Math.max(0, Math.floor((this.#scroll[i] ?? 0) / SLOT) - OVERSCAN);
    const end = Math.min(list.length, start + Math.ceil(innerHeight / SLOT) + 2 * OVERSCAN);
    const shown = list.slice(start, end);
    const money = (m: Map<string, number>) => [...m].map(([cur, n]) => t.money(n, cur)).join(' + ') || t.money(0);
    const active = shown.some((c) => c.id === this.#active) ? this.#active : shown[0]?.id;
    const g = this.grab;
    return html`<section part="column" class=${this.over === i || g?.col === i ? 'over' : ''} data-stage=${col.id} aria-labelledby="h${i}"
        @dragover=${(e: DragEvent) => {
          if (!this.#drag) return;
          e.preventDefault();
          if (this.over !== i) this.over = i;
        }}
        @drop=${(e: DragEvent) => this.#drop(e, i)}>
      <header part="column-header">
        <input type="checkbox" aria-label=${t.t('select', { name: col.name })} .checked=${!!list.length && list.every((c) => this.selected.has(c.id))}
          @change=${(e: Event) => list.forEach((c) => this.#toggle(c.id, (e.target as HTMLInputElement).checked))} />
        <h3 id="h${i}">${col.name}</h3><span>${list.length}</span>
        <div part="total">${money(sums[0]!)} · ${t.t('weighted')} ${money(sums[1]!)}</div>
      </header>
      <div class="cards" part="cards" @scroll=${(e: Event) => this.#scrolled(i, e.target as HTMLElement)}><ul style="padding-top:${start * SLOT}px;padding-bottom:${(list.length - end) * SLOT}px">
        ${shown.map((c) => {
          const note = this.notes.get(c.id);
          const days = Math.max(0, Math.floor((Date.now() - Date.parse(c.stageEnteredAt)) / 864e5));
          return html`<li part="card" class="card ${note ? 'noted' : ''} ${g?.id === c.id ? 'grabbed' : ''} ${this.busy.has(c.id) ? 'busy' : ''}"
              tabindex=${c.id === active ? 0 : -1} draggable="true" data-id=${c.id} aria-describedby="hint">
            <input type="checkbox" tabindex="-1" aria-label=${t.t('select', { name: c.name })} .checked=${this.selected.has(c.id)} @change=${() => this.#toggle(c.id)} />
            <button class="name" part="card-name" tabindex="-1" @click=${() => this.#open(c.id)}>${c.name}</button>
            <span class="muted">${c.customerName}</span>
            <span>${t.money(c.amount, c.currency)} · ${c.ownerName}</span>
            <span class="muted">${t.t('days', { n: days })}
              ${c.overdue ? html`<b part="mark overdue" class="overdue">${t.t('overdue')}</b>` : nothing}
              ${c.stale ? html`<b part="mark stale">${t.t('stale')}</b>` : nothing}</span>
            ${
              note
                ? html`<div class="refusal" part="refusal" role="alert">
                  <ul>${note.lines.map((l) => html`<li>${l}</li>`)}</ul>
                  ${note.retry ? html`<button @click=${() => this.#fill(c.id)}>${t.t('fill')}</button> <button class="primary" @click=${() => this.#send([note.retry!])}>${t.t(note.approval ? 'requestApproval' : 'retry')}</button>` : nothing}
                  <button aria-label=${t.t('close')} @click=${() => this.notes.delete(c.id) && this.requestUpdate()}>×</button>
                </div>`
                : nothing
            }
          </li>`;
        })}
      </ul></div>
    </section>`;
  }
}

export const define = (tag = 'opportunity-board') => defineElement(tag, OpportunityBoard);

declare global {
  interface HTMLElementTagNameMap {
    'opportunity-board': OpportunityBoard;
  }
  interface GlobalEventHandlersEventMap {
    'sp-opportunity-open': SpOpportunityOpenEvent;
    'sp-bulk-done': SpBulkDoneEvent;
  }
}
