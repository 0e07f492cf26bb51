// Subpath imports keep zod (the server's validation) out of the element's bundle.
import {
  checkPublishable,
  normalizeDraft,
  type DefinitionProblem,
  type FieldCatalog,
  type ProcessDraft,
} from '@sales-process/core/publishable';
import {
  addStage,
  addStageField,
  moveStage,
  moveStageField,
  readDraft,
  removeStage,
  removeStageField,
  setDepartments,
  setDraftName,
  setDraftValue,
  setRule,
  setStageFieldValue,
  setStageValue,
  setTerminal,
} from '@sales-process/core/ydraft';
import { processDraftDocName, type FieldDefinition, type LiveNotice, type StageField } from '@sales-process/core';
import { CONTACT_ROLE_KEY, FIELD_TYPES } from '@sales-process/core/field-values';
import { initialState, Task, TaskStatus } from '../shared/task.js';
import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type * as Y from 'yjs';
import type { ApiClient, ApiClientError } from '../client/api-client.js';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import { LocalizeController } from '../shared/i18n.js';
import { LiveDocController } from '../shared/live-controller.js';
import { camelKey } from '../admin/camel-key.js';
import { ReorderController } from '../admin/reorder-controller.js';
import { tabAfterKey } from '../admin/tabs.js';
import styles from './sales-process-designer.styles.js';
import { messages } from './messages.js';

type Phase = 'presale' | 'postsale';
type Tab = Phase | 'terminal' | 'rules' | 'departments' | 'settings' | 'history';
type Definition = ProcessDraft['definition'];
type Stage = Definition['presale'][number] | Definition['postsale'][number];
/** Post-sale staff: users and departments (a process's, or a post-sale stage's own). */
type Team = Definition['postsaleTeam'];
type Condition = Definition['appliesWhen'][number];
interface ProcessInfo {
  id: string;
  name: string;
  status: 'enabled' | 'disabled';
  version: number;
}
interface Department {
  id: string;
  name: string;
  parentId: string | null;
}
/** A user of the directory (`GET /directory`), to pick post-sale staff from. */
interface DirectoryUser {
  id: string;
  name: string;
  roles?: string[];
}
/** The draft as read from the doc at one version, its problems, and those filed by where they sit. */
interface DraftView {
  doc: Y.Doc | null;
  version: number;
  catalog: FieldCatalog | null;
  draft: ProcessDraft | null;
  problems: DefinitionProblem[];
  at: Map<string, DefinitionProblem[]>;
}
/** An entry of the process's trail (`GET /audit?targetType=process&targetId=…`). */
interface AuditEntry {
  id: string;
  at: string;
  actorId: string | null;
  actorName?: string | null;
  action: string;
  diff: Record<string, unknown>;
}
/** A stage change of a `process.publish` entry (the server's audit/changes.ts). */
interface StageChange {
  kind: 'added' | 'removed' | 'renamed' | 'reordered' | 'changed';
  phase: Phase;
  stageId?: string;
  name?: string;
  from?: string;
  to?: string;
  names?: string[];
  keys?: string[];
}
type Msg = keyof typeof messages;
/** The history loaded so far: pages appended, and the cursor of the next. */
interface History {
  items: AuditEntry[];
  next: string | null;
}
interface Preview {
  affected: number;
  perStage: { stageId: string | null; name: string | null; count: number; removed: boolean; target: string | null }[];
  unmapped: { stageId: string; name: string; count: number }[];
}

/** Fired on every local edit of the draft. */
export class SpChangeEvent extends Event {
  static readonly type = 'sp-change';
  constructor(readonly detail: { draft: ProcessDraft | null; problems: DefinitionProblem[] }) {
    super(SpChangeEvent.type, { bubbles: true, composed: true });
  }
}

