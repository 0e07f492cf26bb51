import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * The context community protocol (https://github.com/webcomponents-cg/community-protocols,
 * what @lit/context implements) for the kit's one context, the connection: a provider answers
 * `context-request` events for its context and calls subscribers again when the value
 * changes; a consumer asks on connect and unsubscribes on disconnect. The same events as
 * @lit/context, so its `ContextRoot`, providers and consumers work with ours (the kit's loader
 * has a root of its own); its controllers and decorators cost every page 1 KB gzip more.
 */

type Callback<V> = (value: V, unsubscribe?: () => void) => void;

interface ContextRequest<V> extends Event {
  readonly context: unknown;
  readonly contextTarget?: Element;
  readonly callback: Callback<V>;
  readonly subscribe?: boolean;
}

const event = (type: string, fields: object): Event =>
  Object.assign(new Event(type, { bubbles: true, composed: true }), fields);

/** Asks the nearest provider of `context` for its value (and its changes, with `subscribe`). */
export const requestContext = <V>(
  target: Element,
  context: unknown,
  callback: Callback<V>,
  subscribe = true,
): boolean => target.dispatchEvent(event('context-request', { context, contextTarget: target, callback, subscribe }));

/** Provides `value` to the consumers inside `host` (as @lit/context's `ContextProvider`). */
export class ContextProvider<V> implements ReactiveController {
  readonly #subscribers = new Map<Callback<V>, { target: Element; unsubscribe: () => void }>();
  #value: V;

  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #context: unknown;

  constructor(host: ReactiveControllerHost & HTMLElement, context: unknown, value: V) {
    this.#host = host;
    this.#context = context;
    this.#value = value;
    host.addEventListener('context-request', (e) => {
      const request = e as ContextRequest<V>;
      if (request.context !== context) return;
      const target = request.contextTarget ?? (request.composedPath()[0] as Element);
      if (target === host) return;
      request.stopPropagation();
      if (!request.subscribe) return request.callback(this.#value);
      let sub = this.#subscribers.get(request.callback);
      if (!sub)
        this.#subscribers.set(
          request.callback,
          (sub = { target, unsubscribe: () => this.#subscribers.delete(request.callback) }),
        );
      request.callback(this.#value, sub.unsubscribe);
    });
    // A provider of the same context appeared inside: its consumers ask again, and find it.
    host.addEventListener('context-provider', (e) => {
      const found = e as Event & { context: unknown; contextTarget?: Element };
      if (found.context !== context || (found.contextTarget ?? found.composedPath()[0]) === host) return;
      for (const [callback, { target }] of this.#subscribers) requestContext(target, context, callback);
      e.stopPropagation();
    });
    host.addController(this);
  }

  /** Sets the value; subscribers hear of a change. */
  set value(value: V) {
    if (value === this.#value) return;
    this.#value = value;
    for (const [callback, { unsubscribe }] of this.#subscribers) callback(value, unsubscribe);
  }

  /** Tells a context root that requests nobody answered may now find their provider. */
  hostConnected(): void {
    this.#host.dispatchEvent(event('context-provider', { context: this.#context, contextTarget: this.#host }));
  }
}
