import { opportunityDocName, SERVER_ROOT, type OpportunityView } from '@sales-process/core';
import { html, nothing, type PropertyValues } from 'lit';
import type { ApiClientError } from '../client/api-client.js';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import { findLiveDoc } from '../client/live-doc.js';
import {
  SpApprovalRequestedEvent,
  SpBeforeActionEvent,
  SpStageChangedEvent,
  SpStageCompletedEvent,
  SpTransitionRefusedEvent,
} from '../shared/events.js';
import { LiveDocController } from '../shared/live-controller.js';
import { LocalizeController } from '../shared/i18n.js';
import type { RecordActions } from './record-actions.js';
import styles from './opportunity-stage-path.styles.js';
import { messages } from './messages.js';

type StepState = 'done' | 'current' | 'todo' | 'won' | 'lost' | 'invalid';
type Panel = null | 'lose' | 'invalidate' | 'order' | 'moveBack';
interface Option {
  value: string;
  label: { zh: string; en: string };
}

/**
 * @summary An opportunity's stages as a path: completed, current and remaining pre-sale
 * stages, the terminal state, and post-sale stages once won; with the actions the rules
 * allow (complete, request approval, move back, win, lose, invalidate, order, post-sale staff).
 *
 * @event {SpBeforeActionEvent} sp-before-action - Cancelable, before an action is sent; `detail: {opportunityId, action, body}`.
 * @event {SpStageChangedEvent} sp-stage-changed - The server moved the opportunity; `detail: {opportunityId, action, stageId, status}`.
 * @event {SpStageCompletedEvent} sp-stage-completed - A stage was completed; `detail: {opportunityId, fromStageId, toStageId}`.
 * @event {SpApprovalRequestedEvent} sp-approval-requested - Completing asked the supervisor; `detail: {opportunityId, stageId}`.
 * @event {SpTransitionRefusedEvent} sp-transition-refused - The server refused; `detail: {opportunityId, action, code, details}`, `details` lists every unmet gate; `code: 'STALE_STATE'` when the opportunity changed meanwhile (it is reloaded).
 * @event {SpOpportunityEditedEvent} sp-opportunity-edited - The record was edited from the "more actions" menu; `detail: {opportunityId, changes}` (`changes`: the name, amount, currency and expected close date that changed).
 * @event {SpOpportunityReassignedEvent} sp-opportunity-reassigned - The opportunity went to another owner (with "all of the owner's open opportunities" checked, those too); `detail: {opportunityId, fromOwnerId, toOwnerId, opportunityIds}`.
 * @event {SpProcessChangedEvent} sp-process-changed - The opportunity moved to another sales process; `detail: {opportunityId, fromProcessId, processId, stageId}` (`sp-stage-changed` follows with `action: 'changeProcess'`; reopening fires `sp-stage-changed` with `action: 'reopen'`).
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
 * @csspart summary - The line with name, amount, win rate and days in stage.
 * @csspart path - An ordered list of steps (pre-sale, then post-sale).
 * @csspart step - One step; it also has the part of its state: `done`, `current`, `todo`, `won`, `lost` or `invalid`.
 * @csspart done - A completed step.
 * @csspart current - The current step.
 * @csspart todo - A step still ahead.
 * @csspart won - The won terminal step.
 * @csspart lost - The lost terminal step.
 * @csspart invalid - The invalid terminal step.
 * @csspart actions - The action buttons.
 * @csspart more - The "more actions" button (edit, reassign, reopen, change process), shown to the owner, the owner's supervisor and admins; its menu loads on first use.
 * @csspart menu - The "more actions" menu (`role="menu"`).
 * @csspart menu-item - One item of that menu.
 * @csspart dialog - The modal dialog of a menu action (`<dialog>`, with `data-action`: `edit`, `reassign`, `reopen` or `changeProcess`).
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
export class OpportunityStagePath extends ConnectedElement {
  static override styles = styles;

  static override properties = {
    opportunityId: { attribute: 'opportunity-id' },
    opportunity: { attribute: false },
    readOnly: { type: Boolean, attribute: 'read-only' },
    live: { type: Boolean },
    busy: { state: true },
    refusal: { state: true },
    panel: { state: true },
    lostReasons: { state: true },
    users: { state: true },
  };

  /** The opportunity to show; loaded from the server. */
  opportunityId = '';
  /** The loaded opportunity (may also be set directly). */
  opportunity: OpportunityView | null = null;

  /** Show the path only, without action buttons. */
  readOnly = false;
  /** Follow the opportunity live (its server state through the shared live doc). */
  live = true;

  protected busy = false;
  protected refusal: { title: string; lines: string[] } | null = null;
  protected panel: Panel = null;
  protected lostReasons: Option[] = [];
  protected users: { id: string; name: string; roles: string[] }[] = [];

  readonly #i18n = new LocalizeController(this, messages);
  protected readonly liveDoc = new LiveDocController(this, { hasContent: () => !!this.opportunity });

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (
      (changed.has('opportunityId') ||
        changed.has('baseUrl') ||
        changed.has('connection' as never) ||
        (changed.has('token') && !this.opportunity)) &&
      this.opportunityId
    )
      void this.refresh();
    if (this.live && !this.readOnly && this.opportunityId) {
      this.liveDoc.bind(this.client, opportunityDocName(this.opportunityId));
      // The server writes the opportunity's state into its doc after every command.
      const server = this.liveDoc.doc?.getMap(SERVER_ROOT);
      if (server?.size && server.get('updatedAt') !== this.opportunity?.updatedAt)
        this.opportunity = server.toJSON() as OpportunityView;
    }
  }

  protected override reload() {
    this.liveDoc.retry();
    return this.refresh();
  }

  /** Reloads the opportunity from the server. */
  async refresh(): Promise<void> {
    if (!this.opportunityId) return;
    // A newer load aborts the one it supersedes (what @lit/task does, without its 0.7 KB on this page).
    this.#loads?.abort();
    this.#loads = new AbortController();
    try {
      this.opportunity = await this.client.get<OpportunityView>(
        `/opportunities/${encodeURIComponent(this.opportunityId)}`,
        this.#loads.signal,
      );
      this.failure = null;
    } catch (e) {
      this.loadFailed(e, this.opportunity);
    }
  }

  #loads: AbortController | undefined;

  /** Resolves once values typed in this opportunity's form (if it is open here) reached the server; commands wait for it. */
  flushForm(): Promise<void> | undefined {
    return findLiveDoc(this.client.baseUrl, opportunityDocName(this.opportunity?.id ?? this.opportunityId))?.flush();
  }

  /** Sends one action; refusals are shown as the list of unmet gates, in words. */
  async act(
    action: string,
    path: string,
    body: Record<string, unknown> = {},
    method: 'POST' | 'PUT' = 'POST',
  ): Promise<boolean> {
    const client = this.client;
    const o = this.opportunity;
    if (!o) return false;
    // Every command carries the stage the user saw: a double click or a retry cannot move
    // twice, and nothing is decided on a stage the user did not see.
    body = { ...body, expectedStageId: o.stageId };
    if (!this.dispatchEvent(new SpBeforeActionEvent({ opportunityId: o.id, action, body }))) return false;
    if (globalThis.navigator && navigator.onLine === false) {
      this.refusal = { title: this.#i18n.t('offline'), lines: [] };
      return false;
    }
    this.busy = true;
    this.refusal = null;
    try {
      await this.flushForm();
      const res = await client.request<OpportunityView>(
        method,
        `/opportunities/${encodeURIComponent(o.id)}${path}`,
        body,
      );
      const from = o.stageId;
      if (res.data && 'stageId' in res.data) this.opportunity = res.data;
      this.panel = null;
      if (res.status === 202)
        this.dispatchEvent(new SpApprovalRequestedEvent({ opportunityId: o.id, stageId: o.stageId }));
      else if (path !== '/orders' && path !== '/post-sale-staff') {
        const now = this.opportunity!;
        this.dispatchEvent(
          new SpStageChangedEvent({ opportunityId: o.id, action, stageId: now.stageId, status: now.status }),
        );
        if (action === 'completeStage')
          this.dispatchEvent(
            new SpStageCompletedEvent({ opportunityId: o.id, fromStageId: from, toStageId: now.stageId }),
          );
      }
      if (path === '/orders') await this.refresh();
      return true;
    } catch (e) {
      const err = e as ApiClientError;
      if (err.code === 'STALE_STATE') {
        // Someone else moved it since: show it as it is now, and say so.
        this.refusal = { title: this.failureMessage(err), lines: [] };
        this.panel = null;
        this.dispatchEvent(
          new SpTransitionRefusedEvent({ opportunityId: o.id, action, code: err.code, details: err.details ?? [] }),
        );
        await this.refresh();
        return false;
      }
      const title = err.code === 'NETWORK' ? this.#i18n.t('offline') : this.#i18n.t('refused') + this.errorMessage(err);
      this.refusal = { title, lines: this.detailMessages(err, (d) => JSON.stringify(d)) };
      this.dispatchEvent(
        new SpTransitionRefusedEvent({ opportunityId: o.id, action, code: err.code, details: err.details ?? [] }),
      );
      if (err.status === 0 || err.status === 401 || err.status === 403) this.reportError(err);
      return false;
    } finally {
      this.busy = false;
    }
  }

  async #openPanel(panel: Panel) {
    this.panel = this.panel === panel ? null : panel;
    const client = this.client;
    if (panel === 'lose' && !this.lostReasons.length) {
      const fields = await client
        .get<{ items: { key: string; options?: Option[] }[] }>('/fields/opportunity')
        .catch(() => ({ items: [] }));
      this.lostReasons = fields.items.find((f) => f.key === 'lostReason')?.options ?? [];
    }
    await this.updateComplete;
    this.shadowRoot?.querySelector<HTMLElement>('.panel select, .panel input, .panel button')?.focus();
  }

  async #loadUsers() {
    const client = this.client;
    if (this.users.length) return;
    this.users = (
      await client
        .get<{ users: { id: string; name: string; roles: string[] }[] }>('/directory')
        .catch(() => ({ users: [] }))
    ).users;
  }

  #record?: RecordActions;

  /** The owner, the owner's supervisor and admins may edit (and see the menu); the server decides. */
  #mayEdit(o: OpportunityView): boolean {
    const { subject, roles } = this.client;
    return !!subject && (subject === o.ownerId || subject === o.supervisorId || roles.includes('admin'));
  }

  readonly #more = () =>
    import('./record-actions.js').then(
      (m) =>
        (this.#record ??= new m.RecordActions(
          this,
          () => this.client,
          (e) => this.reportError(e),
        )).toggle(),
      (e: unknown) => this.reportError(e),
    );

  #form(e: Event): Record<string, string> {
    e.preventDefault();
    return Object.fromEntries(new FormData(e.target as HTMLFormElement)) as Record<string, string>;
  }

  #renderActions(o: OpportunityView) {
    if (this.readOnly) return nothing;
    const t = this.#i18n;
    const has = (a: string) => o.actions.includes(a);
    const approval = o.gates.find((g) => g.gate === 'approval');
    const current = stageIndex(o);
    const list = o.phase === 'postsale' ? o.path.postsale : o.path.presale;
    const earlier = list.slice(0, Math.max(current, 0));
    const disabled = this.busy;
    return html`
      ${o.approval?.state === 'pending' ? html`<p class="status pending" role="status">${t.t('pending')}</p>` : nothing}
      ${o.approval?.state === 'rejected' ? html`<p class="status error" role="status">${t.t('rejected')}</p>` : nothing}
      <div class="actions" part="actions" role="group" aria-label=${t.t('actions')}>
        ${
          has('completeStage')
            ? html`<button class="primary" ?disabled=${disabled || o.approval?.state === 'pending'} @click=${() => this.act('completeStage', '/complete-stage')}>
              ${t.t(o.phase === 'postsale' ? 'completePostsale' : approval && !approval.met ? 'requestApproval' : 'complete')}
            </button>`
            : nothing
        }
        ${has('win') ? html`<button class="won" ?disabled=${disabled} @click=${() => this.act('win', '/win')}>${t.t(approval && !approval.met ? 'requestApproval' : 'win')}</button>` : nothing}
        ${has('createOrder') ? html`<button ?disabled=${disabled} aria-expanded=${this.panel === 'order'} @click=${() => this.#openPanel('order')}>${t.t('createOrder')}</button>` : nothing}
        ${has('moveBack') && earlier.length ? html`<button ?disabled=${disabled} aria-expanded=${this.panel === 'moveBack'} @click=${() => this.#openPanel('moveBack')}>${t.t('moveBackGo')}</button>` : nothing}
        ${has('lose') ? html`<button class="danger" ?disabled=${disabled} aria-expanded=${this.panel === 'lose'} @click=${() => this.#openPanel('lose')}>${t.t('lose')}</button>` : nothing}
        ${has('invalidate') ? html`<button class="danger" ?disabled=${disabled} aria-expanded=${this.panel === 'invalidate'} @click=${() => this.#openPanel('invalidate')}>${t.t('invalidate')}</button>` : nothing}
        ${o.orderCount ? html`<span class="status">${t.t('orders', { n: o.orderCount })}</span>` : nothing}
        ${
          // Edit, reassign, reopen, change process: their code loads when the menu is first opened.
          this.#mayEdit(o)
            ? html`<span class="more"><button part="more" aria-haspopup="menu" aria-expanded=${!!this.#record?.menu} @click=${this.#more}>${t.t('more')} ▾</button>${this.#record?.render()}</span>`
            : nothing
        }
      </div>
      ${
        this.panel === 'order'
          ? html`<form class="panel" @submit=${(e: Event) => this.act('createOrder', '/orders', { amount: Number(this.#form(e).amount) })}>
            <label>${t.t('orderAmount')} <input name="amount" type="number" min="0" step="0.01" required .value=${String(o.amount)} /></label>
            <button class="primary" type="submit" ?disabled=${disabled}>${t.t('create')}</button>
            <button type="button" @click=${() => (this.panel = null)}>${t.t('cancel')}</button>
          </form>`
          : nothing
      }
      ${
        this.panel === 'moveBack'
          ? html`<form class="panel" @submit=${(e: Event) => this.act('moveBack', '/move-back', { stageId: this.#form(e).stageId })}>
            <label>${t.t('moveBack')}
              <select name="stageId" required>${earlier.map((st) => html`<option value=${st.id}>${st.name}</option>`)}</select>
            </label>
            <button class="primary" type="submit" ?disabled=${disabled}>${t.t('moveBackGo')}</button>
            <button type="button" @click=${() => (this.panel = null)}>${t.t('cancel')}</button>
          </form>`
          : nothing
      }
      ${
        this.panel === 'lose'
          ? html`<form class="panel" @submit=${(e: Event) => {
              const f = this.#form(e);
              void this.act('lose', '/lose', { reason: f.reason || null, comment: f.comment || undefined });
            }}>
            <label>${t.t('lostReason')}
              <select name="reason" ?required=${this.lostReasons.length > 0}>
                <option value="">${t.t('choose')}</option>
                ${this.lostReasons.map((r) => html`<option value=${r.value}>${t.pick(r.label)}</option>`)}
              </select>
            </label>
            <label>${t.t('comment')} <input name="comment" maxlength="2000" /></label>
            <button class="primary" type="submit" ?disabled=${disabled}>${t.t('confirm')}</button>
            <button type="button" @click=${() => (this.panel = null)}>${t.t('cancel')}</button>
          </form>`
          : nothing
      }
      ${
        this.panel === 'invalidate'
          ? html`<div class="panel" role="group" aria-label=${t.t('invalidate')}>
            <span>${t.t('confirmInvalidate')}</span>
            <button class="primary" ?disabled=${disabled} @click=${() => this.act('invalidate', '/invalidate')}>${t.t('confirm')}</button>
            <button @click=${() => (this.panel = null)}>${t.t('cancel')}</button>
          </div>`
          : nothing
      }
      ${o.status === 'won' && o.phase === 'postsale' ? this.#renderStaff(o) : nothing}
      ${
        this.refusal
          ? html`<div class="refusal" role="alert">
            <strong>${this.refusal.title}</strong>
            ${this.refusal.lines.length ? html`<ul>${this.refusal.lines.map((l) => html`<li>${l}</li>`)}</ul>` : nothing}
          </div>`
          : nothing
      }
    `;
  }

  #renderStaff(o: OpportunityView) {
    const t = this.#i18n;
    if (!this.users.length) void this.#loadUsers();
    const names = o.postsaleStaff.map((id) => this.users.find((u) => u.id === id)?.name ?? id);
    const candidates = this.users.filter((u) => u.roles.includes('postsale') && !o.postsaleStaff.includes(u.id));
    return html`<form class="panel" @submit=${(e: Event) => {
      const f = this.#form(e);
      if (f.userId)
        void this.act('assignStaff', '/post-sale-staff', { userIds: [...o.postsaleStaff, f.userId] }, 'PUT');
    }}>
      <span>${t.t('staff')}：${names.length ? names.join('、') : t.t('noStaff')}</span>
      ${
        candidates.length
          ? html`<select name="userId" aria-label=${t.t('staff')}>${candidates.map((u) => html`<option value=${u.id}>${u.name}</option>`)}</select>
            <button type="submit">${t.t('assign')}</button>`
          : nothing
      }
    </form>`;
  }

  #presaleState(o: OpportunityView, index: number): StepState {
    const current = o.path.presale.findIndex((s) => s.id === o.stageId);
    if (o.status === 'won') return 'done';
    if (o.status === 'open' && o.phase === 'presale')
      return index < current ? 'done' : index === current ? 'current' : 'todo';
    // lost or invalid: stages before the one it closed from were done.
    return index < current ? 'done' : 'todo';
  }

  protected override render() {
    const o = this.opportunity;
    if (!o)
      return this.failure || this.liveDoc.failure
        ? this.renderFailure(this.failure ?? this.liveDoc.failure)
        : html`<p class="muted" aria-busy="true">${this.#i18n.t('loading')}</p>`;
    const t = this.#i18n;
    const closed = o.status === 'lost' || o.status === 'invalid';
    return html`
      <div class="summary" part="summary">
        <span class="name">${o.name}</span>
        <span>${t.money(o.amount, o.currency)}</span>
        <span>${t.t('winRate')}: <strong>${t.percent(o.winRate)}</strong></span>
        ${
          o.status === 'open' || o.phase === 'postsale'
            ? html`<span class="muted">${t.t('daysInStage', { days: o.daysInStage })}</span>`
            : html`<span class="muted">${o.terminalName}</span>`
        }
      </div>
      <div class="phase" id="presale-label">${t.t('presale')}</div>
      <ol part="path" aria-labelledby="presale-label">
        ${o.path.presale.map((s, i) => this.#step(s.name, this.#presaleState(o, i), t.percent(s.winRate)))}
        ${o.status === 'won' ? this.#step(o.path.terminal.won.name, 'won', t.percent(o.path.terminal.won.winRate)) : nothing}
        ${closed ? this.#step(o.path.terminal[o.status as 'lost' | 'invalid'].name, o.status as StepState, t.percent(o.winRate)) : nothing}
      </ol>
      ${
        o.status === 'won' && o.path.postsale.length
          ? html`<div class="phase" id="postsale-label">${t.t('postsale')}</div>
            <ol part="path" aria-labelledby="postsale-label">
              ${o.path.postsale.map((s, i) => {
                const current = o.path.postsale.findIndex((x) => x.id === o.stageId);
                const st: StepState =
                  o.phase === 'done' ? 'done' : i < current ? 'done' : i === current ? 'current' : 'todo';
                return this.#step(
                  s.name,
                  st,
                  st === 'current' && o.overdue ? t.t('overdue') : '',
                  st === 'current' && o.overdue,
                );
              })}
            </ol>`
          : nothing
      }
      ${this.#renderActions(o)}
    `;
  }

  #step(name: string, st: StepState, meta: string, overdue = false) {
    const label = this.#i18n.t(`state_${st}` as 'state_done');
    return html`<li
      part="step ${st}"
      class="${st}${overdue ? ' overdue' : ''}"
      aria-current=${st === 'current' ? 'step' : nothing}
      title="${name} · ${label}"
    >
      <span class="step-name">${st === 'done' ? '✓ ' : ''}${name}</span>
      <span class="step-meta">${meta}<span class="sr-only"> (${label})</span></span>
    </li>`;
  }
}

function stageIndex(o: OpportunityView): number {
  const list = o.phase === 'postsale' ? o.path.postsale : o.path.presale;
  return list.findIndex((s) => s.id === o.stageId);
}

export const define = (tag = 'opportunity-stage-path') => defineElement(tag, OpportunityStagePath);

declare global {
  interface HTMLElementTagNameMap {
    'opportunity-stage-path': OpportunityStagePath;
  }
}
