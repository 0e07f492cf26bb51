import { Task } from '../shared/task.js';
import { html, nothing } from 'lit';
import type { FieldType, LocalizedText } from '@sales-process/core';
// The list only: the stage form's value checks (the rest of field-values) stay out of this chunk.
import { FIELD_TYPES } from '@sales-process/core/field-values';
import type { ApiClientError } from '../client/api-client.js';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import { LocalizeController } from '../shared/i18n.js';
import { StreamController } from '../shared/stream-controller.js';
import { camelKey } from '../admin/camel-key.js';
import { ReorderController } from '../admin/reorder-controller.js';
import { tabAfterKey } from '../admin/tabs.js';
import { messages } from './messages.js';
import styles from './sales-field-manager.styles.js';

/** The objects whose fields admins manage (a contact's roles are the `contact.role` field). */
export type FieldObject = 'customer' | 'opportunity' | 'contact';
const OBJECTS: readonly FieldObject[] = ['customer', 'opportunity', 'contact'];

/** A field definition as `GET /fields/{object}?includeArchived=true` answers it. */
export interface ManagedField {
  key: string;
  label: LocalizedText;
  type: FieldType;
  options?: ManagedOption[];
  required?: boolean;
  /** Built in (a column): listed, not editable. */
  system?: boolean;
  archived?: boolean;
  position?: number;
}

export interface ManagedOption {
  value: string;
  label: LocalizedText;
  archived?: boolean;
}

const hasOptions = (type: string) => type === 'select' || type === 'multiselect';

/** What the user changed, after the server took it. */
export type FieldChangeAction = 'create' | 'update' | 'archive' | 'restore' | 'reorder';

