import { html, LitElement, type PropertyValues } from 'lit';
import type { TokenProvider } from '../client/api-client.js';
import { connectionContext, SalesProcessConnection } from '../shared/connection.js';
import { ContextProvider } from '../shared/context.js';
import { defineElement } from '../shared/define.js';

/**
 * @summary Hands one connection (`base-url`, the token and its refresh, `lang`) to every
 * kit element inside it: one REST client, shared live documents and event streams.
 * Changing `token` (or a refresh through `tokenProvider`) reaches every element at once:
 * requests use the new token and live connections reconnect with it, edits kept.
 * @slot - The host's content with kit elements anywhere inside.
 */
export class SalesProcessProvider extends LitElement {
  static override properties = {
    baseUrl: { attribute: 'base-url' },
    token: {},
    tokenProvider: { attribute: false },
    connection: { state: true },
  };

  /** The kit server's origin (e.g. `https://kit.example.com`); defaults to the page's. */
  baseUrl = '';
  /** The bearer token (JWT) the host minted for the signed-in user. */
  token = '';
  /**
   * An async function returning a fresh token. The kit calls it when it has no token,
   * about 60 s before the token's `exp`, after a 401 and after a refused live connection.
   */
  tokenProvider?: TokenProvider;

  protected connection: SalesProcessConnection | undefined;

  readonly #context = new ContextProvider<SalesProcessConnection | undefined>(this, connectionContext, undefined);

  /** The connection the elements inside share. */
  get sharedConnection(): SalesProcessConnection | undefined {
    return this.connection;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.#ensureConnection()) return;
    if (changed.has('token')) this.connection!.client.setToken(this.token);
    if (changed.has('tokenProvider')) this.connection!.client.setTokenProvider(this.tokenProvider);
  }

  /** Makes the connection for the current `base-url`; true when it made a new one. */
  #ensureConnection(): boolean {
    const baseUrl = this.baseUrl || globalThis.location?.origin || '';
    if (this.connection && this.connection.baseUrl === baseUrl) return false;
    this.connection?.dispose();
    this.connection = new SalesProcessConnection(baseUrl, {
      token: this.token,
      tokenProvider: this.tokenProvider,
      lang: this.lang || undefined,
    });
    this.#context.value = this.connection;
    return true;
  }

  override connectedCallback(): void {
    // Before the children ask for it: they find the connection on their first render.
    this.#ensureConnection();
    this.connection!.setActive(true);
    super.connectedCallback();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.connection?.setActive(false);
  }

  protected override render() {
    return html`<slot></slot>`;
  }
}

export const define = (tag = 'sales-process-provider') => defineElement(tag, SalesProcessProvider);

declare global {
  interface HTMLElementTagNameMap {
    'sales-process-provider': SalesProcessProvider;
  }
}
