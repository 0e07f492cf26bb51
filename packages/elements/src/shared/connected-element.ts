import { html, LitElement, nothing, type PropertyDeclarations, type TemplateResult } from 'lit';
import type { LocalizedText } from '@sales-process/core';
import { SupersededError, type ApiClient, type ApiClientError, type TokenProvider } from '../client/api-client.js';
import { connectionContext, SalesProcessConnection } from './connection.js';
import { requestContext } from './context.js';
import { SpErrorEvent } from './events.js';
import { failureMessages, retryable, toFailure, type KitFailure } from './failure.js';
import { LocalizeController } from './i18n.js';

/** A request nobody waits for any more: its connection was replaced, or its load aborted (superseded, or the element left). */
const superseded = (e: unknown) => e instanceof SupersededError || (e as Error)?.name === 'AbortError';

/**
 * Base of the kit's elements that talk to the server: `base-url`, `token` and
 * `tokenProvider` of their own, or inherited from a `<sales-process-provider>` ancestor;
 * and what they show when that fails (a localized box with `part="error"` and a retry
 * button, plus an `sp-error` event). Theming tokens are read by every element.
 *
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
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
export class ConnectedElement extends LitElement {
  static override properties: PropertyDeclarations = {
    baseUrl: { attribute: 'base-url' },
    token: {},
    tokenProvider: { attribute: false },
    connection: { state: true },
    failure: { state: true },
  };

  /** The server's origin; defaults to the provider's, then the page's. */
  baseUrl?: string;
  /** A bearer token (JWT) from the host; defaults to the provider's. */
  token?: string;
  /**
   * Returns a fresh token; the kit calls it when it has none, about a minute before the
   * token's `exp`, after a 401 and after a refused live connection. Defaults to the provider's.
   */
  tokenProvider?: TokenProvider;

  /** The connection of the nearest `<sales-process-provider>` (the context protocol). */
  protected connection?: SalesProcessConnection;
  #unsubscribe: (() => void) | undefined;
  readonly #provided = (connection: SalesProcessConnection | undefined, unsubscribe?: () => void) => {
    // Another provider answered (one appeared nearer): leave the old one.
    if (this.#unsubscribe !== unsubscribe) this.#unsubscribe?.();
    this.#unsubscribe = unsubscribe;
    this.connection = connection;
  };

  /** Why the element cannot show its content, shown in its error box. */
  protected failure: KitFailure | null = null;

  #own: SalesProcessConnection | null = null;
  #pushedToken: string | undefined;
  #watched: ApiClient | null = null;
  #unwatch: (() => void) | null = null;
  readonly #failureText = new LocalizeController(this, failureMessages);

  /**
   * The connection in use: the provider's, or the element's own when it has `token`,
   * `tokenProvider` or `base-url` of its own (or there is no provider).
   */
  protected get conn(): SalesProcessConnection {
    const provided = this.connection;
    const ownSettings = this.token !== undefined || this.tokenProvider !== undefined || this.baseUrl !== undefined;
    let conn: SalesProcessConnection;
    if (provided && !ownSettings) {
      conn = provided;
      // It upgraded before its provider: what it started alone is over.
      this.#own?.dispose();
      this.#own = null;
    } else {
      const baseUrl = this.baseUrl ?? provided?.baseUrl ?? globalThis.location?.origin ?? '';
      if (!this.#own || this.#own.baseUrl !== baseUrl) {
        this.#own?.dispose();
        this.#own = new SalesProcessConnection(baseUrl, {
          lang: this.closest('[lang]')?.getAttribute('lang') ?? undefined,
        });
        this.#pushedToken = undefined;
      }
      // Only a change of the element's own token replaces what a refresh fetched.
      const token = this.token ?? provided?.token ?? '';
      if (token !== this.#pushedToken) {
        this.#pushedToken = token;
        this.#own.client.setToken(token);
      }
      this.#own.client.setTokenProvider(this.tokenProvider ?? provided?.client.tokenProvider);
      conn = this.#own;
    }
    this.#watch(conn.client);
    return conn;
  }

  /** The REST client of the connection (one per connection; it always has the current token). */
  protected get client(): ApiClient {
    return this.conn.client;
  }

  #watch(client: ApiClient) {
    if (client === this.#watched) return;
    this.#unwatch?.();
    this.#watched = client;
    this.#unwatch = client.onToken(() => this.tokenChanged());
  }

  /** A new token arrived: an element that failed for want of one tries again. */
  protected tokenChanged(): void {
    const code = this.failure?.code;
    if (code === 'NO_TOKEN' || code === 'UNAUTHENTICATED' || code === 'NETWORK') this.retry();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    requestContext(this, connectionContext, this.#provided);
    this.#own?.setActive(true);
    // Back in the page: hear of token changes again.
    if (this.hasUpdated) this.#watch(this.conn.client);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#own?.setActive(false);
    // A removed element must not stay reachable from a provider that lives on.
    this.#unwatch?.();
    this.#unwatch = null;
    this.#watched = null;
  }

  /**
   * Shows `e` in the element's error box (instead of its content) and fires `sp-error`.
   * Use for failures that leave nothing to show.
   */
  protected showFailure(e: unknown): KitFailure {
    return this.#report(e, true);
  }

  /** Fires `sp-error` for a failure the element shows in place (an action, a save). */
  protected reportError(e: unknown): KitFailure {
    return this.#report(e);
  }

  /** A load failed: with something on screen (`showing`), `sp-error` alone; with nothing, the error box too. */
  protected loadFailed(e: unknown, showing: unknown): void {
    this.#report(e, !showing);
  }

  /** `e` as a failure; unless nobody waits for it any more: `sp-error`, and in the error box with `show`. */
  #report(e: unknown, show?: boolean): KitFailure {
    const failure = toFailure(e);
    if (!superseded(e)) {
      if (show) this.failure = failure;
      this.dispatchEvent(new SpErrorEvent(failure));
    }
    return failure;
  }

  /** A failure's sentence from the server in the page's language (its raw message when it gave none). */
  protected errorMessage(e: unknown): string {
    const err = e as ApiClientError;
    return err.messages ? this.#failureText.pick(err.messages) : err.message;
  }

  /** What each detail of a failure or notice says in the page's language (`fallback` for one without words). */
  protected detailMessages(
    e: { details?: { message?: LocalizedText; path?: string }[] },
    fallback: (d: { path?: string }) => string | undefined = () => '',
  ): string[] {
    return (e.details ?? []).map((d) => (d.message ? this.#failureText.pick(d.message) : fallback(d))) as string[];
  }

  /** Clears the error box and loads again. */
  retry(): void {
    this.failure = null;
    this.conn.reconnectStreams();
    void this.reload();
  }

  /** Loads what the element shows; elements override it (called by `retry`). */
  protected reload(): void | Promise<void> {}

  /** The short localized sentence for a failure. */
  protected failureMessage(f: KitFailure): string {
    const t = this.#failureText;
    if (f.source === 'live' && f.code === 'NETWORK') return t.t('LIVE');
    if (f.code in failureMessages) return t.t(f.code as keyof typeof failureMessages);
    return f.messages ? t.pick(f.messages) : `${t.t('other')}${f.message ? `: ${f.message}` : ''}`;
  }

  /** The error box: `part="error"`, its text in `part="error-message"`, a `part="retry"` button when trying again may help. */
  protected renderFailure(f: KitFailure | null = this.failure): TemplateResult | typeof nothing {
    if (!f) return nothing;
    return html`<div class="sp-failure" part="error" role="alert" data-code=${f.code}>
      <span part="error-message">${this.failureMessage(f)}</span>
      ${retryable(f) ? html`<button type="button" part="retry" @click=${() => this.retry()}>${this.#failureText.t('retry')}</button>` : nothing}
    </div>`;
  }
}
