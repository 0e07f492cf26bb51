/**
 * The stage path's record actions: its "more actions" menu and the dialogs behind it (edit the
 * record, reassign it, reopen it, change its process). A chunk of its own, imported by the path
 * the first time the menu is opened, so a salesperson's page does not load it up front.
 *
 * It renders into the path's shadow root (the path calls `render()` in its template) and adopts
 * its own styles there. What it offers follows the view and the token: owner, the owner's
 * supervisor and admins edit; admins and the supervisor reassign an open one; reopening when the
 * view offers it (`actions` has `reopen`: the process allows it), a won one for admins only;
 * changing process while open and pre-sale. The server stays the authority: a refusal shows its
 * message in the dialog.
 */
import type { Detail, LocalizedText, OpportunityView } from '@sales-process/core';
import { html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import { ApiClientError, type ApiClient } from '../client/api-client.js';
import { SpBeforeActionEvent, SpStageChangedEvent, SpTransitionRefusedEvent } from '../shared/events.js';
import { LocalizeController } from '../shared/i18n.js';
import styles from './record-actions.styles.js';
import { SpOpportunityEditedEvent, SpOpportunityReassignedEvent, SpProcessChangedEvent } from './record-events.js';
import { recordMessages } from './record-messages.js';

export type RecordAction = 'edit' | 'reassign' | 'reopen' | 'changeProcess';

/** What the menu needs of the stage path. */
export interface RecordHost extends ReactiveControllerHost, HTMLElement {
  opportunity: OpportunityView | null;
  refresh(): Promise<void>;
  flushForm(): Promise<void> | undefined;
}

interface User {
  id: string;
  name: string;
  roles: string[];
}
interface ProcessItem {
  id: string;
  name: string;
  /** Whether the process's conditions hold for this customer and opportunity (absent: it does). */
  applies?: boolean;
}
/** `GET /opportunities/{id}/change-process?processId=…`: where it would land, and that stage's gates. */
export interface ChangePreview {
  processId: string;
  processName: string;
  version: number;
  landing: { stageId: string | null; stageName: string | null; reason: 'chosen' | 'sameId' | 'first' };
  stages: { id: string; name: string }[];
  gates: { gate: string; met: boolean; message: LocalizedText }[];
}

export class RecordActions implements ReactiveController {
  /** The menu is open. */
  menu = false;
  /** The dialog open, if any. */
  dialog: RecordAction | null = null;
  busy = false;
  error: string | null = null;
  /** Edit: the record as the server has it now, and its ETag (sent as If-Match). */
  record: { view: OpportunityView; etag: string | null } | null = null;
  users: User[] | null = null;
  processes: ProcessItem[] | null = null;
  preview: ChangePreview | null = null;

  readonly #t: LocalizeController<typeof recordMessages>;
  #loads: AbortController | null = null;

  readonly #host: RecordHost;
  /** The path's REST client (its connection's, with the current token). */
  readonly #api: () => ApiClient;
  /** Fires the path's `sp-error` (network, 401, 403). */
  readonly #report: (e: unknown) => void;

  constructor(host: RecordHost, api: () => ApiClient, report: (e: unknown) => void) {
    this.#host = host;
    this.#api = api;
    this.#report = report;
    this.#t = new LocalizeController(host, recordMessages);
    host.addController(this);
    const root = host.shadowRoot;
    if (root && styles.styleSheet) root.adoptedStyleSheets = [...root.adoptedStyleSheets, styles.styleSheet];
  }

  hostDisconnected(): void {
    this.#closeMenu();
    this.#loads?.abort();
  }

  /** The actions this user may take on this opportunity (the server still decides). */
  actions(): RecordAction[] {
    const o = this.#host.opportunity;
    if (!o) return [];
    const { subject: me, roles } = this.#api();
    const admin = roles.includes('admin');
    const supervisor = !!me && me === o.supervisorId;
    const acts = admin || supervisor || (!!me && me === o.ownerId);
    const out: RecordAction[] = [];
    if (acts) out.push('edit');
    if ((admin || supervisor) && (o.status === 'open' || o.phase === 'postsale')) out.push('reassign');
    if (acts && o.actions.includes('reopen') && (o.status !== 'won' || admin)) out.push('reopen');
    if (acts && o.status === 'open' && o.phase === 'presale') out.push('changeProcess');
    return out;
  }

  /** Opens the menu (focus on its first item), or closes it. */
  async toggle(): Promise<void> {
    if (this.menu) return this.#closeMenu(true);
    this.menu = true;
    document.addEventListener('pointerdown', this.#outside, true);
    await this.#update();
    this.#items()[0]?.focus();
  }

  #update() {
    this.#host.requestUpdate();
    return this.#host.updateComplete;
  }

  #items(): HTMLElement[] {
    return [...(this.#host.shadowRoot?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
  }

  #moreButton() {
    return this.#host.shadowRoot?.querySelector<HTMLElement>('[part~="more"]');
  }

  #closeMenu(focusButton = false) {
    document.removeEventListener('pointerdown', this.#outside, true);
    if (!this.menu) return;
    this.menu = false;
    this.#host.requestUpdate();
    if (focusButton) this.#moreButton()?.focus();
  }

  readonly #outside = (e: Event) => {
    const more = this.#host.shadowRoot?.querySelector('.more');
    if (more && !e.composedPath().includes(more)) this.#closeMenu();
  };

  /** The menu's keys: arrows, Home and End move; Escape closes it (focus back on its button); Tab leaves it. */
  readonly #menuKey = (e: KeyboardEvent) => {
    const items = this.#items();
    const at = items.indexOf(this.#host.shadowRoot?.activeElement as HTMLElement);
    const go = (i: number) => {
      e.preventDefault();
      items[(i + items.length) % items.length]?.focus();
    };
    if (e.key === 'ArrowDown') go(at + 1);
    else if (e.key === 'ArrowUp') go(at - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(items.length - 1);
    else if (e.key === 'Escape') {
      e.preventDefault();
      this.#closeMenu(true);
    } else if (e.key === 'Tab') this.#closeMenu();
  };

  /** Opens one action's dialog (modal: focus moves into it, Escape closes it) and loads what it needs. */
  async open(action: RecordAction): Promise<void> {
    this.#closeMenu();
    Object.assign(this, { dialog: action, error: null, record: null, users: null, processes: null, preview: null });
    await this.#update();
    this.#host.shadowRoot?.querySelector('dialog')?.showModal();
    this.#loads?.abort();
    const signal = (this.#loads = new AbortController()).signal;
    const o = this.#host.opportunity!;
    const api = this.#api();
    try {
      if (action === 'edit') await this.#loadRecord(signal);
      else if (action === 'reassign')
        this.users = (await api.get<{ users: User[] }>('/directory', signal)).users.filter(
          (u) => u.roles.includes('sales') && u.id !== o.ownerId,
        );
      else if (action === 'changeProcess')
        this.processes = (
          await api.get<{ items: ProcessItem[] }>(
            `/processes?${new URLSearchParams({ usableBy: o.ownerId, customerId: o.customerId, fields: JSON.stringify(o.fields) })}`,
            signal,
          )
        ).items.filter((p) => p.id !== o.processId);
      // (`fields`: the process's conditions are judged on this opportunity's values and its customer's.)
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') return;
      this.#fail(e);
    }
    await this.#update();
    this.#host.shadowRoot?.querySelector<HTMLElement>('dialog :is(input, select)')?.focus();
  }

  /** Edit works on the record as the server has it now: its values, and its ETag for If-Match. */
  async #loadRecord(signal?: AbortSignal) {
    const api = this.#api();
    const res = await api.fetch(`${api.root}/opportunities/${encodeURIComponent(this.#host.opportunity!.id)}`, {
      signal,
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const err = body?.error ?? {};
      throw new ApiClientError(res.status, err.code ?? 'INTERNAL', err.details ?? [], err.message ?? '', err.messages);
    }
    this.record = { view: body as OpportunityView, etag: res.headers.get('etag') };
  }

  #close = () => this.#host.shadowRoot?.querySelector('dialog')?.close();

  /** The dialog closed (a button, Escape, or done): focus goes back to the menu's button. */
  readonly #closed = () => {
    this.#loads?.abort();
    this.dialog = null;
    this.#host.requestUpdate();
    this.#moreButton()?.focus();
  };

  #describe(e: { message?: string; messages?: LocalizedText; details?: Detail[] }): string {
    const t = this.#t;
    return [e.messages ? t.pick(e.messages) : e.message, ...(e.details ?? []).map((d) => t.pick(d.message))]
      .filter(Boolean)
      .join('；');
  }

  #fail(e: unknown) {
    const err = e as ApiClientError;
    this.error = err.code === 'NETWORK' ? this.#t.t('offline') : this.#t.t('refused') + this.#describe(err);
    if (err.status === 0 || err.status === 401 || err.status === 403) this.#report(err);
  }

  /**
   * Sends one request of an action: `sp-before-action` first (cancelable), values typed in the
   * form just before reach the server first; a refusal shows in the dialog and fires
   * `sp-transition-refused`; a stale state reloads the view.
   */
  async #send<T>(
    action: RecordAction,
    method: string,
    path: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<T | undefined> {
    const o = this.#host.opportunity!;
    const api = this.#api();
    if (!this.#host.dispatchEvent(new SpBeforeActionEvent({ opportunityId: o.id, action, body }))) return;
    this.busy = true;
    this.error = null;
    this.#host.requestUpdate();
    try {
      if (globalThis.navigator?.onLine === false) throw new ApiClientError(0, 'NETWORK', [], 'offline');
      await this.#host.flushForm();
      return (await api.request<T>(method, path, body, headers)).data;
    } catch (e) {
      const err = e as ApiClientError;
      this.#fail(err);
      this.#host.dispatchEvent(
        new SpTransitionRefusedEvent({ opportunityId: o.id, action, code: err.code, details: err.details ?? [] }),
      );
      if (err.code === 'STALE_STATE') {
        await this.#host.refresh();
        if (action === 'edit') await this.#loadRecord().catch((x: unknown) => this.#fail(x));
      }
      return undefined;
    } finally {
      this.busy = false;
      this.#host.requestUpdate();
    }
  }

  readonly #submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target as HTMLFormElement)) as Record<string, string>;
    const o = this.#host.opportunity!;
    const id = encodeURIComponent(o.id);
    const done = (view: OpportunityView) => {
      this.#host.opportunity = view;
      this.#close();
    };
    switch (this.dialog) {
      case 'edit': {
        const { view, etag } = this.record!;
        const changes: SpOpportunityEditedEvent['detail']['changes'] = {};
        if (f.name!.trim() !== view.name) changes.name = f.name!.trim();
        if (Number(f.amount) !== view.amount) changes.amount = Number(f.amount);
        if (f.currency!.toUpperCase() !== view.currency) changes.currency = f.currency!.toUpperCase();
        if ((f.expectedCloseDate || null) !== view.expectedCloseDate)
          changes.expectedCloseDate = f.expectedCloseDate || null;
        if (!Object.keys(changes).length) return this.#close();
        const res = await this.#send<OpportunityView>(
          'edit',
          'PATCH',
          `/opportunities/${id}`,
          { ...changes, ...(f.reason ? { reason: f.reason } : {}) },
          etag ? { 'if-match': etag } : {},
        );
        if (!res) return;
        done(res);
        this.#host.dispatchEvent(new SpOpportunityEditedEvent({ opportunityId: o.id, changes }));
        return;
      }
      case 'reassign': {
        // Checked: every open opportunity of this owner, in one request (a departing salesperson's).
        const all = f.allOfOwner === 'on';
        const res = await this.#send<{
          items: {
            opportunityId: string;
            result: string;
            error?: { code: ApiClientError['code']; message: string; details?: Detail[] };
          }[];
        }>('reassign', 'POST', '/opportunities/reassign', {
          ...(all ? { fromOwnerId: o.ownerId } : { opportunityIds: [o.id] }),
          toOwnerId: f.toOwnerId,
          ...(f.reason ? { reason: f.reason } : {}),
        });
        const item = res?.items.find((i) => i.opportunityId === o.id) ?? res?.items[0];
        if (!item) return;
        if (item.result !== 'moved') {
          // Answered per opportunity: this one was refused (closed, not the caller's to move, …).
          const err = item.error ?? { code: 'INVALID_TRANSITION' as const, message: '' };
          this.error = this.#t.t('refused') + this.#describe(err);
          this.#host.dispatchEvent(
            new SpTransitionRefusedEvent({
              opportunityId: o.id,
              action: 'reassign',
              code: err.code,
              details: err.details ?? [],
            }),
          );
          this.#host.requestUpdate();
          return;
        }
        this.#close();
        this.#host.dispatchEvent(
          new SpOpportunityReassignedEvent({
            opportunityId: o.id,
            fromOwnerId: o.ownerId,
            toOwnerId: f.toOwnerId!,
            opportunityIds: res!.items.filter((i) => i.result === 'moved').map((i) => i.opportunityId),
          }),
        );
        await this.#host.refresh();
        return;
      }
      case 'reopen': {
        const res = await this.#send<OpportunityView>('reopen', 'POST', `/opportunities/${id}/reopen`, {
          stageId: f.stageId,
          ...(f.comment ? { comment: f.comment } : {}),
          expectedStageId: o.stageId,
        });
        if (!res) return;
        done(res);
        this.#host.dispatchEvent(
          new SpStageChangedEvent({ opportunityId: o.id, action: 'reopen', stageId: res.stageId, status: res.status }),
        );
        return;
      }
      case 'changeProcess': {
        const p = this.preview;
        if (!p) return;
        const res = await this.#send<OpportunityView>('changeProcess', 'POST', `/opportunities/${id}/change-process`, {
          processId: p.processId,
          // Where the preview said it lands (what the user saw), not the server's choice again.
          ...(p.landing.stageId ? { stageId: p.landing.stageId } : {}),
          expectedStageId: o.stageId,
        });
        if (!res) return;
        done(res);
        this.#host.dispatchEvent(
          new SpProcessChangedEvent({
            opportunityId: o.id,
            fromProcessId: o.processId,
            processId: res.processId,
            stageId: res.stageId,
          }),
        );
        this.#host.dispatchEvent(
          new SpStageChangedEvent({
            opportunityId: o.id,
            action: 'changeProcess',
            stageId: res.stageId,
            status: res.status,
          }),
        );
      }
    }
  };

  /** Where the opportunity would land in `processId` (at `stageId` when the user chose one), and that stage's gates. */
  async #previewChange(processId: string, stageId?: string) {
    this.#loads?.abort();
    const signal = (this.#loads = new AbortController()).signal;
    this.preview = null;
    this.error = null;
    this.#host.requestUpdate();
    if (!processId) return;
    const api = this.#api();
    try {
      this.preview = await api.get<ChangePreview>(
        `/opportunities/${encodeURIComponent(this.#host.opportunity!.id)}/change-process?processId=${encodeURIComponent(processId)}${stageId ? `&stageId=${encodeURIComponent(stageId)}` : ''}`,
        signal,
      );
    } catch (e) {
      if ((e as Error)?.name !== 'AbortError') this.#fail(e);
    }
    this.#host.requestUpdate();
  }

  render() {
    const t = this.#t;
    const o = this.#host.opportunity;
    return html`${
      this.menu
        ? html`<div role="menu" part="menu" aria-label=${t.t('menu')} @keydown=${this.#menuKey}>
          ${this.actions().map(
            (a) =>
              html`<button type="button" role="menuitem" part="menu-item" tabindex="-1" data-action=${a} @click=${() => this.open(a)}>${t.t(a)}</button>`,
          )}
        </div>`
        : nothing
    }${
      this.dialog && o
        ? html`<dialog part="dialog" aria-labelledby="sp-record-title" data-action=${this.dialog} @close=${this.#closed}>
          <h3 id="sp-record-title">${t.t(this.dialog)}</h3>
          <form @submit=${this.#submit}>
            ${this.#fields(o)}
            ${this.error ? html`<p class="alert" role="alert">${this.error}</p>` : nothing}
            <div class="buttons">
              <button type="button" @click=${this.#close}>${t.t('cancel')}</button>
              <button type="submit" class="primary" ?disabled=${this.busy || !this.#ready()}>${t.t(this.dialog === 'edit' ? 'save' : this.dialog === 'changeProcess' ? 'confirmChange' : this.dialog)}</button>
            </div>
          </form>
        </dialog>`
        : nothing
    }`;
  }

  #ready(): boolean {
    return this.dialog === 'edit'
      ? !!this.record
      : this.dialog === 'reassign'
        ? !!this.users?.length
        : this.dialog === 'changeProcess'
          ? !!this.preview
          : true;
  }

  /**
   * The landing stage's gates: those not met, in the server's words (they say what is missing),
   * and how many are met (the server words every gate as what is missing, so a met one is counted, not quoted).
   */
  #gates(gates: ChangePreview['gates']) {
    const t = this.#t;
    const unmet = gates.filter((g) => !g.met);
    const met = gates.length - unmet.length;
    if (!gates.length) return html`<p class="hint">${t.t('noGates')}</p>`;
    return html`${
      unmet.length
        ? html`<p><strong>${t.t('gates')}</strong></p>
          <ul class="gates">${unmet.map((g) => html`<li data-gate=${g.gate}>✗ ${t.pick(g.message)}</li>`)}</ul>`
        : nothing
    }${unmet.length && !met ? nothing : html`<p class="hint">${unmet.length ? t.t('metCount', { n: met }) : t.t('allMet')}</p>`}`;
  }

  #fields(o: OpportunityView) {
    const t = this.#t;
    const loading = html`<p class="hint" aria-busy="true">${t.t('loading')}</p>`;
    switch (this.dialog) {
      case 'edit': {
        const v = this.record?.view;
        if (!v) return this.error ? nothing : loading;
        return html`
          <label>${t.t('name')} <input name="name" required maxlength="200" .value=${v.name} /></label>
          <label>${t.t('amount')} <input name="amount" type="number" min="0" max="9999999999999" step="0.01" required .value=${String(v.amount)} /></label>
          <label>${t.t('currency')}
            <input name="currency" required pattern="[A-Za-z]{3}" maxlength="3" autocomplete="off" .value=${v.currency} />
          </label>
          <label>${t.t('closeDate')} <input name="expectedCloseDate" type="date" .value=${v.expectedCloseDate ?? ''} /></label>
          <label>${t.t('reason')} <input name="reason" maxlength="500" /></label>`;
      }
      case 'reassign':
        if (!this.users) return this.error ? nothing : loading;
        return html`
          <p class="hint">${t.t('owner', { name: o.ownerName ?? o.ownerId })}</p>
          <label>${t.t('newOwner')}
            <select name="toOwnerId" required>
              <option value="">${t.t('choose')}</option>
              ${this.users.map((u) => html`<option value=${u.id}>${u.name}</option>`)}
            </select>
          </label>
          <label class="check"><input type="checkbox" name="allOfOwner" /> ${t.t('allOfOwner', { name: o.ownerName ?? o.ownerId })}</label>
          <label>${t.t('reason')} <input name="reason" maxlength="500" /></label>`;
      case 'reopen': {
        const presale = o.path.presale;
        const from = presale.some((s) => s.id === o.stageId) ? o.stageId : presale.at(-1)?.id;
        return html`
          ${o.status === 'won' ? html`<p class="hint">${t.t('reopenWon')}</p>` : nothing}
          <label>${t.t('reopenStage')}
            <select name="stageId" required>
              ${presale.map((s) => html`<option value=${s.id} ?selected=${s.id === from}>${s.name}</option>`)}
            </select>
          </label>
          <label>${t.t('comment')} <input name="comment" maxlength="2000" /></label>`;
      }
      case 'changeProcess': {
        if (!this.processes) return this.error ? nothing : loading;
        if (!this.processes.length) return html`<p class="hint">${t.t('noProcesses')}</p>`;
        const p = this.preview;
        return html`
          <label>${t.t('process')}
            <select name="processId" required @change=${(e: Event) => this.#previewChange((e.target as HTMLSelectElement).value)}>
              <option value="">${t.t('choose')}</option>
              ${this.processes.map(
                (x) =>
                  html`<option value=${x.id} ?disabled=${x.applies === false} ?selected=${x.id === p?.processId}>${x.applies === false ? t.t('notApplicable', { name: x.name }) : x.name}</option>`,
              )}
            </select>
          </label>
          ${
            p
              ? html`<div class="preview" role="status">
                <label>${t.t('landing')}
                  <select name="stageId" @change=${(e: Event) => this.#previewChange(p.processId, (e.target as HTMLSelectElement).value)}>
                    ${p.stages.map((s) => html`<option value=${s.id} ?selected=${s.id === p.landing.stageId}>${s.name}</option>`)}
                  </select>
                </label>
                <p class="hint">${t.t(`land_${p.landing.reason}` as const)}</p>
                ${this.#gates(p.gates)}
              </div>`
              : nothing
          }`;
      }
      default:
        return nothing;
    }
  }
}
