import {
  FORM_ROOT,
  opportunityDocName,
  SERVER_ROOT,
  type FormFieldView,
  type LiveNotice,
  type OpportunityView,
} from '@sales-process/core';
import { checkFieldValue, isEmptyValue, type FieldType } from '@sales-process/core/field-values';
import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { ApiClientError } from '../client/api-client.js';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import { LocalizeController } from '../shared/i18n.js';
import { LiveDocController } from '../shared/live-controller.js';
import type { ContactGates } from './contact-gates.js';
import styles from './stage-feedback-form.styles.js';
import type * as Y from 'yjs';
import { messages } from './messages.js';

type Field = Omit<FormFieldView, 'value'>;
interface DirectoryUser {
  id: string;
  name: string;
}

const COLORS = ['#0b65c2', '#b3261e', '#1a7f37', '#8250df', '#bf8700', '#0f7b8a'];

/**
 * @summary The current stage's feedback form of an opportunity: its requirements and
 * fields by type, co-filled live with everyone who has it open, validated as you type.
 * Form-associated: inside a host `<form>` it submits its values (JSON, under `name`),
 * reports validity, and follows a surrounding disabled `<fieldset>`.
 *
 * @event input - A value changed (native `Event`, bubbling, composed).
 * @event change - A value was committed (native `Event`, bubbling, composed).
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
 * @csspart presence - The bar with the live state and who else is here.
 * @csspart requirements - The stage's requirements.
 * @csspart field - One field row (label, control, message).
 * @csspart contacts - The current stage's contact gates (at least n contacts, a contact with a role), each met or not; its chunk loads when a stage first has one.
 * @csspart add-contact - The form that adds a contact to the customer, with its roles (the options of the `contact.role` field), shown while a contact gate is unmet.
 * @csspart file-link - The name of an uploaded file; a click downloads it through a short-lived signed link.
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
export class StageFeedbackForm extends ConnectedElement {
  static formAssociated = true;

  static override styles = styles;

  static override properties = {
    opportunityId: { attribute: 'opportunity-id' },
    name: { reflect: true },
    disabled: { type: Boolean, reflect: true },
    noOffline: { type: Boolean, attribute: 'no-offline' },
    doc: { attribute: false },
    userName: { attribute: 'user-name' },
    touched: { state: true },
    users: { state: true },
    notice: { state: true },
    uploading: { state: true },
    formDisabled: { state: true },
  };

  /** The opportunity whose current stage form to show. */
  opportunityId = '';
  /** The name it submits under inside a host `<form>`. */
  name = '';
  /** Show values without allowing edits. */
  disabled = false;
  /** Keep a local copy in IndexedDB so offline edits survive (default on). */
  noOffline = false;
  /** A Y.Doc the host manages itself (instead of connecting to the server). */
  doc: Y.Doc | null = null;
  /** The current user's display name and colour for presence. */
  userName = '';

  protected touched = new Set<string>();
  protected users: DirectoryUser[] = [];
  protected notice: string | null = null;
  protected uploading = new Set<string>();

  readonly #i18n = new LocalizeController(this, messages);
  protected readonly live = new LiveDocController(this, {
    onNotice: (n) => this.#onNotice(n),
    hasContent: () => !!this.opportunity,
  });
  /** Disabled by a surrounding disabled `<fieldset>` (kept apart from `disabled`, which is the host's). */
  protected formDisabled = false;
  readonly #internals: ElementInternals;

  constructor() {
    super();
    this.#internals = this.attachInternals();
  }

  /** The server-owned state of the opportunity (from its live doc). */
  get opportunity(): OpportunityView | null {
    const server = this.live.doc?.getMap(SERVER_ROOT);
    return server?.size ? (server.toJSON() as OpportunityView) : null;
  }

  /** The current stage's fields (labels, types, options, required), from the server. */
  get fields(): Field[] {
    return this.opportunity?.formFields ?? [];
  }

  /** The form's values keyed `source.key`. */
  get values(): Record<string, unknown> {
    return (this.live.doc?.getMap(FORM_ROOT).toJSON() ?? {}) as Record<string, unknown>;
  }

  /** The host `<form>` it belongs to. */
  get form(): HTMLFormElement | null {
    return this.#internals.form;
  }

  /** Its validity in the host form (`valueMissing` for an empty required field, `customError` for a bad value). */
  get validity(): ValidityState {
    return this.#internals.validity;
  }

  /** The localized message of the first problem. */
  get validationMessage(): string {
    return this.#internals.validationMessage;
  }

  checkValidity(): boolean {
    return this.#internals.checkValidity();
  }

  reportValidity(): boolean {
    this.touched = new Set(this.fields.map(keyOf));
    return this.#internals.reportValidity();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('doc')) this.live.useDoc(this.doc);
    this.live.bind(
      this.opportunityId && !this.doc ? this.client : null,
      this.opportunityId ? opportunityDocName(this.opportunityId) : null,
      { offline: !this.noOffline },
    );
    if ((changed.has('token') || changed.has('connection' as never)) && this.fields.some((f) => f.type === 'user'))
      void this.#loadUsers();
    this.#updatePresence();
  }

  protected override reload() {
    this.live.retry();
  }

  /** Whether editing is off: `disabled`, or inside a disabled `<fieldset>`. */
  get #editingOff(): boolean {
    return this.disabled || this.formDisabled;
  }

  /**
   * Resolves once the server has every value typed here so far. Commands (the stage
   * path's, adding a contact) wait for it, so a value typed just before is never lost.
   */
  flush(): Promise<void> {
    return this.live.flush();
  }

  protected override updated(): void {
    // Form association: value and validity follow the live values.
    const values = this.values;
    this.#internals.setFormValue(this.name ? JSON.stringify(values) : null);
    const missing = this.fields.find((f) => f.required && isEmptyValue(values[keyOf(f)]));
    const invalid = this.fields.find((f) => this.#problem(f, values[keyOf(f)]));
    if (missing)
      this.#internals.setValidity(
        { valueMissing: true },
        this.#i18n.t('required', { label: this.#label(missing) }),
        this.#anchor(missing),
      );
    else if (invalid)
      this.#internals.setValidity(
        { customError: true },
        this.#problem(invalid, values[keyOf(invalid)])!,
        this.#anchor(invalid),
      );
    else this.#internals.setValidity({});
    if (this.fields.some((f) => f.type === 'user') && !this.users.length) void this.#loadUsers();
  }

  formResetCallback(): void {
    this.touched = new Set();
  }

  formDisabledCallback(disabled: boolean): void {
    // Follows the fieldset, both ways; `disabled` stays the host's alone.
    this.formDisabled = disabled;
  }

  #anchor(f: Field): HTMLElement | undefined {
    return this.shadowRoot?.querySelector<HTMLElement>(`[data-key="${CSS.escape(keyOf(f))}"]`) ?? undefined;
  }

  #label(f: Pick<Field, 'label'>): string {
    return this.#i18n.pick(f.label);
  }

  #problem(f: Field, value: unknown): string | null {
    const p = checkFieldValue(f.type as FieldType, value, f.options ?? undefined);
    return p ? this.#i18n.pick(p.message) : null;
  }

  async #loadUsers() {
    const client = this.client;
    if (!client || this.users.length) return;
    try {
      this.users = (await client.get<{ users?: DirectoryUser[] }>('/directory')).users ?? [];
    } catch {
      /* the picker falls back to a text box */
    }
  }

  #onNotice(n: LiveNotice) {
    this.notice =
      this.#i18n.pick(n.message) + (n.details.length ? `：${this.detailMessages(n, (d) => d.path).join('；')}` : '');
  }

  /** Writes one value into the live doc (everyone sees it; the server checks and saves it). */
  #setValue(f: Field, value: unknown, commit: boolean) {
    const doc = this.live.doc;
    if (!doc || this.#editingOff) return;
    const map = doc.getMap(FORM_ROOT);
    if (JSON.stringify(map.get(keyOf(f))) !== JSON.stringify(value))
      map.set(keyOf(f), value === undefined ? null : value);
    this.notice = null;
    this.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
    if (commit) {
      this.touched = new Set([...this.touched, keyOf(f)]);
      this.dispatchEvent(new Event('change', { bubbles: true, composed: true }));
    }
  }

  #updatePresence() {
    const awareness = this.live.live?.provider.awareness;
    if (!awareness) return;
    const name = this.userName || this.client.subject || '?';
    const current = awareness.getLocalState() as { user?: { name: string } } | null;
    if (current?.user?.name !== name)
      awareness.setLocalStateField('user', { name, color: COLORS[Math.abs(hash(name)) % COLORS.length] });
  }

  #markFocus(key: string | null) {
    this.live.live?.provider.awareness.setLocalStateField('field', key);
  }

  /** Others in this form, and which field each is in. */
  #others(): { name: string; color: string; field: string | null }[] {
    const awareness = this.live.live?.provider.awareness;
    if (!awareness) return [];
    const out: { name: string; color: string; field: string | null }[] = [];
    awareness.getStates().forEach((s, id) => {
      if (id === awareness.clientID || !s.user) return;
      out.push({ name: s.user.name, color: s.user.color, field: s.field ?? null });
    });
    return out;
  }

  async #upload(f: Field, file: File) {
    const client = this.client;
    this.uploading = new Set([...this.uploading, keyOf(f)]);
    try {
      const res = await client.fetch(`${client.root}/files`, {
        method: 'POST',
        headers: {
          'content-type': file.type || 'application/octet-stream',
          'x-file-name': encodeURIComponent(file.name),
        },
        body: file,
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(body?.error?.message ?? res.statusText);
      this.#setValue(f, body, true);
    } catch (e) {
      this.notice = `${this.#i18n.t('uploadFailed')}：${(e as Error).message}`;
      this.reportError(e);
    } finally {
      const next = new Set(this.uploading);
      next.delete(keyOf(f));
      this.uploading = next;
    }
  }

  /**
   * Downloads a file without putting the token in a URL: asks the server for a
   * short-lived signed link, then navigates to it.
   */
  async download(file: { id: string; name: string }): Promise<void> {
    const client = this.client;
    try {
      const { data } = await client.post<{ url: string; expiresAt: string }>(
        `/files/${encodeURIComponent(file.id)}/link`,
      );
      const a = document.createElement('a');
      a.href = new URL(data.url, client.baseUrl || globalThis.location.origin).href;
      a.download = file.name;
      a.rel = 'noopener';
      a.click();
    } catch (e) {
      const err = e as ApiClientError;
      this.notice = `${this.#i18n.t('downloadFailed')}：${this.errorMessage(err)}`;
      this.reportError(e);
    }
  }

  #contacts?: ContactGates;
  #contactChunk?: Promise<void>;

  /** The contact gates and "add contact" form: their chunk loads when a stage first has a contact gate. */
  #loadContacts() {
    this.#contactChunk ??= import('./contact-gates.js').then(
      (m) => {
        this.#contacts = new m.ContactGates(
          this,
          () => this.client,
          (e) => {
            this.reportError(e);
            return this.errorMessage(e);
          },
        );
        this.requestUpdate();
      },
      (e: unknown) => void this.reportError(e),
    );
    return nothing;
  }

  protected override render() {
    const t = this.#i18n;
    const o = this.opportunity;
    if (!this.opportunityId) return nothing;
    if (!o)
      return this.live.failure
        ? this.renderFailure(this.live.failure)
        : html`<p aria-busy="true">${t.t('loading')}</p>`;
    const closed = !(o.status === 'open' || o.phase === 'postsale') || !o.stageId;
    const values = this.values;
    const others = this.#others();
    return html`
      <div class="bar" part="presence">
        ${this.live.connected ? html`<span>● ${t.t('live')}</span>` : html`<span class="offline" role="status">${t.t('offline')}</span>`}
        ${others.map((w) => html`<span class="who"><span class="dot" .style=${`background:${w.color}`}></span>${w.name}</span>`)}
      </div>
      ${this.notice ? html`<p class="notice" role="alert">${this.notice}</p>` : nothing}
      ${
        closed
          ? html`<p>${t.t('closed')}</p>`
          : html`
            <h3>${o.stageName}</h3>
            ${o.stageRequirements ? html`<p class="requirements" part="requirements"><strong>${t.t('requirements')}：</strong>${o.stageRequirements}</p>` : nothing}
            ${
              o.gates.some((g) => g.gate === 'minContacts' || g.gate === 'contactRole')
                ? (this.#contacts?.render(o, this.#editingOff) ?? this.#loadContacts())
                : nothing
            }
            ${this.fields.length ? this.fields.map((f) => this.#renderField(f, values[keyOf(f)], others)) : html`<p>${t.t('noFields')}</p>`}
          `
      }
    `;
  }

  #renderField(
    f: Field,
    value: unknown,
    others: { name: string; color: string; field: string | null }[],
  ): TemplateResult {
    const key = keyOf(f);
    const id = `f-${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const touched = this.touched.has(key);
    const missing = f.required && isEmptyValue(value);
    const problem = this.#problem(f, value);
    const error = touched ? (missing ? this.#i18n.t('requiredShort') : problem) : problem;
    const invalid = !!error;
    const editing = others.filter((o) => o.field === key);
    const label = html`${this.#label(f)}${f.required ? html`<span class="req" aria-hidden="true">*</span>` : nothing}${editing.map((w) => html`<span class="editing" .style=${`color:${w.color}`}>✎ ${w.name}</span>`)}`;
    const common = {
      id,
      key,
      invalid,
      describedby: error ? `${id}-error` : '',
    };
    return html`<div class="field" part="field">
      ${f.type === 'multiselect' || f.type === 'boolean' ? nothing : html`<label for=${id}>${label}</label>`}
      ${this.#control(f, value, common, label)}
      ${error ? html`<span class="error" id="${id}-error">${error}</span>` : nothing}
    </div>`;
  }

  #control(
    f: Field,
    value: unknown,
    c: { id: string; key: string; invalid: boolean; describedby: string },
    label: TemplateResult,
  ): TemplateResult {
    const disabled = this.#editingOff;
    const focus = () => this.#markFocus(c.key);
    const blur = () => {
      this.#markFocus(null);
      this.touched = new Set([...this.touched, c.key]);
    };
    const str = typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
    const text = (type: string) => html`<input
      id=${c.id}
      data-key=${c.key}
      type=${type}
      .value=${str}
      ?required=${f.required}
      ?disabled=${disabled}
      aria-invalid=${c.invalid ? 'true' : 'false'}
      aria-describedby=${c.describedby || nothing}
      @focus=${focus}
      @blur=${blur}
      @input=${(e: Event) => this.#setValue(f, (e.target as HTMLInputElement).value || null, false)}
      @change=${(e: Event) => this.#setValue(f, (e.target as HTMLInputElement).value || null, true)}
    />`;
    switch (f.type) {
      case 'textarea':
        return html`<textarea id=${c.id} data-key=${c.key} .value=${str} ?required=${f.required} ?disabled=${disabled} aria-invalid=${c.invalid ? 'true' : 'false'} aria-describedby=${c.describedby || nothing}
          @focus=${focus} @blur=${blur}
          @input=${(e: Event) => this.#setValue(f, (e.target as HTMLTextAreaElement).value || null, false)}
          @change=${(e: Event) => this.#setValue(f, (e.target as HTMLTextAreaElement).value || null, true)}></textarea>`;
      case 'number':
      case 'currency':
        return html`<input id=${c.id} data-key=${c.key} type="number" step=${f.type === 'currency' ? '0.01' : 'any'} inputmode="decimal" .value=${str} ?required=${f.required} ?disabled=${disabled}
          aria-invalid=${c.invalid ? 'true' : 'false'} aria-describedby=${c.describedby || nothing} @focus=${focus} @blur=${blur}
          @input=${(e: Event) => this.#setValue(f, numberOrNull((e.target as HTMLInputElement).value), false)}
          @change=${(e: Event) => this.#setValue(f, numberOrNull((e.target as HTMLInputElement).value), true)} />`;
      case 'date':
        return text('date');
      case 'datetime':
        return html`<input id=${c.id} data-key=${c.key} type="datetime-local" .value=${str ? toLocalInput(str) : ''} ?required=${f.required} ?disabled=${disabled}
          aria-invalid=${c.invalid ? 'true' : 'false'} @focus=${focus} @blur=${blur}
          @change=${(e: Event) => {
            const v = (e.target as HTMLInputElement).value;
            this.#setValue(f, v ? new Date(v).toISOString() : null, true);
          }} />`;
      case 'boolean':
        return html`<label><input id=${c.id} data-key=${c.key} type="checkbox" .checked=${value === true} ?disabled=${disabled} @focus=${focus} @blur=${blur}
            @change=${(e: Event) => this.#setValue(f, (e.target as HTMLInputElement).checked, true)} /> ${label}</label>`;
      case 'select':
        return html`<select id=${c.id} data-key=${c.key} ?required=${f.required} ?disabled=${disabled} aria-invalid=${c.invalid ? 'true' : 'false'} @focus=${focus} @blur=${blur}
          @change=${(e: Event) => this.#setValue(f, (e.target as HTMLSelectElement).value || null, true)}>
          <option value="" ?selected=${!str}>${this.#i18n.t('choose')}</option>
          ${(f.options ?? []).map((o) => html`<option value=${o.value} ?selected=${o.value === str}>${this.#i18n.pick(o.label)}</option>`)}
        </select>`;
      case 'multiselect': {
        const chosen = Array.isArray(value) ? (value as string[]) : [];
        return html`<fieldset data-key=${c.key} aria-invalid=${c.invalid ? 'true' : 'false'}>
          <legend>${label}</legend>
          <div class="options">
            ${(f.options ?? []).map(
              (
                o,
              ) => html`<label><input type="checkbox" .checked=${chosen.includes(o.value)} ?disabled=${disabled} @focus=${focus} @blur=${blur}
                  @change=${(e: Event) => {
                    const on = (e.target as HTMLInputElement).checked;
                    // The value now, not at render time: quick clicks must not lose a choice.
                    const now = this.values[c.key];
                    const current = Array.isArray(now) ? (now as string[]) : [];
                    const next = on ? [...new Set([...current, o.value])] : current.filter((x) => x !== o.value);
                    this.#setValue(f, next, true);
                  }} />${this.#i18n.pick(o.label)}</label>`,
            )}
          </div>
        </fieldset>`;
      }
      case 'email':
        return text('email');
      case 'phone':
        return text('tel');
      case 'url':
        return text('url');
      case 'user':
        return this.users.length
          ? html`<select id=${c.id} data-key=${c.key} ?required=${f.required} ?disabled=${disabled} @focus=${focus} @blur=${blur} @change=${(e: Event) => this.#setValue(f, (e.target as HTMLSelectElement).value || null, true)}>
              <option value="" ?selected=${!str}>${this.#i18n.t('choose')}</option>
              ${this.users.map((u) => html`<option value=${u.id} ?selected=${u.id === str}>${u.name}</option>`)}
            </select>`
          : text('text');
      case 'file': {
        const file = value as { id: string; name: string; size: number } | null;
        return html`<div>
          ${
            file?.id
              ? html`<button type="button" class="file-link" part="file-link" @click=${() => this.download(file)}>${file.name}</button> (${Math.ceil(file.size / 1024)} KB) `
              : nothing
          }
          <input id=${c.id} data-key=${c.key} type="file" ?disabled=${disabled || this.uploading.has(c.key)} aria-invalid=${c.invalid ? 'true' : 'false'}
            @change=${(e: Event) => {
              const chosen = (e.target as HTMLInputElement).files?.[0];
              if (chosen) void this.#upload(f, chosen);
            }} />
          ${this.uploading.has(c.key) ? html`<span role="status">${this.#i18n.t('uploading')}</span>` : nothing}
        </div>`;
      }
      default:
        return text('text');
    }
  }
}

const keyOf = (f: Pick<Field, 'source' | 'key'>) => `${f.source}.${f.key}`;
const numberOrNull = (v: string) => (v === '' ? null : Number(v));
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) | 0;
  return h;
}

export const define = (tag = 'stage-feedback-form') => defineElement(tag, StageFeedbackForm);

declare global {
  interface HTMLElementTagNameMap {
    'stage-feedback-form': StageFeedbackForm;
  }
}
