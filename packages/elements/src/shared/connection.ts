import type { Context } from '@lit/context';
import { ApiClient, type TokenProvider } from '../client/api-client.js';
import type { SharedEventStream, StreamListener } from '../client/event-stream.js';

/**
 * What a `<sales-process-provider>` hands down to the elements inside it (a standalone
 * element makes one of its own): the server, ONE `ApiClient` holding the current token
 * (refreshed through `tokenProvider`), and the server-sent event streams its elements
 * share. The object stays the same when the token changes; listen with `client.onToken`.
 */
export class SalesProcessConnection {
  readonly client: ApiClient;
  readonly #streams = new Map<string, SharedEventStream>();
  readonly #offToken: () => void;
  #disposed = false;

  constructor(
    readonly baseUrl: string,
    init: { token?: string; tokenProvider?: TokenProvider; lang?: string } = {},
  ) {
    this.client = new ApiClient({ baseUrl, ...init });
    // A stream that was refused or dropped tries again at once with a new token.
    this.#offToken = this.client.onToken(() => this.reconnectStreams());
  }

  /** The current token ('' when there is none). */
  get token(): string {
    return this.client.token;
  }

  get lang(): string | undefined {
    return this.client.lang;
  }

  /**
   * Listens to a server-sent event stream at `path` (under `/api/v1`): one stream per
   * connection and path, however many elements listen; closed when the last one leaves.
   * The stream client is imported on first use, so pages without streams never load it.
   */
  listen(path: string, listener: StreamListener): () => void {
    const url = `${this.client.root}${path}`;
    let off: (() => void) | undefined;
    let stopped = false;
    void import('../client/event-stream.js').then((m) => {
      if (!stopped && !this.#disposed) off = m.listen(this.#streams, this.client, url, listener);
    });
    return () => {
      stopped = true;
      off?.();
    };
  }

  /** Reconnects at once the streams that failed and wait to try again (a retry from the user, a new token). */
  reconnectStreams(): void {
    this.#streams.forEach((s) => s.status === 'error' && s.reconnect());
  }

  /** Pauses (false) or resumes (true) the refresh timer, as the owner leaves or joins the page. */
  setActive(active: boolean): void {
    this.client.setActive(active);
  }

  dispose(): void {
    this.#disposed = true;
    this.#offToken();
    this.#streams.forEach((s) => s.close());
    this.#streams.clear();
    this.client.dispose();
  }
}

/** @deprecated The shape of the first version's context value; `SalesProcessConnection` has these fields. */
export type Connection = Pick<SalesProcessConnection, 'baseUrl' | 'token' | 'lang'>;

/** The connection's context key (the context protocol's; what @lit/context's `createContext` returns). */
export const connectionContext = Symbol.for('sales-process/connection') as Context<
  symbol,
  SalesProcessConnection | undefined
>;
