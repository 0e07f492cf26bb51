import { consume } from '@lit/context';
import { LitElement } from 'lit';
import { property, state } from 'lit/decorators.js';
import { ApiClient } from '../client/api-client.js';
import { connectionContext, type Connection } from './connection.js';

/**
 * Base of the elements that talk to the server: `base-url` and `token` attributes, or
 * inherited from a `<sales-process-provider>` ancestor.
 */
export class ConnectedElement extends LitElement {
  /** The server's origin; defaults to the page's. */
  @property({ attribute: 'base-url' }) baseUrl?: string;
  /** A bearer token (JWT) from the host. */
  @property() token?: string;

  @consume({ context: connectionContext, subscribe: true })
  @state()
  protected connection?: Connection;

  protected get client(): ApiClient | null {
    const token = this.token ?? this.connection?.token;
    if (!token) return null;
    const baseUrl = this.baseUrl ?? this.connection?.baseUrl ?? globalThis.location?.origin ?? '';
    return new ApiClient({ baseUrl, token, lang: this.closest('[lang]')?.getAttribute('lang') ?? undefined });
  }
}
