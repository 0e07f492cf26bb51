/**
 * The stage form's contact gates and its "add contact" form: a chunk of their own, imported by
 * the form when the current stage has a contact gate (`minContacts`, `contactRole`), so the
 * salesperson's page does not load them up front.
 *
 * Each gate shows met or unmet (an unmet role gate in the server's words, which name the
 * role); while one is unmet, a small form adds a contact to the customer, with its roles
 * chosen from the options of the `contact.role` field (`GET /fields/contact`; archived options
 * are not offered). The gates follow from the opportunity's live view once the server has the
 * contact.
 */
import type { Gate, LocalizedText, OpportunityView } from '@sales-process/core';
import { css, html, nothing, type ReactiveControllerHost } from 'lit';
import type { ApiClient, ApiClientError } from '../client/api-client.js';
import { LocalizeController } from '../shared/i18n.js';
import { contactMessages } from './contact-messages.js';

/** What the contact gates need of the stage form. */
export interface ContactHost extends ReactiveControllerHost, HTMLElement {
  /** Resolves once the server has every value typed in the form so far. */
  flush(): Promise<void>;
}

interface RoleOption {
  value: string;
  label: LocalizedText;
  archived?: boolean;
}

type ViewGate = Gate & { message: LocalizedText };

const styles = css`
  .contacts {
    border: 1px dashed var(--_border);
    border-radius: var(--_radius);
    padding: 0.5rem 0.75rem;
    margin-bottom: 0.75rem;
  }
  .contacts ul {
    list-style: none;
    margin: 0;
    padding: 0;
  }
  .contacts .met {
    color: var(--_done);
  }
  .contacts form {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    margin-top: 0.5rem;
  }
  .contacts form > input {
    width: auto !important;
    flex: 1 1 8rem;
  }
  .contacts fieldset {
    flex-basis: 100%;
  }
  .contacts fieldset label {
    font-weight: normal;
    margin-right: 0.75rem;
  }
  .sr-only {
    position: absolute;
    clip: rect(0 0 0 0);
    width: 1px;
    height: 1px;
    overflow: hidden;
  }
`;

export class ContactGates {
  /** The options of `contact.role`; null until loaded ([] when the server has none). */
  roles: RoleOption[] | null = null;
  error: string | null = null;
  readonly #t: LocalizeController<typeof contactMessages>;
  #loading = false;

  readonly #host: ContactHost;
  /** The form's REST client (its connection's, with the current token). */
  readonly #api: () => ApiClient;
  /** The form's `sp-error`, and its localized message for a failure. */
  readonly #report: (e: unknown) => string;

  constructor(host: ContactHost, api: () => ApiClient, report: (e: unknown) => string) {
    this.#host = host;
    this.#api = api;
    this.#report = report;
    this.#t = new LocalizeController(host, contactMessages);
    const root = host.shadowRoot;
    if (root && styles.styleSheet) root.adoptedStyleSheets = [...root.adoptedStyleSheets, styles.styleSheet];
  }

  async #loadRoles() {
    if (this.#loading || this.roles) return;
    this.#loading = true;
    try {
      const { items } = await this.#api().get<{ items: { key: string; options?: RoleOption[] | null }[] }>(
        '/fields/contact',
      );
      this.roles = (items.find((f) => f.key === 'role')?.options ?? []).filter((o) => !o.archived);
    } catch {
      // Without the roles the form still adds a contact (the gates say what is missing).
      this.roles = [];
    } finally {
      this.#loading = false;
      this.#host.requestUpdate();
    }
  }

  #roleName(role: string): string {
    const option = this.roles?.find((o) => o.value === role);
    return option ? this.#t.pick(option.label) : role;
  }

  readonly #add = async (e: SubmitEvent, customerId: string) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const text = (k: string) => String(data.get(k) ?? '').trim() || undefined;
    const roles = data.getAll('roles').map(String);
    try {
      // What was typed just before must reach the server before the contact does.
      await this.#host.flush();
      await this.#api().post(`/customers/${encodeURIComponent(customerId)}/contacts`, {
        name: String(data.get('name') ?? ''),
        title: text('title'),
        phone: text('phone'),
        ...(roles.length ? { roles } : {}),
      });
      form.reset();
      this.error = null;
    } catch (err) {
      this.error = this.#report(err as ApiClientError);
    }
    this.#host.requestUpdate();
  };

  /** The contact gates of the current stage, and the form while one is unmet (unless editing is off). */
  render(o: OpportunityView, editingOff: boolean) {
    const t = this.#t;
    const gates = (o.gates as ViewGate[]).filter((g) => g.gate === 'minContacts' || g.gate === 'contactRole');
    if (!gates.length) return nothing;
    if (!this.roles) void this.#loadRoles();
    const needed = new Set(gates.flatMap((g) => (g.gate === 'contactRole' && !g.met ? [g.role] : [])));
    const line = (g: ViewGate) =>
      g.gate === 'minContacts'
        ? t.t('contacts', { have: g.have, need: g.need })
        : g.gate === 'contactRole' && g.met
          ? t.t('hasRole', { role: this.#roleName(g.role) })
          : t.pick(g.message);
    return html`<div class="contacts" part="contacts" role="group" aria-label=${t.t('gates')}>
      <ul>
        ${gates.map(
          (g) =>
            html`<li class=${g.met ? 'met' : 'unmet'} data-gate=${g.gate}>${g.met ? '✓' : '✗'} ${line(g)}<span class="sr-only"> (${t.t(g.met ? 'met' : 'unmet')})</span></li>`,
        )}
      </ul>
      ${
        gates.every((g) => g.met) || editingOff
          ? nothing
          : html`<form part="add-contact" aria-label=${t.t('addContact')} @submit=${(e: SubmitEvent) => this.#add(e, o.customerId)}>
            <input name="name" required maxlength="200" placeholder=${t.t('contactName')} aria-label=${t.t('contactName')} />
            <input name="title" maxlength="200" placeholder=${t.t('contactTitle')} aria-label=${t.t('contactTitle')} />
            <input name="phone" type="tel" maxlength="40" placeholder=${t.t('contactPhone')} aria-label=${t.t('contactPhone')} />
            ${
              this.roles?.length
                ? html`<fieldset>
                  <legend>${t.t('roles')}</legend>
                  ${this.roles.map(
                    (r) =>
                      html`<label><input type="checkbox" name="roles" value=${r.value} />${t.pick(r.label)}${needed.has(r.value) ? t.t('needed') : ''}</label>`,
                  )}
                </fieldset>`
                : nothing
            }
            <button type="submit">${t.t('addContact')}</button>
          </form>
          ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}`
      }
    </div>`;
  }
}