/** Fired after this element changed the tenant's fields (the server took the change). */
export class SpFieldsChangedEvent extends Event {
  static readonly type = 'sp-fields-changed';
  constructor(readonly detail: { object: FieldObject; key?: string; action: FieldChangeAction }) {
    super(SpFieldsChangedEvent.type, { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'sp-fields-changed': SpFieldsChangedEvent;
  }
  interface HTMLElementTagNameMap {
    'sales-field-manager': SalesFieldManager;
  }
}

/** An option being edited: `saved` ones are renamed or archived, new ones may still be removed. */
interface OptionDraft {
  value: string;
  zh: string;
  en: string;
  archived: boolean;
  saved: boolean;
}

interface EditorState {
  mode: 'add' | 'edit';
  object: FieldObject;
  key: string;
  zh: string;
  en: string;
  type: FieldType;
  required: boolean;
  options: OptionDraft[];
  /** Another admin changed this field while it was open here. */
  changedElsewhere: boolean;
}

type Catalog = Record<FieldObject, ManagedField[]>;

/**
 * @summary Field management (字段管理) for admins: the customer, opportunity and contact fields
 * in three tabs; add a field, edit its names (zh/en), `required` and options (add, rename, reorder,
 * archive), reorder fields (buttons, drag and drop, or the keyboard), archive and restore
 * fields. The lost reason (输单原因) is one of the opportunity fields; the contact roles
 * (联系人角色: 直接联系人, 关键决策人, …, which stages may require) are the options of the contact
 * field `role`. Fields are archived,
 * never deleted: values already stored keep their label. Live: when another admin changes
 * the fields, the list reloads (the `GET /fields/stream` server-sent events).
 *
 * @event {SpFieldsChangedEvent} sp-fields-changed - This element changed a field and the server took it; `detail: {object: 'customer' | 'opportunity' | 'contact', key?, action: 'create' | 'update' | 'archive' | 'restore' | 'reorder'}`.
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
 * @csspart tabs - The customer / opportunity / contact tabs.
 * @csspart list - The list of fields of the chosen object.
 * @csspart editor - The form that adds or edits a field.
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
export class SalesFieldManager extends ConnectedElement {
  static override styles = styles;

  static override properties = {
    object: {},
    catalog: { state: true },
    editor: { state: true },
    busy: { state: true },
    problem: { state: true },
    announcement: { state: true },
    confirming: { state: true },
    live: { state: true },
    rev: { state: true },
  };

  /** The tab shown: `customer` (default), `opportunity` or `contact`. */
  object: FieldObject = 'customer';

  protected catalog: Catalog | null = null;
  protected editor: EditorState | null = null;
  protected busy = false;
  /** What the server refused last (in the page's language), shown under the list. */
  protected problem = '';
  /** Said in the `role="status"` region (saved, moves while reordering). */
  protected announcement = '';
  /** The key of the field whose archiving waits for confirmation. */
  protected confirming: string | null = null;
  protected live = false;
  /** Bumped when the fields changed (here or elsewhere): the list loads again. */
  protected rev = 0;
  /** The field row that takes the tab stop in the list (roving tabindex). */
  #focusKey: string | null = null;

  readonly #i18n = new LocalizeController(this, messages);
  /** Keyboard moves in the list of custom fields. */
  readonly #reorder = new ReorderController(this, {
    drop: (key, to) => this.#moveTo(key, to, key),
    focusAt: (i) => {
      const f = this.#ordered(this.object)[i];
      if (f) void this.#focusField((this.#focusKey = f.key));
    },
    say: (text) => (this.announcement = text),
  });
  /** Changes by any admin (any instance): the list reloads; an open editor of that field is told. */
  readonly #stream = new StreamController(this, () => [this.conn, '/fields/stream'], {
    onStatus: (status) => (this.live = status === 'open'),
    onEvent: (e) => {
      if (e.event !== 'fields') return;
      const change = JSON.parse(e.data) as { object: FieldObject; key?: string };
      const ed = this.editor;
      if (ed?.mode === 'edit' && ed.object === change.object && ed.key === change.key)
        this.editor = { ...ed, changedElsewhere: true };
      this.rev++;
    },
  });
  /** Every object's fields, archived ones included; again on each change and when the element comes back. */
  readonly #loader = new Task(this, {
    args: () => [this.conn, this.#stream.attached, this.rev] as const,
    task: async ([conn], { signal }) => {
      const lists = await Promise.all(
        OBJECTS.map((o) => conn.client.get<{ items: ManagedField[] }>(`/fields/${o}?includeArchived=true`, signal)),
      );
      return Object.fromEntries(OBJECTS.map((o, i) => [o, lists[i]!.items])) as Catalog;
    },
    onComplete: (catalog) => {
      this.catalog = catalog;
      this.failure = null;
    },
    onError: (e) => this.loadFailed(e, this.catalog),
  });

  protected override reload() {
    return this.refresh();
  }

  /** Loads the fields again. */
  async refresh(): Promise<void> {
    await this.#loader.run();
  }

  // ---- reading -----------------------------------------------------------------------

  #fieldsOf(object: FieldObject): ManagedField[] {
    return this.catalog?.[object] ?? [];
  }

  /** The object's custom fields that are not archived, in order (a picked one where it would go). */
  #ordered(object: FieldObject): ManagedField[] {
    return this.#reorder.arrange(
      this.#fieldsOf(object).filter((f) => !f.system && !f.archived),
      (f) => f.key,
    );
  }

  #nameOf(f: { label: LocalizedText; key?: string; value?: string }): string {
    return this.#i18n.pick(f.label) || f.key || f.value || '';
  }

  #typeName(type: string): string {
    return this.#i18n.t(`type_${type}` as 'type_text');
  }

  // ---- changes -------------------------------------------------------------------------

  /** Sends one change; on success reloads, says so and fires `sp-fields-changed`; on refusal shows why. */
  async #change(
    action: FieldChangeAction,
    object: FieldObject,
    key: string | undefined,
    send: () => Promise<unknown>,
  ): Promise<boolean> {
    this.busy = true;
    this.problem = '';
    try {
      await send();
      this.announcement = this.#i18n.t('saved');
      this.dispatchEvent(new SpFieldsChangedEvent({ object, key, action }));
      this.rev++;
      return true;
    } catch (e) {
      const err = e as ApiClientError;
      this.problem = [this.errorMessage(err), ...this.detailMessages(err).filter(Boolean)].join('\n');
      this.reportError(e);
      return false;
    } finally {
      this.busy = false;
    }
  }

  #path(object: FieldObject, key?: string) {
    return `/fields/${object}${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;
  }

  #archive(f: ManagedField) {
    this.confirming = null;
    return this.#change('archive', this.object, f.key, () => this.client.delete(this.#path(this.object, f.key)));
  }

  #restore(f: ManagedField) {
    return this.#change('restore', this.object, f.key, () =>
      this.client.request('PATCH', this.#path(this.object, f.key), { archived: false }),
    );
  }

  async #saveOrder(keys: string[], focus?: string) {
    const object = this.object;
    const ok = await this.#change('reorder', object, undefined, () =>
      this.client.put(`${this.#path(object)}/order`, { keys }),
    );
    if (ok && this.catalog) {
      // Shown at once in the new order (the reload confirms it).
      const byKey = new Map(this.#fieldsOf(object).map((f) => [f.key, f]));
      const rest = this.#fieldsOf(object).filter((f) => f.system || f.archived);
      const system = rest.filter((f) => f.system);
      const archived = rest.filter((f) => !f.system);
      this.catalog = { ...this.catalog, [object]: [...system, ...keys.map((k) => byKey.get(k)!), ...archived] };
    }
    if (focus) void this.#focusField(focus);
  }

  /** Moves a custom field to `to` and saves the order; `focus`: the row to focus afterwards. */
  #moveTo(key: string, to: number, focus?: string) {
    const keys = this.#ordered(this.object).map((x) => x.key);
    const from = keys.indexOf(key);
    if (from < 0 || from === to || to < 0 || to >= keys.length) {
      if (focus) void this.#focusField(focus);
      return;
    }
    keys.splice(from, 1);
    keys.splice(to, 0, key);
    void this.#saveOrder(keys, focus);
  }

  // ---- the editor ------------------------------------------------------------------------

  #openAdd() {
    this.problem = '';
    this.editor = {
      mode: 'add',
      object: this.object,
      key: '',
      zh: '',
      en: '',
      type: 'text',
      required: false,
      options: [],
      changedElsewhere: false,
    };
    void this.#focusEditor();
  }

  #openEdit(f: ManagedField) {
    this.problem = '';
    this.editor = {
      mode: 'edit',
      object: this.object,
      key: f.key,
      zh: f.label.zh,
      en: f.label.en,
      type: f.type,
      required: !!f.required,
      options: (f.options ?? []).map((o) => ({
        value: o.value,
        zh: o.label.zh,
        en: o.label.en,
        archived: !!o.archived,
        saved: true,
      })),
      changedElsewhere: false,
    };
    void this.#focusEditor();
  }

  #closeEditor() {
    this.editor = null;
    this.problem = '';
  }

  #patchEditor(patch: Partial<EditorState>) {
    if (this.editor) this.editor = { ...this.editor, ...patch };
  }

  #patchOption(i: number, patch: Partial<OptionDraft>) {
    const ed = this.editor;
    if (!ed) return;
    this.editor = { ...ed, options: ed.options.map((o, j) => (j === i ? { ...o, ...patch } : o)) };
  }

  #moveOption(i: number, delta: number) {
    const ed = this.editor;
    const to = i + delta;
    if (!ed || to < 0 || to >= ed.options.length) return;
    const options = [...ed.options];
    const [o] = options.splice(i, 1);
    options.splice(to, 0, o!);
    this.editor = { ...ed, options };
  }

  #addOption() {
    const ed = this.editor;
    if (!ed) return;
    this.editor = { ...ed, options: [...ed.options, { value: '', zh: '', en: '', archived: false, saved: false }] };
    void this.updateComplete.then(() =>
      this.shadowRoot!.querySelector<HTMLInputElement>('ol.options li:last-child input.option-zh')?.focus(),
    );
  }

  #removeOption(i: number) {
    const ed = this.editor;
    if (ed) this.editor = { ...ed, options: ed.options.filter((_, j) => j !== i) };
  }

  /** The options to send: a new option without a value gets one from its name (unique in the field). */
  #optionsToSend(ed: EditorState): ManagedOption[] {
    const taken = new Set(ed.options.map((o) => o.value.trim()).filter(Boolean));
    return ed.options.map((o, i) => {
      let value = o.value.trim();
      if (!value) {
        const base = camelKey(o.en) || `option${i + 1}`;
        value = base;
        for (let n = 2; taken.has(value); n++) value = `${base}${n}`;
        taken.add(value);
      }
      const zh = o.zh.trim() || o.en.trim() || value;
      const en = o.en.trim() || o.zh.trim() || value;
      return { value, label: { zh, en }, ...(o.archived ? { archived: true } : {}) };
    });
  }

  async #save(e: SubmitEvent) {
    e.preventDefault();
    const ed = this.editor;
    if (!ed || this.busy) return;
    const zh = ed.zh.trim();
    const en = ed.en.trim();
    const label = { zh: zh || en, en: en || zh };
    const options = hasOptions(ed.type) ? this.#optionsToSend(ed) : undefined;
    const ok =
      ed.mode === 'add'
        ? await this.#change('create', ed.object, ed.key, () =>
            this.client.post(this.#path(ed.object), {
              key: ed.key.trim(),
              label,
              type: ed.type,
              required: ed.required,
              ...(options ? { options } : {}),
            }),
          )
        : await this.#change('update', ed.object, ed.key, () =>
            this.client.request('PATCH', this.#path(ed.object, ed.key), {
              label,
              required: ed.required,
              ...(options ? { options } : {}),
            }),
          );
    if (ok) this.editor = null;
  }

  async #focusEditor() {
    await this.updateComplete;
    this.shadowRoot!.querySelector<HTMLElement>('form.editor input:not([readonly])')?.focus();
  }

  async #focusField(key: string) {
    await this.updateComplete;
    this.shadowRoot!.querySelector<HTMLElement>(`ul.fields li[data-key="${CSS.escape(key)}"]`)?.focus();
  }

  // ---- keyboard and pointer --------------------------------------------------------------

  #onTabKey(e: KeyboardEvent) {
    const next = tabAfterKey(e, OBJECTS, this.object);
    if (!next) return;
    this.#select(next);
    void this.updateComplete.then(() => this.shadowRoot!.querySelector<HTMLElement>(`#tab-${this.object}`)?.focus());
  }

  #select(object: FieldObject) {
    this.object = object;
    this.#reorder.picked = null;
    this.confirming = null;
  }

  #onDrop(e: DragEvent, index: number) {
    e.preventDefault();
    const key = e.dataTransfer?.getData('text/x-sp-field');
    if (key) this.#moveTo(key, index);
  }

  // ---- rendering -------------------------------------------------------------------------

  protected override render() {
    const t = this.#i18n;
    const object = this.object;
    const objectName = t.t(object);
    const custom = this.#ordered(object);
    const system = this.#fieldsOf(object).filter((f) => f.system);
    const archived = this.#fieldsOf(object).filter((f) => !f.system && f.archived);
    if (!custom.some((f) => f.key === this.#focusKey)) this.#focusKey = custom[0]?.key ?? null;
    return html`<section aria-labelledby="fm-title">
      <header>
        <h3 id="fm-title">${t.t('title')}</h3>
        ${this.live ? html`<span class="live">● ${t.t('live')}</span>` : nothing}
      </header>
      ${this.renderFailure()}
      <div role="tablist" part="tabs" aria-label=${t.t('objects')} @keydown=${this.#onTabKey}>
        ${OBJECTS.map(
          (o) => html`<button role="tab" id="tab-${o}" aria-controls="fm-panel" aria-selected=${o === object}
            tabindex=${o === object ? 0 : -1} @click=${() => this.#select(o)}>${t.t(o)}</button>`,
        )}
      </div>
      <div role="tabpanel" id="fm-panel" aria-labelledby="tab-${object}">
        <p class="muted" id="reorder-hint">${t.t('reorderHint')}</p>
        <ul class="fields" part="list" aria-label=${t.t('fields', { object: objectName })}>
          ${system.map(
            (f) => html`<li class="system" data-key=${f.key}>
              <span class="name">${this.#nameOf(f)}</span>
              <span class="tag">${t.t('system')}</span>
              <span class="muted">${this.#typeName(f.type)}</span>
            </li>`,
          )}
          ${custom.map((f, i) => this.#renderField(f, i, custom.length))}
        </ul>
        ${this.catalog && !custom.length ? html`<p class="muted">${t.t('empty')}</p>` : nothing}
        ${
          archived.length
            ? html`<details>
              <summary>${t.t('archivedFields', { n: archived.length })}</summary>
              <p class="muted">${t.t('archivedHint')}</p>
              <ul class="fields archived">
                ${archived.map(
                  (f) => html`<li data-key=${f.key}>
                    <span class="name">${this.#nameOf(f)}</span>
                    <code>${f.key}</code>
                    <span class="tag">${t.t('archivedTag')}</span>
                    <span class="actions">
                      <button type="button" ?disabled=${this.busy} @click=${() => this.#restore(f)}>${t.t('restore')}</button>
                    </span>
                  </li>`,
                )}
              </ul>
            </details>`
            : nothing
        }
        ${this.problem ? html`<p class="error" role="alert">${this.problem}</p>` : nothing}
        ${
          this.editor
            ? this.#renderEditor(this.editor)
            : html`<button type="button" class="primary add" ?disabled=${!this.catalog} @click=${this.#openAdd}>${t.t('add')}</button>`
        }
      </div>
      <div class="sr-only" role="status" aria-live="polite">${this.announcement}</div>
    </section>`;
  }

  #renderField(f: ManagedField, index: number, total: number) {
    const t = this.#i18n;
    const name = this.#nameOf(f);
    return html`<li data-key=${f.key} class=${this.#reorder.picked?.id === f.key ? 'picked' : ''}
      tabindex=${f.key === this.#focusKey ? 0 : -1} aria-label=${name} aria-describedby="reorder-hint"
      draggable="true"
      @focus=${() => (this.#focusKey = f.key)}
      @keydown=${(e: KeyboardEvent) => e.target === e.currentTarget && this.#reorder.onKey(e, f.key, name, index, total)}
      @dragstart=${(e: DragEvent) => e.dataTransfer?.setData('text/x-sp-field', f.key)}
      @dragover=${(e: DragEvent) => e.preventDefault()}
      @drop=${(e: DragEvent) => this.#onDrop(e, index)}>
      <span class="name">${name}</span>
      <code>${f.key}</code>
      <span class="muted">${this.#typeName(f.type)}</span>
      ${f.required ? html`<span class="tag required">${t.t('required')}</span>` : nothing}
      ${
        hasOptions(f.type)
          ? html`<span class="muted">${(f.options ?? [])
              .filter((o) => !o.archived)
              .map((o) => this.#nameOf(o))
              .join(' · ')}</span>`
          : nothing
      }
      <span class="actions">
        <button type="button" class="icon" aria-label=${t.t('moveUp', { name })} ?disabled=${this.busy || index === 0}
          @click=${() => this.#moveTo(f.key, index - 1)}>↑</button>
        <button type="button" class="icon" aria-label=${t.t('moveDown', { name })} ?disabled=${this.busy || index === total - 1}
          @click=${() => this.#moveTo(f.key, index + 1)}>↓</button>
        <button type="button" class="edit" ?disabled=${this.busy} @click=${() => this.#openEdit(f)}>${t.t('edit')}</button>
        ${
          this.confirming === f.key
            ? html`<span role="group" aria-label=${t.t('archive')}>${t.t('confirmArchive', { name })}
                <button type="button" class="danger confirm" ?disabled=${this.busy} @click=${() => this.#archive(f)}>${t.t('archive')}</button>
                <button type="button" @click=${() => (this.confirming = null)}>${t.t('cancel')}</button></span>`
            : html`<button type="button" class="danger archive" ?disabled=${this.busy}
                @click=${() => (this.confirming = f.key)}>${t.t('archive')}</button>`
        }
      </span>
    </li>`;
  }

  #renderEditor(ed: EditorState) {
    const t = this.#i18n;
    const title =
      ed.mode === 'add'
        ? t.t('addTitle', { object: t.t(ed.object) })
        : t.t('editTitle', { name: this.#i18n.pick({ zh: ed.zh, en: ed.en }) || ed.key });
    return html`<form class="editor" part="editor" aria-labelledby="editor-title" @submit=${this.#save}>
      <h4 id="editor-title">${title}</h4>
      ${ed.changedElsewhere ? html`<p class="note" role="status">${t.t('changedElsewhere')}</p>` : nothing}
      <div class="grid">
        ${
          ed.mode === 'add'
            ? html`<label class="stack">${t.t('key')}
                <input name="key" required maxlength="64" pattern="[A-Za-z][A-Za-z0-9_]*" autocomplete="off"
                  aria-describedby="key-hint" .value=${ed.key}
                  @input=${(e: Event) => this.#patchEditor({ key: (e.target as HTMLInputElement).value })} />
                <small id="key-hint">${t.t('keyHint')}</small></label>`
            : nothing
        }
        <label class="stack">${t.t('labelZh')}
          <input name="zh" maxlength="120" ?required=${!ed.en.trim()} .value=${ed.zh}
            @input=${(e: Event) => this.#patchEditor({ zh: (e.target as HTMLInputElement).value })} /></label>
        <label class="stack">${t.t('labelEn')}
          <input name="en" maxlength="120" ?required=${!ed.zh.trim()} .value=${ed.en}
            @input=${(e: Event) => this.#patchEditor({ en: (e.target as HTMLInputElement).value })} /></label>
        ${
          ed.mode === 'add'
            ? html`<label class="stack">${t.t('type')}
                <select name="type" @change=${(e: Event) => {
                  const type = (e.target as HTMLSelectElement).value as FieldType;
                  this.#patchEditor({
                    type,
                    options:
                      hasOptions(type) && !ed.options.length
                        ? [{ value: '', zh: '', en: '', archived: false, saved: false }]
                        : ed.options,
                  });
                }}>
                  ${FIELD_TYPES.map((type) => html`<option value=${type} ?selected=${type === ed.type}>${this.#typeName(type)}</option>`)}
                </select></label>`
            : html`<p class="stack">${t.t('type')}: ${this.#typeName(ed.type)} · <code>${ed.key}</code></p>`
        }
      </div>
      <label class="check"><input type="checkbox" name="required" .checked=${ed.required}
        @change=${(e: Event) => this.#patchEditor({ required: (e.target as HTMLInputElement).checked })} /> ${t.t('required')}</label>
      ${hasOptions(ed.type) ? this.#renderOptionList(ed) : nothing}
      <div class="buttons">
        <button type="submit" class="primary" ?disabled=${this.busy}>${t.t('save')}</button>
        <button type="button" @click=${this.#closeEditor}>${t.t('cancel')}</button>
      </div>
    </form>`;
  }

  #renderOptionList(ed: EditorState) {
    const t = this.#i18n;
    const last = ed.options.length - 1;
    return html`<fieldset>
      <legend>${t.t('options')}</legend>
      <div class="option-head" aria-hidden="true">
        <span>${t.t('optionValue')}</span><span>${t.t('optionZh')}</span><span>${t.t('optionEn')}</span>
      </div>
      <ol class="options">
        ${ed.options.map((o, i) => {
          const name = this.#i18n.pick({ zh: o.zh, en: o.en }) || o.value || String(i + 1);
          const input = (field: 'value' | 'zh' | 'en', label: string, extra: { readonly?: boolean } = {}) =>
            html`<input class="option-${field}" aria-label="${label} ${i + 1}" maxlength=${field === 'value' ? 64 : 120}
              ?readonly=${!!extra.readonly} .value=${o[field]}
              placeholder=${field === 'value' && !o.saved ? t.t('optionAuto') : ''}
              @input=${(e: Event) => this.#patchOption(i, { [field]: (e.target as HTMLInputElement).value })} />`;
          return html`<li class=${o.archived ? 'archived' : ''}>
            ${input('value', t.t('optionValue'), { readonly: o.saved })}
            ${input('zh', t.t('optionZh'))}
            ${input('en', t.t('optionEn'))}
            <span class="row-actions">
              <button type="button" class="icon" aria-label=${t.t('moveUp', { name })} ?disabled=${i === 0}
                @click=${() => this.#moveOption(i, -1)}>↑</button>
              <button type="button" class="icon" aria-label=${t.t('moveDown', { name })} ?disabled=${i === last}
                @click=${() => this.#moveOption(i, 1)}>↓</button>
              ${
                o.saved
                  ? html`<button type="button" class=${o.archived ? 'restore-option' : 'danger archive-option'}
                      aria-label=${t.t(o.archived ? 'restoreOption' : 'archiveOption', { name })}
                      title=${o.archived ? t.t('optionArchived') : ''}
                      @click=${() => this.#patchOption(i, { archived: !o.archived })}>${t.t(o.archived ? 'restore' : 'archive')}</button>`
                  : html`<button type="button" class="icon remove-option" aria-label=${t.t('removeOption', { name })}
                      @click=${() => this.#removeOption(i)}>×</button>`
              }
            </span>
          </li>`;
        })}
      </ol>
      <button type="button" class="add-option" @click=${this.#addOption}>${t.t('addOption')}</button>
    </fieldset>`;
  }
}

export const define = (tag = 'sales-field-manager') => defineElement(tag, SalesFieldManager);