/** Fired after a publish succeeded. */
export class SpPublishEvent extends Event {
  static readonly type = 'sp-publish';
  constructor(
    readonly detail: { processId: string; version: number; mode: 'update-existing' | 'new-process'; moved: number },
  ) {
    super(SpPublishEvent.type, { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'sp-change': SpChangeEvent;
    'sp-publish': SpPublishEvent;
  }
  interface HTMLElementTagNameMap {
    'sales-process-designer': SalesProcessDesigner;
  }
}

/** The order an audit entry's diff is told in. */
const ORDER = [
  'mode',
  'version',
  'name',
  'status',
  'departments',
  'moved',
  'remapped',
  'stageMapping',
  'stages',
  'presale',
  'postsale',
  'rules',
  'terminal',
];
const COLORS = ['#0b65c2', '#b3261e', '#1a7f37', '#8250df', '#bf8700', '#0f7b8a'];
const newId = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 9)}`;

/**
 * @summary The admin's live process designer: stages with win rates, feedback forms,
 * post-sale stages, terminal states, rules and scope, co-edited by several admins at
 * once, checked as they type, and published as a version.
 *
 * @event {SpChangeEvent} sp-change - A local edit; `detail: {draft: ProcessDraft | null, problems: DefinitionProblem[]}`.
 * @event {SpPublishEvent} sp-publish - Published; `detail: {processId, version, mode: 'update-existing' | 'new-process', moved}`.
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
 * @csspart toolbar - Name, status, version, the process actions and presence.
 * @csspart stage-list - The ordered stages of the selected phase.
 * @csspart editor - The selected stage's settings.
 * @csspart history - The process's change history (the 变更记录 / History tab): who changed what, and when, newest first.
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
export class SalesProcessDesigner extends ConnectedElement {
  static override styles = styles;

  static override properties = {
    processId: { attribute: 'process-id' },
    doc: { attribute: false },
    catalog: { attribute: false },
    departments: { attribute: false },
    users: { attribute: false },
    userName: { attribute: 'user-name' },
    tab: { state: true },
    selected: { state: true },
    announcement: { state: true },
    process: { state: true },
    notice: { state: true },
    actionError: { state: true },
    confirmingDelete: { state: true },
    publishState: { state: true },
    historyCursor: { state: true },
    historyRev: { state: true },
    conditionField: { state: true },
  };

  /** The process whose draft to edit. */
  processId = '';
  /** A Y.Doc the host manages itself (instead of connecting to the server). */
  doc: Y.Doc | null = null;
  /**
   * Field definitions `{customer, opportunity, contact}` to pick from (loaded from the server
   * when not given, archived ones included: they are not offered, but named where a draft holds one).
   */
  catalog: FieldCatalog | null = null;
  /** The departments to scope to (loaded from the server when not given). */
  departments: Department[] | null = null;
  /**
   * The users to pick post-sale staff from, `{id, name, roles?}` (loaded from the server when
   * not given); those with the `postsale` role are offered first.
   */
  users: DirectoryUser[] | null = null;
  /** The editing user's display name, for presence. */
  userName = '';

  protected tab: Tab = 'presale';
  protected selected: { phase: Phase; id: string } | null = null;
  protected announcement = '';
  protected process: ProcessInfo | null = null;
  protected notice: string | null = null;
  protected actionError: string | null = null;
  protected confirmingDelete = false;
  protected publishState: {
    mode: 'update-existing' | 'new-process';
    disableOld: boolean;
    mapping: Record<string, string>;
    preview: Preview | null;
    error: string | null;
    result: string | null;
    busy: boolean;
  } = {
    mode: 'update-existing',
    disableOld: false,
    mapping: {},
    preview: null,
    error: null,
    result: null,
    busy: false,
  };

  /** The history page to load next ("more"); null: the first. */
  protected historyCursor: string | null = null;
  /** Bumped when the designer changed the process: the history loads afresh. */
  protected historyRev = 0;
  /** The field (`source:key`) picked in the form that adds an applicability condition. */
  protected conditionField = '';

  readonly #i18n = new LocalizeController(this, messages);
  readonly #live = new LiveDocController(this, (n) => this.#onNotice(n));
  /** Keyboard moves in the stage list of the phase shown. */
  readonly #reorder = new ReorderController(this, {
    drop: (id, to) => this.#edit((doc) => moveStage(doc, this.tab as Phase, id, to)),
    focusAt: (i) =>
      void this.updateComplete.then(() => this.shadowRoot!.querySelectorAll<HTMLElement>('ol.stages li')[i]?.focus()),
    say: (text) => (this.announcement = text),
  });
  #view: DraftView | null = null;
  /** The client the draft is bound through (set in willUpdate): null while there is nothing to load with. */
  #client: ApiClient | null = null;
  /**
   * The process, and the field catalog and departments when the host gave none: loaded once
   * per process and connection (a new token needs no reload: the client has it); a newer load
   * aborts the one it supersedes.
   */
  readonly #loader = new Task(this, {
    args: () => [this.#client, this.processId] as const,
    task: async ([client, processId], { signal }) => {
      if (!client) return initialState;
      // Archived fields and options too: a draft may still hold one (shown by its label, with
      // its problem); pickers offer only the others.
      const fields = (object: string) =>
        this.catalog
          ? null
          : client.get<{ items: FieldDefinition[] }>(`/fields/${object}?includeArchived=true`, signal);
      const [process, customer, opportunity, contact, directory] = await Promise.all([
        client.get<ProcessInfo>(`/processes/${encodeURIComponent(processId)}`, signal),
        fields('customer'),
        fields('opportunity'),
        fields('contact'),
        this.departments && this.users
          ? null
          : client.get<{ departments: Department[]; users: DirectoryUser[] }>('/directory', signal),
      ]);
      return { process, customer, opportunity, contact, directory };
    },
    onComplete: ({ process, customer, opportunity, contact, directory }) => {
      this.process = process;
      this.failure = null;
      if (customer && opportunity && contact)
        this.catalog = { customer: customer.items, opportunity: opportunity.items, contact: contact.items };
      if (directory) {
        this.departments ??= directory.departments;
        this.users ??= directory.users;
      }
    },
    onError: (e) => this.loadFailed(e, this.process),
  });

  /**
   * The process's trail, while the history tab is open (another tab: nothing, and the next
   * opening starts from the newest again); "more" appends the next page. A newer load
   * (more, a refresh after publishing, another process) aborts the one it supersedes.
   */
  readonly #history: Task<readonly [ApiClient | null, string, string | null, number], History> = new Task(this, {
    args: () =>
      [this.tab === 'history' ? this.#client : null, this.processId, this.historyCursor, this.historyRev] as const,
    task: async ([client, processId, cursor], { signal }) => {
      if (!client || !processId) return initialState;
      const query = `targetType=process&targetId=${encodeURIComponent(processId)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await client.get<{ items: AuditEntry[]; nextCursor: string | null }>(`/audit?${query}`, signal);
      return { items: [...(cursor ? (this.#history.value?.items ?? []) : []), ...page.items], next: page.nextCursor };
    },
    onError: (e) => this.reportError(e),
  });

  /** The designer changed the process (published, enabled, disabled): its history starts afresh. */
  #changedProcess() {
    this.historyCursor = null;
    this.historyRev++;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('doc')) this.#live.useDoc(this.doc);
    // Protected properties are not in PropertyValues' keys.
    if ((changed as Map<PropertyKey, unknown>).has('tab')) {
      if (this.tab !== 'history') this.historyCursor = null;
      // A stage picked up stays in the list it was in.
      this.#reorder.picked = null;
    }
    // With a doc of the host's own, the server is asked only when there is a token for it.
    const conn = this.processId ? this.conn : null;
    const client = conn && (!this.doc || conn.token || conn.client.tokenProvider) ? conn.client : null;
    this.#live.bind(client, this.processId ? processDraftDocName(this.processId) : null, { offline: false });
    // The loader (its args) follows: another process or connection loads again.
    this.#client = client;
    this.#updatePresence();
    // Once per update, not per stage and field: render reads `view`.
    this.#read();
  }

  protected override reload() {
    this.#live.retry();
    return this.#loader.run();
  }

  #fail(e: unknown) {
    const err = this.reportError(e);
    this.actionError = this.errorMessage(err) + (err.details.length ? `：${this.detailMessages(err).join('；')}` : '');
  }

  #onNotice(n: LiveNotice) {
    this.notice = this.#i18n.t('refused') + this.detailMessages(n, (d) => d.path).join('；');
  }

  /** The draft as JSON (valid structure), and its problems. */
  get draft(): ProcessDraft | null {
    return this.#read().draft;
  }

  /** What keeps the draft from being published (errors) or is worth a look (warnings). */
  get problems(): DefinitionProblem[] {
    return this.#read().problems;
  }

  /**
   * The draft and its problems as of the doc's current state: read and checked once per
   * change of the doc (or the catalog), however often the element renders or asks.
   */
  #read(): DraftView {
    const doc = this.#live.doc;
    const version = this.#live.version;
    const catalog = this.catalog;
    const v = this.#view;
    if (v && v.doc === doc && v.version === version && v.catalog === catalog) return v;
    const draft = doc ? normalizeDraft(readDraft(doc)) : null;
    const problems = draft ? checkPublishable(draft.definition, catalog ?? undefined, draft.name) : [];
    // Where each problem sits: `phase/index` of a stage, `phase/index/key` of its settings,
    // `phase/index/fields/i` of a field, `presale/index/requiredContactRoles/i` of a role,
    // `appliesWhen/i` of a condition, `name`, `rules`.
    const at = new Map<string, DefinitionProblem[]>();
    const file = (key: string, p: DefinitionProblem) => {
      const list = at.get(key);
      if (list) list.push(p);
      else at.set(key, [p]);
    };
    for (const p of problems) {
      const [a, b, c, d] = p.path;
      file(String(a), p);
      if (b === undefined) continue;
      file(`${a}/${b}`, p);
      if (c !== undefined) file(d === undefined ? `${a}/${b}/${c}` : `${a}/${b}/${c}/${d}`, p);
    }
    return (this.#view = { doc, version, catalog, draft, problems, at });
  }

  /** Runs a local edit and tells the host. */
  #edit(fn: (doc: Y.Doc) => void) {
    const doc = this.#live.doc;
    if (!doc) return;
    fn(doc);
    this.notice = null;
    const { draft, problems } = this.#read();
    this.dispatchEvent(new SpChangeEvent({ draft, problems }));
  }

  #updatePresence() {
    const awareness = this.#live.live?.provider.awareness;
    if (!awareness) return;
    const name = this.userName || 'admin';
    const state = awareness.getLocalState() as { user?: { name: string }; stage?: string | null } | null;
    if (state?.user?.name !== name)
      awareness.setLocalStateField('user', {
        name,
        color: COLORS[Math.abs([...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0)) % COLORS.length],
      });
    const stage = this.selected?.id ?? null;
    if ((state?.stage ?? null) !== stage) awareness.setLocalStateField('stage', stage);
  }

  #others(): { name: string; color: string; stage: string | null }[] {
    const awareness = this.#live.live?.provider.awareness;
    if (!awareness) return [];
    const out: { name: string; color: string; stage: string | null }[] = [];
    awareness.getStates().forEach((s, id) => {
      if (id !== awareness.clientID && s.user)
        out.push({ name: s.user.name, color: s.user.color, stage: s.stage ?? null });
    });
    return out;
  }

  // ---- problems placed at their controls -------------------------------------------------

  /** The problems at `path` (see `read`), as of this update. */
  #problemsAt(...path: (string | number)[]): DefinitionProblem[] {
    return this.#view?.at.get(path.join('/')) ?? [];
  }

  #problemText(list: DefinitionProblem[]): TemplateResult | typeof nothing {
    if (!list.length) return nothing;
    return html`${list.map((p) => html`<span class=${p.severity === 'error' ? 'err' : 'warn'}>${this.#i18n.pick(p.message)}</span>`)}`;
  }

  // ---- stage list and keyboard reordering -----------------------------------------------

  #select(phase: Phase, id: string) {
    this.selected = { phase, id };
  }

  #onStageKey(e: KeyboardEvent, phase: Phase, stage: Stage, index: number, total: number) {
    // Picking a stage up selects it.
    if (!this.#reorder.picked && (e.key === 'Enter' || e.key === ' ')) this.#select(phase, stage.id);
    this.#reorder.onKey(e, stage.id, stage.name || this.#i18n.t('newStage'), index, total);
  }

  #onDrop(e: DragEvent, phase: Phase, index: number) {
    e.preventDefault();
    const id = e.dataTransfer?.getData('text/x-sp-stage');
    if (id) this.#edit((doc) => moveStage(doc, phase, id, index));
  }

  #addStage(phase: Phase) {
    const id = newId(phase === 'presale' ? 's' : 'p');
    const draft = this.draft;
    const last = draft?.definition.presale.at(-1);
    this.#edit((doc) =>
      addStage(
        doc,
        phase,
        phase === 'presale'
          ? {
              id,
              name: '',
              winRate: Math.min(100, (last?.winRate ?? 0) + 10),
              minContacts: 0,
              requiresApproval: false,
              remindAfterDays: null,
            }
          : { id, name: '', requiresApproval: false, remindAfterDays: null, overdueAfterDays: null },
      ),
    );
    this.#select(phase, id);
    void this.updateComplete.then(() => this.shadowRoot!.querySelector<HTMLInputElement>('#stage-name')?.focus());
  }

  // ---- rendering -----------------------------------------------------------------------

  protected override render() {
    const t = this.#i18n;
    // Read and checked in willUpdate, once per change of the doc.
    const { draft, problems } = this.#view!;
    if (this.#live.failure) return this.renderFailure(this.failure ?? this.#live.failure);
    if (!this.#live.doc || !draft || (this.failure && !this.process)) {
      const loading = () => html`<p aria-busy="true">${t.t('loading')}</p>`;
      // As the inbox and the funnel: the load's error box while there is no process to show.
      return this.#loader.render({
        initial: loading,
        pending: loading,
        complete: loading,
        error: () => (this.failure && !this.process ? this.renderFailure() : loading()),
      });
    }
    const errors = problems.filter((p) => p.severity === 'error');
    const warnings = problems.filter((p) => p.severity === 'warning');
    const tabs: Tab[] = ['presale', 'postsale', 'terminal', 'rules', 'departments', 'settings', 'history'];
    return html`
      <div class="toolbar" part="toolbar">
        <label class="stack name">${t.t('name')}
          <input id="process-name" .value=${draft.name} maxlength="80" aria-invalid=${this.#problemsAt('name').length ? 'true' : 'false'}
            @input=${(e: Event) => this.#edit((doc) => setDraftName(doc, (e.target as HTMLInputElement).value))} />
          ${this.#problemText(this.#problemsAt('name'))}
        </label>
        ${
          this.process
            ? html`<span class="badge ${this.process.status}">${t.t(`status_${this.process.status}`)}</span>
              <span class="muted">${t.t('version', { v: this.process.version })}</span>
              <button @click=${() => this.#setStatus(this.process!.status === 'enabled' ? 'disable' : 'enable')}>${t.t(this.process.status === 'enabled' ? 'disable' : 'enable')}</button>
              ${
                this.confirmingDelete
                  ? html`<span role="group" aria-label=${t.t('delete')}>${t.t('confirmDelete')} <button class="danger" @click=${this.#deleteProcess}>${t.t('delete')}</button> <button @click=${() => (this.confirmingDelete = false)}>${t.t('cancel')}</button></span>`
                  : html`<button class="danger" @click=${() => (this.confirmingDelete = true)}>${t.t('delete')}</button>`
              }`
            : nothing
        }
        <button class="primary" @click=${this.#openPublish}>${t.t('publish')}</button>
        <span class="muted" role="status">${this.#live.connected || this.doc ? `● ${t.t('live')}` : t.t('offline')}</span>
        ${this.#others().map((o) => html`<span class="who" title=${o.name}><span class="dot" .style=${`background:${o.color}`}></span>${o.name}</span>`)}
      </div>
      ${this.actionError ? html`<p class="alert" role="alert">${t.t('actionFailed')}${this.actionError}</p>` : nothing}
      ${this.notice ? html`<p class="alert" role="alert">${this.notice}</p>` : nothing}
      <div class="summary ${errors.length ? 'bad' : ''}" role="status">
        ${errors.length ? t.t('problems', { n: errors.length }) : t.t('ok')}${warnings.length ? ` · ${t.t('warnings', { n: warnings.length })}` : ''}
        ${
          problems.length
            ? html`<ul>${problems.map((p) => html`<li class=${p.severity === 'error' ? 'err' : 'warn'}><button @click=${() => this.#goTo(p)}>${this.#i18n.pick(p.message)}</button></li>`)}</ul>`
            : nothing
        }
      </div>
      <div role="tablist" aria-label=${t.t('stages')}>
        ${tabs.map(
          (
            tab,
          ) => html`<button role="tab" id="tab-${tab}" aria-controls="panel" aria-selected=${this.tab === tab} tabindex=${this.tab === tab ? 0 : -1}
            @click=${() => (this.tab = tab)} @keydown=${(e: KeyboardEvent) => this.#onTabKey(e, tabs)}>${t.t(tab)}</button>`,
        )}
      </div>
      <div id="panel" role="tabpanel" aria-labelledby="tab-${this.tab}">
        ${this.tab === 'presale' || this.tab === 'postsale' ? this.#renderStages(draft, this.tab) : this.tab === 'terminal' ? this.#renderTerminal(draft) : this.tab === 'rules' ? this.#renderRules(draft) : this.tab === 'history' ? this.#renderHistory(draft) : this.tab === 'settings' ? this.#renderSettings(draft) : this.#renderDepartments(draft)}
      </div>
      <div class="sr-only" role="status" aria-live="assertive">${this.announcement}</div>
      ${this.#renderPublish()}
    `;
  }

  #onTabKey(e: KeyboardEvent, tabs: Tab[]) {
    const tab = tabAfterKey(e, tabs, this.tab);
    if (!tab) return;
    this.tab = tab;
    void this.updateComplete.then(() => this.shadowRoot!.querySelector<HTMLElement>(`#tab-${tab}`)?.focus());
  }

  #goTo(p: DefinitionProblem) {
    const [phase, index] = p.path;
    if ((phase === 'presale' || phase === 'postsale') && typeof index === 'number') {
      this.tab = phase;
      const stage = this.draft?.definition[phase][index];
      if (stage) this.#select(phase, stage.id);
    } else if (phase === 'rules') this.tab = 'rules';
    else if (phase === 'appliesWhen' || phase === 'postsaleTeam') this.tab = 'settings';
    else if (phase === 'name') this.shadowRoot!.querySelector<HTMLInputElement>('#process-name')?.focus();
  }

  #renderStages(draft: ProcessDraft, phase: Phase) {
    const t = this.#i18n;
    const stages = this.#reorder.arrange(draft.definition[phase] as Stage[], (s) => s.id);
    const others = this.#others();
    const selected =
      this.selected?.phase === phase ? draft.definition[phase].find((s) => s.id === this.selected!.id) : undefined;
    const realIndex = (id: string) => draft.definition[phase].findIndex((s) => s.id === id);
    return html`<div class="columns">
      <div>
        <p class="muted" id="reorder-hint">${t.t('reorderHint')}</p>
        <ol class="stages" part="stage-list" role="listbox" aria-label=${t.t(phase)} aria-describedby="reorder-hint">
          ${stages.map((s, i) => {
            const editing = others.filter((o) => o.stage === s.id);
            const bad = this.#problemsAt(phase, realIndex(s.id)).some((p) => p.severity === 'error');
            const isSelected = this.selected?.id === s.id;
            return html`<li role="option" data-id=${s.id} aria-selected=${isSelected ? 'true' : 'false'} tabindex=${isSelected || (!selected && i === 0) ? 0 : -1}
              class="${this.#reorder.picked?.id === s.id ? 'picked' : ''} ${bad ? 'problem' : ''}" draggable="true"
              @click=${() => this.#select(phase, s.id)} @keydown=${(e: KeyboardEvent) => this.#onStageKey(e, phase, s, i, stages.length)}
              @dragstart=${(e: DragEvent) => e.dataTransfer?.setData('text/x-sp-stage', s.id)} @dragover=${(e: DragEvent) => e.preventDefault()} @drop=${(e: DragEvent) => this.#onDrop(e, phase, i)}>
              <span>${i + 1}. ${s.name || html`<em class="muted">${t.t('newStage')}</em>`}</span>
              <span>
                ${editing.map((o) => html`<span class="dot" .style=${`background:${o.color}`} title=${t.t('editing', { name: o.name })}></span>`)}
                ${'winRate' in s ? html`<span class="muted">${s.winRate}%</span>` : nothing}
              </span>
            </li>`;
          })}
        </ol>
        <button @click=${() => this.#addStage(phase)}>+ ${t.t('addStage')}</button>
      </div>
      ${selected ? this.#renderStageEditor(draft, phase, selected, realIndex(selected.id)) : html`<div></div>`}
    </div>`;
  }

  #renderStageEditor(draft: ProcessDraft, phase: Phase, s: Stage, index: number) {
    const t = this.#i18n;
    const set = (key: string, value: unknown) => this.#edit((doc) => setStageValue(doc, phase, s.id, key, value));
    const days = (v: string) => (v === '' || v === '0' ? null : Math.max(0, Math.min(3650, Math.round(Number(v)))));
    const total = draft.definition[phase].length;
    return html`<section class="editor" part="editor" aria-label=${s.name || t.t('newStage')}>
      <div class="row">
        <label class="stack">${t.t('stageName')}
          <input id="stage-name" .value=${s.name} maxlength="80" @input=${(e: Event) => set('name', (e.target as HTMLInputElement).value)} />
          ${this.#problemText(this.#problemsAt(phase, index, 'name'))}
        </label>
        ${
          'winRate' in s
            ? html`<label class="stack">${t.t('winRate')}
              <input id="stage-win-rate" type="number" min="0" max="100" step="1" .value=${String(s.winRate)}
                @change=${(e: Event) => set('winRate', Math.max(0, Math.min(100, Number((e.target as HTMLInputElement).value) || 0)))} />
              ${this.#problemText(this.#problemsAt(phase, index, 'winRate'))}
            </label>`
            : nothing
        }
      </div>
      <label class="stack">${t.t('requirements')}
        <textarea id="stage-requirements" .value=${s.requirements} maxlength="10000" @input=${(e: Event) => set('requirements', (e.target as HTMLTextAreaElement).value)}></textarea>
      </label>
      <div class="row">
        <label class="stack">${t.t(phase === 'presale' ? 'remindAfterDays' : 'remindPostsale')}
          <input id="stage-remind" type="number" min="0" max="3650" .value=${String(s.remindAfterDays ?? 0)} @change=${(e: Event) => set('remindAfterDays', days((e.target as HTMLInputElement).value))} />
        </label>
        ${
          'overdueAfterDays' in s
            ? html`<label class="stack">${t.t('overdueAfterDays')}
              <input id="stage-overdue" type="number" min="0" max="3650" .value=${String(s.overdueAfterDays ?? 0)} @change=${(e: Event) => set('overdueAfterDays', days((e.target as HTMLInputElement).value))} />
              ${this.#problemText(this.#problemsAt(phase, index, 'overdueAfterDays'))}
            </label>`
            : nothing
        }
        ${
          'minContacts' in s
            ? html`<label class="stack">${t.t('minContacts')}
              <input id="stage-min-contacts" type="number" min="0" max="100" .value=${String(s.minContacts)} @change=${(e: Event) => set('minContacts', Math.max(0, Math.min(100, Math.round(Number((e.target as HTMLInputElement).value) || 0))))} />
            </label>`
            : nothing
        }
      </div>
      ${'requiredContactRoles' in s ? this.#renderContactRoles(s, index) : nothing}
      <label class="check"><input id="stage-approval" type="checkbox" .checked=${s.requiresApproval} @change=${(e: Event) => set('requiresApproval', (e.target as HTMLInputElement).checked)} /> ${t.t('requiresApproval')}</label>
      ${'team' in s ? this.#renderStageTeam(draft, s) : nothing}
      ${this.#renderFields(phase, s, index)}
      <div>
        <button class="icon" ?disabled=${index === 0} aria-label=${t.t('moveUp')} @click=${() => this.#edit((doc) => moveStage(doc, phase, s.id, index - 1))}>↑</button>
        <button class="icon" ?disabled=${index === total - 1} aria-label=${t.t('moveDown')} @click=${() => this.#edit((doc) => moveStage(doc, phase, s.id, index + 1))}>↓</button>
        <button class="danger" @click=${() => {
          this.#edit((doc) => removeStage(doc, phase, s.id));
          this.selected = null;
        }}>${t.t('removeStage')}</button>
      </div>
    </section>`;
  }

  /**
   * A pre-sale stage's required contact roles: the options of the `contact.role` field not
   * archived, and a stored role that is archived or unknown (with its problem beside it).
   */
  #renderContactRoles(s: Definition['presale'][number], index: number) {
    const t = this.#i18n;
    const options = this.catalog?.contact?.find((f) => f.key === CONTACT_ROLE_KEY)?.options ?? [];
    const chosen = s.requiredContactRoles;
    const shown = options.filter((o) => !o.archived).map((o) => o.value);
    for (const r of chosen) if (!shown.includes(r)) shown.push(r);
    // The roles now, not at render time: quick clicks must not lose one.
    const toggle = (role: string, on: boolean) =>
      this.#edit((doc) => {
        const now = (this.draft?.definition.presale.find((x) => x.id === s.id)?.requiredContactRoles ?? []).filter(
          (r) => r !== role,
        );
        setStageValue(doc, 'presale', s.id, 'requiredContactRoles', on ? [...now, role] : now);
      });
    return html`<fieldset id="stage-contact-roles">
      <legend>${t.t('requiredContactRoles')}</legend>
      ${shown.length ? nothing : html`<p class="muted">${t.t('noRoles')}</p>`}
      ${shown.map((role) => {
        const option = options.find((o) => o.value === role);
        return html`<label class="check"><input type="checkbox" data-role=${role} .checked=${chosen.includes(role)} @change=${(e: Event) => toggle(role, (e.target as HTMLInputElement).checked)} /> ${option ? t.pick(option.label) : role}
          ${this.#problemText(this.#problemsAt('presale', index, 'requiredContactRoles', chosen.indexOf(role)))}</label>`;
      })}
    </fieldset>`;
  }

  /** A post-sale stage's staff: the process's (default), or a team of its own. */
  #renderStageTeam(draft: ProcessDraft, s: Definition['postsale'][number]) {
    const t = this.#i18n;
    const set = (team: Team | null) => this.#edit((doc) => setStageValue(doc, 'postsale', s.id, 'team', team));
    return html`<fieldset>
      <legend>${t.t('postsaleTeam')}</legend>
      <label class="check"><input id="stage-process-team" type="checkbox" .checked=${!s.team}
        @change=${(e: Event) => set((e.target as HTMLInputElement).checked ? null : this.draft!.definition.postsaleTeam)} /> ${t.t('useProcessTeam')}</label>
      ${s.team ? this.#renderTeam('stage-team', () => this.draft?.definition.postsale.find((x) => x.id === s.id)?.team ?? s.team!, set) : html`<p class="muted">${this.#teamNames(draft.definition.postsaleTeam)}</p>`}
    </fieldset>`;
  }

  /** A team member's name: a user's or a department's (its id when the directory lacks it). */
  #memberName(key: keyof Team, id: string): string {
    return (key === 'userIds' ? this.users : this.departments)?.find((x) => x.id === id)?.name ?? id;
  }

  /** A team's members by name ("nobody" when empty). */
  #teamNames(team: Team): string {
    const names = [...team.userIds, ...team.departments].map((id, i) =>
      this.#memberName(i < team.userIds.length ? 'userIds' : 'departments', id),
    );
    return names.join(this.#i18n.t('comma')) || this.#i18n.t('nobody');
  }

  /**
   * Picks post-sale staff: the chosen users and departments, each with a remove button, and a
   * form to add one (users with the post-sale role first, any user allowed, then departments).
   * `now` reads the team at the time of the click (quick clicks must not lose one).
   */
  #renderTeam(id: string, now: () => Team, set: (team: Team) => void) {
    const t = this.#i18n;
    const team = now();
    const users = this.users ?? [];
    const staff = users.filter((u) => u.roles?.includes('postsale'));
    const change = (key: keyof Team, x: string, add: boolean) => {
      const current = now();
      set({ ...current, [key]: [...current[key].filter((y) => y !== x), ...(add ? [x] : [])] });
    };
    // An option's value: `u` or `d` (user or department), then the id.
    const groups = [
      [t.t('postsaleRole'), staff],
      [t.t('otherUsers'), users.filter((u) => !staff.includes(u))],
      [t.t('dept'), this.departments ?? []],
    ] as const;
    return html`<ul class="chips" aria-label=${t.t('postsaleTeam')}>
        ${(['userIds', 'departments'] as const).map((key) =>
          team[key].map(
            (x) =>
              html`<li>${this.#memberName(key, x)} <button type="button" class="icon" aria-label=${t.t('remove', { name: this.#memberName(key, x) })} @click=${() => change(key, x, false)}>×</button></li>`,
          ),
        )}
        ${team.userIds.length || team.departments.length ? nothing : html`<li class="muted">${t.t('nobody')}</li>`}
      </ul>
      <form class="add" @submit=${(e: SubmitEvent) => {
        e.preventDefault();
        const form = e.target as HTMLFormElement;
        const value = String(new FormData(form).get('member'));
        if (value) change(value[0] === 'd' ? 'departments' : 'userIds', value.slice(1), true);
        form.reset();
      }}>
        <label class="stack">${t.t('addMember')}
          <select name="member" id=${id}>
            <option value="">${t.t('choose')}</option>
            ${groups.map(
              ([label, list], i) =>
                html`<optgroup label=${label}>${list
                  .filter((a) => !team[i > 1 ? 'departments' : 'userIds'].includes(a.id))
                  .map((a) => html`<option value=${(i > 1 ? 'd' : 'u') + a.id}>${a.name}</option>`)}</optgroup>`,
            )}
          </select>
        </label>
        <button type="submit">${t.t('add')}</button>
      </form>`;
  }

  // ---- process settings: post-sale team, applicability conditions ------------------------

  #renderSettings(draft: ProcessDraft) {
    const t = this.#i18n;
    const def = draft.definition;
    return html`<div class="editor"><fieldset id="postsale-team">
        <legend>${t.t('postsaleTeam')}</legend>
        <p class="muted">${t.t('postsaleTeamHint')}</p>
        ${this.#renderTeam(
          'team',
          () => this.draft!.definition.postsaleTeam,
          (team) => this.#edit((doc) => setDraftValue(doc, 'postsaleTeam', team)),
        )}
      </fieldset>
      ${this.#renderConditions(def.appliesWhen)}</div>`;
  }

  /** A custom field of a customer or opportunity (not built in). */
  #customField(source: Condition['source'], key: string): FieldDefinition | undefined {
    const f = this.catalog?.[source].find((d) => d.key === key);
    return f && !('system' in f && f.system) ? f : undefined;
  }

  /** A condition as a sentence: 客户的“客户类型”为“大客户”或“战略客户”. */
  #conditionText(c: Condition): string {
    const t = this.#i18n;
    const field = this.#customField(c.source, c.key);
    return t.t(field?.type === 'multiselect' ? 'conditionHas' : 'conditionIs', {
      source: t.t(`source_${c.source}`),
      field: field ? t.pick(field.label) : c.key,
      values: c.values
        .map((v) => {
          const o = field?.options?.find((x) => x.value === v);
          return o ? t.pick(o.label) : v;
        })
        .join(t.t('or')),
    });
  }

  /**
   * The applicability conditions, each a sentence with a remove button (and its problems);
   * a form adds one: a select or multiselect field not archived, and some of its options.
   */
  #renderConditions(conditions: Condition[]) {
    const t = this.#i18n;
    const set = (list: Condition[]) => this.#edit((doc) => setDraftValue(doc, 'appliesWhen', list));
    const now = () => this.draft!.definition.appliesWhen;
    const [source, key] = this.conditionField.split(':') as [Condition['source'], string];
    const picked = this.conditionField ? this.#customField(source, key) : undefined;
    const offered = (f: FieldDefinition) => (f.options ?? []).filter((o) => !o.archived);
    return html`<fieldset id="conditions">
      <legend>${t.t('appliesWhen')}</legend>
      <p class="muted">${t.t('appliesWhenHint')}</p>
      <ul class="conditions">
        ${conditions.map((c, i) => {
          const text = this.#conditionText(c);
          return html`<li data-condition="${c.source}:${c.key}">${text}
            <button class="icon danger" aria-label=${t.t('remove', { name: text })} @click=${() => set(now().filter((x) => x.source !== c.source || x.key !== c.key))}>×</button>
            ${this.#problemText(this.#problemsAt('appliesWhen', i))}</li>`;
        })}
        ${conditions.length ? nothing : html`<li class="muted">${t.t('noConditions')}</li>`}
      </ul>
      <form id="add-condition" class="add" @submit=${(e: SubmitEvent) => {
        e.preventDefault();
        const values = new FormData(e.target as HTMLFormElement).getAll('value') as string[];
        if (!values.length) {
          this.announcement = t.t('pickValues');
          return;
        }
        set([...now().filter((x) => x.source !== source || x.key !== key), { source, key, values }]);
        this.conditionField = '';
      }}>
        <label class="stack">${t.t('conditionField')}
          <select id="condition-field" .value=${this.conditionField} @change=${(e: Event) => {
            const select = e.target as HTMLSelectElement;
            // Another field: none of its values is chosen yet.
            for (const box of select.form!.querySelectorAll('input')) box.checked = false;
            this.conditionField = select.value;
          }}>
            <option value="">${t.t('choose')}</option>
            ${(['customer', 'opportunity'] as const).map(
              (s) =>
                html`<optgroup label=${t.t(`source_${s}`)}>${(this.catalog?.[s] ?? [])
                  .filter(
                    (f) =>
                      // The lost reason is chosen when a deal is lost, long after its process.
                      f.key !== 'lostReason' &&
                      this.#customField(s, f.key) &&
                      !f.archived &&
                      offered(f).length &&
                      !conditions.some((c) => c.source === s && c.key === f.key),
                  )
                  .map((f) => html`<option value="${s}:${f.key}">${t.pick(f.label)}</option>`)}</optgroup>`,
            )}
          </select>
        </label>
        ${
          picked
            ? html`<fieldset><legend>${t.t('conditionValues')}</legend>
              ${offered(picked).map((o) => html`<label class="check"><input type="checkbox" name="value" value=${o.value} /> ${t.pick(o.label)}</label>`)}
            </fieldset>`
            : nothing
        }
        <button type="submit" ?disabled=${!picked}>${t.t('addCondition')}</button>
      </form>
    </fieldset>`;
  }

  #fieldLabel(f: StageField): string {
    if (f.label) return this.#i18n.pick(f.label);
    const def = f.source === 'stage' ? undefined : this.catalog?.[f.source].find((d) => d.key === f.key);
    return def ? this.#i18n.pick(def.label) : f.key;
  }

  #renderFields(phase: Phase, s: Stage, index: number) {
    const t = this.#i18n;
    const uid = (f: StageField) => `${f.source}:${f.key}`;
    const taken = new Set(s.fields.map(uid));
    const pickable = (['customer', 'opportunity'] as const).map((source) => ({
      source,
      items: (this.catalog?.[source] ?? []).filter((d) => !d.archived && !taken.has(`${source}:${d.key}`)),
    }));
    return html`<fieldset>
      <legend>${t.t('fields')}</legend>
      ${
        s.fields.length
          ? html`<table class="fields">
            <tbody>
              ${s.fields.map(
                (f, i) => html`<tr data-field=${uid(f)}>
                  <td><span class="badge">${t.t(`source_${f.source}`)}</span></td>
                  <td>${this.#fieldLabel(f)} ${this.#problemText(this.#problemsAt(phase, index, 'fields', i))}</td>
                  <td><label class="check"><input type="checkbox" .checked=${f.required} @change=${(e: Event) => this.#edit((doc) => setStageFieldValue(doc, phase, s.id, uid(f), 'required', (e.target as HTMLInputElement).checked))} /> ${t.t('required')}</label></td>
                  <td>
                    <button class="icon" ?disabled=${i === 0} aria-label="${t.t('moveUp')} ${this.#fieldLabel(f)}" @click=${() => this.#edit((doc) => moveStageField(doc, phase, s.id, uid(f), i - 1))}>↑</button>
                    <button class="icon" ?disabled=${i === s.fields.length - 1} aria-label="${t.t('moveDown')} ${this.#fieldLabel(f)}" @click=${() => this.#edit((doc) => moveStageField(doc, phase, s.id, uid(f), i + 1))}>↓</button>
                    <button class="icon danger" aria-label="${t.t('removeField')} ${this.#fieldLabel(f)}" @click=${() => this.#edit((doc) => removeStageField(doc, phase, s.id, uid(f)))}>×</button>
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>`
          : html`<p class="muted">${t.t('noFields')}</p>`
      }
      <div class="row">
        <form @submit=${(e: SubmitEvent) => {
          e.preventDefault();
          const value = String(new FormData(e.target as HTMLFormElement).get('field') ?? '');
          const [source, key] = value.split(':') as ['customer' | 'opportunity', string];
          if (key) this.#edit((doc) => addStageField(doc, phase, s.id, { source, key, required: false }));
          (e.target as HTMLFormElement).reset();
        }}>
          <label class="stack">${t.t('addExisting')}
            <select name="field" id="add-existing">
              <option value="">${t.t('choose')}</option>
              ${pickable.map((g) => html`<optgroup label=${t.t(`source_${g.source}`)}>${g.items.map((d) => html`<option value="${g.source}:${d.key}">${t.pick(d.label)}</option>`)}</optgroup>`)}
            </select>
          </label>
          <button type="submit">${t.t('add')}</button>
        </form>
        <form @submit=${(e: SubmitEvent) => {
          e.preventDefault();
          const data = new FormData(e.target as HTMLFormElement);
          const zh = String(data.get('zh') ?? '').trim();
          const en = String(data.get('en') ?? '').trim();
          const type = String(data.get('type') ?? 'text') as StageField['type'];
          const options = String(data.get('options') ?? '')
            .split('\n')
            .map((x) => x.trim())
            .filter(Boolean)
            .map((label, i) => ({ value: `o${i + 1}`, label: { zh: label, en: label } }));
          // "Budget range" → budgetRange; no usable English label → a generated key.
          const key = camelKey(en) || newId('f');
          this.#edit((doc) =>
            addStageField(doc, phase, s.id, {
              source: 'stage',
              key: taken.has(`stage:${key}`) ? newId('f') : key,
              required: false,
              label: { zh, en },
              type,
              ...(options.length ? { options } : {}),
            }),
          );
          (e.target as HTMLFormElement).reset();
        }}>
          <label class="stack">${t.t('addStageField')}
            <input name="zh" id="new-field-zh" required maxlength="120" placeholder=${t.t('fieldLabelZh')} aria-label=${t.t('fieldLabelZh')} />
          </label>
          <input name="en" maxlength="120" placeholder=${t.t('fieldLabelEn')} aria-label=${t.t('fieldLabelEn')} />
          <select name="type" aria-label=${t.t('fieldType')}>${FIELD_TYPES.map((ty) => html`<option value=${ty}>${t.t(`type_${ty}`)}</option>`)}</select>
          <textarea name="options" placeholder=${t.t('fieldOptions')} aria-label=${t.t('fieldOptions')}></textarea>
          <button type="submit">${t.t('add')}</button>
        </form>
      </div>
    </fieldset>`;
  }

  #renderTerminal(draft: ProcessDraft) {
    const t = this.#i18n;
    return html`<div class="row">
      ${(['won', 'lost', 'invalid'] as const).map(
        (k) => html`<fieldset>
          <legend>${t.t(k)}</legend>
          <label class="stack">${t.t('terminalName')} <input id="terminal-${k}-name" .value=${draft.definition.terminal[k].name} maxlength="80" @change=${(e: Event) => this.#edit((doc) => setTerminal(doc, k, 'name', (e.target as HTMLInputElement).value))} /></label>
          <label class="stack">${t.t('winRate')} <input id="terminal-${k}-rate" type="number" min="0" max="100" .value=${String(draft.definition.terminal[k].winRate)} @change=${(e: Event) => this.#edit((doc) => setTerminal(doc, k, 'winRate', Math.max(0, Math.min(100, Number((e.target as HTMLInputElement).value) || 0))))} /></label>
        </fieldset>`,
      )}
    </div>`;
  }

  #renderRules(draft: ProcessDraft) {
    const t = this.#i18n;
    const r = draft.definition.rules;
    const rule = (key: keyof typeof r, value: unknown) => this.#edit((doc) => setRule(doc, key, value));
    return html`<div class="editor">
      <label class="check"><input id="rule-order-to-win" type="checkbox" .checked=${r.orderRequiredToWin} @change=${(e: Event) => rule('orderRequiredToWin', (e.target as HTMLInputElement).checked)} /> ${t.t('orderRequiredToWin')}</label>
      <label class="stack">${t.t('orderAllowedAfterStage')}
        <select id="rule-order-after" @change=${(e: Event) => rule('orderAllowedAfterStage', (e.target as HTMLSelectElement).value || null)}>
          <option value="" ?selected=${!r.orderAllowedAfterStage}>${t.t('anyStage')}</option>
          ${draft.definition.presale.map((s) => html`<option value=${s.id} ?selected=${r.orderAllowedAfterStage === s.id}>${s.name || s.id}</option>`)}
        </select>
        ${this.#problemText(this.#problemsAt('rules'))}
      </label>
      <label class="check"><input id="rule-skip" type="checkbox" .checked=${r.allowSkipStages} @change=${(e: Event) => rule('allowSkipStages', (e.target as HTMLInputElement).checked)} /> ${t.t('allowSkipStages')}</label>
      <label class="check"><input id="rule-back" type="checkbox" .checked=${r.allowMoveBack} @change=${(e: Event) => rule('allowMoveBack', (e.target as HTMLInputElement).checked)} /> ${t.t('allowMoveBack')}</label>
      <label class="check"><input id="rule-reopen" type="checkbox" .checked=${r.allowReopen} @change=${(e: Event) => rule('allowReopen', (e.target as HTMLInputElement).checked)} /> ${t.t('allowReopen')}</label>
    </div>`;
  }

  #renderDepartments(draft: ProcessDraft) {
    const t = this.#i18n;
    const all = this.departments ?? [];
    const chosen = new Set(draft.departments);
    // The departments now, not at render time: quick clicks must not lose one.
    const toggle = (id: string, on: boolean) =>
      this.#edit((doc) => {
        const now = new Set(this.draft?.departments ?? []);
        if (on) now.add(id);
        else now.delete(id);
        setDepartments(doc, [...now]);
      });
    const tree = (parent: string | null): TemplateResult | typeof nothing => {
      const children = all.filter(
        (d) =>
          (d.parentId ?? null) === parent || (parent === null && d.parentId && !all.some((p) => p.id === d.parentId)),
      );
      if (!children.length) return nothing;
      return html`<ul class="tree">${children.map((d) => html`<li><label class="check"><input type="checkbox" data-department=${d.id} .checked=${chosen.has(d.id)} @change=${(e: Event) => toggle(d.id, (e.target as HTMLInputElement).checked)} /> ${d.name}</label>${tree(d.id)}</li>`)}</ul>`;
    };
    return html`<fieldset><legend>${t.t('departments')}</legend><p class="muted">${t.t('departmentsHint')}</p>${tree(null)}</fieldset>`;
  }

  // ---- history ----------------------------------------------------------------------------

  #renderHistory(draft: ProcessDraft) {
    const t = this.#i18n;
    const h = this.#history;
    const page = h.value;
    const pending = h.status === TaskStatus.PENDING;
    // The first page on its way (opened, or refreshed): what was shown before is not this.
    const list =
      h.status === TaskStatus.INITIAL
        ? html`<p class="muted">${t.t('historyEmpty')}</p>` // nothing to ask: no server
        : !page || (pending && !this.historyCursor)
          ? html`<p aria-busy="true">${t.t('loading')}</p>`
          : page.items.length
            ? html`<ol class="history">${page.items.map((e) => this.#renderEntry(e, draft))}</ol>`
            : html`<p class="muted">${t.t('historyEmpty')}</p>`;
    return html`<section part="history" aria-label=${t.t('history')} aria-busy=${pending ? 'true' : 'false'}>
      ${h.status === TaskStatus.ERROR ? html`<p class="alert" role="alert">${t.t('historyFailed')}${this.errorMessage(h.error)} <button @click=${() => h.run()}>${t.t('retry')}</button></p>` : list}
      ${page?.next && h.status !== TaskStatus.ERROR ? html`<button id="history-more" ?disabled=${pending} @click=${() => (this.historyCursor = page.next)}>${t.t('more')}</button>` : nothing}
    </section>`;
  }

  #renderEntry(e: AuditEntry, draft: ProcessDraft) {
    const t = this.#i18n;
    const key = `act_${e.action.replace('.', '_')}`;
    const when = new Date(e.at);
    return html`<li data-action=${e.action}>
      <div><strong>${key in messages ? t.t(key as Msg) : e.action}</strong>
        <span class="muted">${e.actorName || e.actorId || t.t('system')} · <time datetime=${e.at}>${new Intl.DateTimeFormat(t.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(when)}</time></span></div>
      <ul>${this.#diffLines(e.diff, draft).map((line) => html`<li>${line}</li>`)}</ul>
    </li>`;
  }

  /** An entry's diff as sentences: `{key: [before, after]}` pairs, counts, and the stage changes of a publish. */
  #diffLines(diff: Record<string, unknown>, draft: ProcessDraft): string[] {
    const t = this.#i18n;
    const zh = t.locale !== 'en';
    const list = (xs: unknown[]) => xs.join(zh ? '、' : ', ');
    const colon = zh ? '：' : ': ';
    const removed = ((diff.stages ?? []) as StageChange[]).filter((c) => c.kind === 'removed');
    const stageName = (id: unknown) =>
      removed.find((c) => c.stageId === id)?.name ??
      [...draft.definition.presale, ...draft.definition.postsale].find((s) => s.id === id)?.name ??
      String(id);
    const label = (key: string) => {
      const k = (['status', 'version', 'derivedFrom'].includes(key) ? `k_${key}` : key) as Msg;
      return k in messages ? t.t(k) : key;
    };
    const show = (key: string, v: unknown): string => {
      if (v === null || v === undefined) return key === 'orderAllowedAfterStage' ? t.t('anyStage') : '—';
      if (typeof v === 'boolean') return t.t(v ? 'yes' : 'no');
      if (key === 'version') return `v${v}`;
      if (key === 'status') return t.t(`status_${v}` as Msg);
      if (key === 'orderAllowedAfterStage') return stageName(v);
      if (key === 'departments')
        return (v as string[]).length
          ? list((v as string[]).map((id) => this.departments?.find((d) => d.id === id)?.name ?? id))
          : t.t('allDepartments');
      if (Array.isArray(v)) return list(v);
      if (typeof v === 'object') {
        const { name, winRate } = v as { name?: string; winRate?: number };
        return name !== undefined ? `${name} ${winRate ?? 0}%` : JSON.stringify(v);
      }
      return String(v);
    };
    const pair = (key: string, v: unknown): string => {
      const [a, b] = v as [unknown, unknown];
      if (a === '…') return label(key) + colon + t.t('changedValue');
      // Created (no before) or deleted (no after): the one value says it.
      if (a === null || b === null) return label(key) + colon + show(key, a ?? b);
      return `${label(key)}${colon}${show(key, a)} → ${show(key, b)}`;
    };
    const out: string[] = [];
    // In this order (the database keeps no key order); anything else after.
    const rank = (k: string) => (ORDER.indexOf(k) + ORDER.length + 1) % (ORDER.length + 1);
    for (const [key, v] of Object.entries(diff).sort(([a], [b]) => rank(a) - rank(b))) {
      if (key === 'moved') out.push(t.t('d_moved', { n: Number(v) }));
      else if (key === 'remapped') out.push(t.t('d_remapped', { n: Number(v) }));
      else if (key === 'mode') v === 'new-process' && out.push(t.t('publishedNew'));
      else if (key === 'processId') continue;
      else if (key === 'stageMapping')
        for (const [from, to] of Object.entries(v as Record<string, string>))
          out.push(t.t('d_mapping', { from: stageName(from), to: stageName(to) }));
      else if (key === 'stages') for (const c of v as StageChange[]) out.push(this.#stageLine(c));
      else if (key === 'rules' || key === 'terminal')
        for (const [k, p] of Object.entries(v as Record<string, unknown>)) out.push(pair(k, p));
      else if (Array.isArray(v) && v.length === 2) out.push(pair(key, v));
      else out.push(key + colon + JSON.stringify(v));
    }
    return out;
  }

  #stageLine(c: StageChange): string {
    const t = this.#i18n;
    const phase = t.t(c.phase);
    if (c.kind === 'renamed') return t.t('s_renamed', { from: c.from ?? '', to: c.to ?? '' });
    if (c.kind === 'reordered') return t.t('s_reordered', { phase, names: (c.names ?? []).join(' → ') });
    if (c.kind === 'changed')
      return t.t('s_changed', {
        name: c.name ?? '',
        keys: (c.keys ?? [])
          .map((k) => (`sk_${k}` in messages ? t.t(`sk_${k}` as Msg) : k))
          .join(t.locale === 'en' ? ', ' : '、'),
      });
    return t.t(c.kind === 'added' ? 's_added' : 's_removed', { phase, name: c.name ?? '' });
  }

  // ---- lifecycle and publishing -----------------------------------------------------------

  async #setStatus(action: 'enable' | 'disable') {
    const client = this.client;
    if (!client) return;
    try {
      const { data } = await client.post<ProcessInfo>(`/processes/${encodeURIComponent(this.processId)}/${action}`);
      this.process = data;
      this.actionError = null;
      this.#changedProcess();
    } catch (e) {
      this.#fail(e);
    }
  }

  #deleteProcess = async () => {
    const client = this.client;
    if (!client) return;
    this.confirmingDelete = false;
    try {
      await client.delete(`/processes/${encodeURIComponent(this.processId)}`);
      this.actionError = null;
      this.process = null;
    } catch (e) {
      this.#fail(e);
    }
  };

  #openPublish = async () => {
    this.publishState = { ...this.publishState, preview: null, error: null, result: null, mapping: {} };
    await this.updateComplete;
    this.shadowRoot!.querySelector<HTMLDialogElement>('dialog')?.showModal();
    await this.#loadPreview();
  };

  async #loadPreview() {
    const client = this.client;
    if (!client) return;
    const { mode, mapping } = this.publishState;
    try {
      // The last edits reach the server before it reads the draft.
      await this.#live.flush();
      const { data } = await client.post<Preview>(`/processes/${encodeURIComponent(this.processId)}/publish/preview`, {
        mode,
        stageMapping: mapping,
      });
      this.publishState = { ...this.publishState, preview: data, error: null };
    } catch (e) {
      const err = e as ApiClientError;
      this.publishState = {
        ...this.publishState,
        preview: null,
        error:
          this.#i18n.t('previewFailed') +
          [this.errorMessage(err), ...this.detailMessages(err)].filter(Boolean).join('；'),
      };
    }
  }

  async #publish() {
    const client = this.client;
    if (!client) return;
    const { mode, mapping, disableOld } = this.publishState;
    this.publishState = { ...this.publishState, busy: true };
    try {
      await this.#live.flush();
      const { data } = await client.post<{ processId: string; version: number; moved: number }>(
        `/processes/${encodeURIComponent(this.processId)}/publish`,
        { mode, stageMapping: mapping, disableOld },
      );
      this.publishState = {
        ...this.publishState,
        busy: false,
        result: mode === 'new-process' ? this.#i18n.t('publishedNew') : this.#i18n.t('published', { v: data.version }),
        error: null,
      };
      this.dispatchEvent(
        new SpPublishEvent({ processId: data.processId, version: data.version, mode, moved: data.moved }),
      );
      this.#changedProcess();
      await this.#loader.run();
    } catch (e) {
      const err = e as ApiClientError;
      this.publishState = {
        ...this.publishState,
        busy: false,
        error:
          this.#i18n.t('publishFailed') +
          [this.errorMessage(err), ...this.detailMessages(err)].filter(Boolean).join('；'),
      };
    }
  }

  #renderPublish() {
    const t = this.#i18n;
    const st = this.publishState;
    const { draft, problems } = this.#view!;
    const close = () => this.shadowRoot!.querySelector<HTMLDialogElement>('dialog')?.close();
    const change = (patch: Partial<typeof st>) => {
      this.publishState = { ...this.publishState, ...patch };
      void this.#loadPreview();
    };
    const unmapped = st.preview?.unmapped ?? [];
    const blocked =
      st.busy ||
      !!st.result ||
      (st.mode === 'update-existing' && unmapped.some((u) => !st.mapping[u.stageId])) ||
      problems.some((p) => p.severity === 'error');
    return html`<dialog aria-labelledby="publish-title">
      <h3 id="publish-title">${t.t('publishTitle')}</h3>
      <fieldset>
        <label class="check"><input type="radio" name="mode" value="update-existing" .checked=${st.mode === 'update-existing'} @change=${() => change({ mode: 'update-existing' })} /> ${t.t('modeUpdate')}</label>
        <p class="muted">${t.t('modeUpdateHint')}</p>
        <label class="check"><input type="radio" name="mode" value="new-process" .checked=${st.mode === 'new-process'} @change=${() => change({ mode: 'new-process' })} /> ${t.t('modeNew')}</label>
        <p class="muted">${t.t('modeNewHint')}</p>
        ${
          st.mode === 'new-process'
            ? html`<label class="check"><input type="checkbox" id="disable-old" .checked=${st.disableOld} @change=${(e: Event) => (this.publishState = { ...st, disableOld: (e.target as HTMLInputElement).checked })} /> ${t.t('disableOld')}</label>`
            : nothing
        }
      </fieldset>
      ${
        st.mode === 'update-existing' && st.preview
          ? html`<div class="preview" role="status">
            <p>${t.t('affected', { n: st.preview.affected })}</p>
            <ul>${st.preview.perStage.filter((p) => !p.removed).map((p) => html`<li>${t.t('perStage', { name: p.name ?? '—', n: p.count })}</li>`)}</ul>
            ${unmapped.map(
              (u) => html`<label class="stack">${t.t('removedStage', { name: u.name, n: u.count })}
                <select data-unmapped=${u.stageId} @change=${(e: Event) => change({ mapping: { ...st.mapping, [u.stageId]: (e.target as HTMLSelectElement).value } })}>
                  <option value="">${t.t('choose')}</option>
                  ${(draft?.definition.presale ?? []).concat((draft?.definition.postsale ?? []) as never).map((s) => html`<option value=${s.id} ?selected=${st.mapping[u.stageId] === s.id}>${s.name}</option>`)}
                </select>
              </label>`,
            )}
          </div>`
          : nothing
      }
      ${st.error ? html`<p class="alert" role="alert">${st.error}</p>` : nothing}
      ${st.result ? html`<p role="status"><strong>${st.result}</strong></p>` : nothing}
      <div class="buttons">
        <button @click=${close}>${st.result ? t.t('close') : t.t('cancel')}</button>
        ${st.result ? nothing : html`<button class="primary" ?disabled=${blocked} @click=${() => this.#publish()}>${t.t('confirmPublish')}</button>`}
      </div>
    </dialog>`;
  }
}

export const define = (tag = 'sales-process-designer') => defineElement(tag, SalesProcessDesigner);
