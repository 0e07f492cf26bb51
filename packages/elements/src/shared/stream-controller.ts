import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { StreamListener } from '../client/event-stream.js';
import type { SalesProcessConnection } from './connection.js';

/**
 * Keeps an element listening to one server-sent event stream of its connection (shared:
 * one stream per connection and path, see `SalesProcessConnection.listen`): subscribes when
 * the connection or the path changes, unsubscribes when the element leaves the page.
 * `attached` counts the element's arrivals in the page, for loads that run again on each.
 */
export class StreamController implements ReactiveController {
  /** How many times the host joined the page (a load keyed on it runs again when it comes back). */
  attached = 0;
  #conn: SalesProcessConnection | null = null;
  #path = '';
  #stop: (() => void) | undefined;

  readonly #host: ReactiveControllerHost;
  /** The connection and the stream's path (under `/api/v1`); none while either is missing. */
  readonly #source: () => readonly [SalesProcessConnection | null | undefined | '', string];
  readonly #listener: StreamListener;

  constructor(
    host: ReactiveControllerHost,
    source: () => readonly [SalesProcessConnection | null | undefined | '', string],
    listener: StreamListener,
  ) {
    this.#host = host;
    this.#source = source;
    this.#listener = listener;
    host.addController(this);
  }

  hostConnected(): void {
    this.attached++;
    this.#host.requestUpdate();
  }

  hostUpdate(): void {
    const [conn, path] = this.#source();
    if ((conn || null) === this.#conn && path === this.#path) return;
    this.#stop?.();
    this.#conn = conn || null;
    this.#path = path;
    this.#stop = conn && path ? conn.listen(path, this.#listener) : undefined;
  }

  hostDisconnected(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#conn = null;
  }
}
