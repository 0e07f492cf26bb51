import { OPPORTUNITY_KIND, PROCESS_DRAFT_KIND, type LiveNotice } from '@sales-process/core';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import * as Y from 'yjs';
import type { ApiClient } from '../client/api-client.js';
import { acquireLiveDoc, type LiveDoc } from '../client/live-doc.js';
import { SpErrorEvent } from './events.js';
import { toFailure, type KitFailure } from './failure.js';

const LIVE_FAILURE: KitFailure = {
  code: 'NETWORK',
  status: 0,
  message: 'live connection failed',
  details: [],
  source: 'live',
};

/** The REST record behind a live doc, read to learn why its socket was refused. */
function recordPath(name: string): string | null {
  // `<kind>:<id>` (core's docName); parseDocName would add its id check to every live page.
  const [kind, id] = name.split(':');
  const base = kind === OPPORTUNITY_KIND ? '/opportunities/' : kind === PROCESS_DRAFT_KIND ? '/processes/' : null;
  return id && base ? base + encodeURIComponent(id) : null;
}

/** How long a live doc may take to connect before an element with nothing to show says so. */
export const LIVE_CONNECT_TIMEOUT_MS = 5000;

/**
 * Binds an element to a live document: re-renders on every change of the doc, tracks
 * the connection, hands refused-update notices to the element, and, when the socket has
 * not connected within 5 s and the element has nothing to show (no local copy), sets
 * `failure` and fires `sp-error`.
 */
export class LiveDocController implements ReactiveController {
  live: LiveDoc | null = null;
  connected = false;
  /** Counts the doc's updates (and changes of doc): what is read from the doc is stale when it moved. */
  version = 0;
  /** Why the doc could not be shown (set only while there is nothing to show). */
  failure: KitFailure | null = null;
  #key = '';
  #cleanup: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onNotice?: (n: LiveNotice) => void;
  readonly #hasContent: () => boolean;
  readonly #host: ReactiveControllerHost & HTMLElement;

  constructor(
    host: ReactiveControllerHost & HTMLElement,
    options: ((n: LiveNotice) => void) | { onNotice?: (n: LiveNotice) => void; hasContent?: () => boolean } = {},
  ) {
    this.#host = host;
    const o = typeof options === 'function' ? { onNotice: options } : options;
    this.#onNotice = o.onNotice;
    // By default: the doc has anything at all (from the server, or the local copy).
    this.#hasContent = o.hasContent ?? (() => !!this.doc && Y.encodeStateVector(this.doc).length > 1);
    host.addController(this);
  }

  /** (Re)binds to a doc; call from willUpdate when the inputs change. */
  bind(client: ApiClient | null, name: string | null, options: { offline?: boolean } = {}): void {
    if (this.#own) return;
    const key = client && name ? `${client.baseUrl}|${name}` : '';
    if (key === this.#key && (!this.live || this.#client === client)) return;
    this.#unbind();
    this.#key = key;
    this.#client = client;
    if (!key) return;
    const live = acquireLiveDoc(client!, name!, options);
    this.live = live;
    this.connected = live.connected();
    this.version++;
    const onUpdate = () => this.#host.requestUpdate();
    live.doc.on('update', this.#ownUpdate);
    this.#cleanup.push(() => live.doc.off('update', this.#ownUpdate));
    // Presence is drawn from awareness, which changes without any doc update.
    const awareness = live.provider.awareness;
    awareness.on('change', onUpdate);
    this.#cleanup.push(() => awareness.off('change', onUpdate));
    this.#cleanup.push(
      live.onStatus((c) => {
        this.connected = c;
        if (c) this.failure = null;
        else if (live.authError()) this.#check();
        this.#host.requestUpdate();
      }),
    );
    this.#cleanup.push(
      live.onNotice((n) => {
        this.#onNotice?.(n);
        this.#host.requestUpdate();
      }),
    );
    void live.ready.then(() => this.#host.requestUpdate());
    this.#timer = setTimeout(() => this.#check(), LIVE_CONNECT_TIMEOUT_MS);
    this.#cleanup.push(() => clearTimeout(this.#timer));
  }

  #client: ApiClient | null = null;

  /**
   * Not connected and nothing to show: say why, once per failure. A socket refused
   * before it opened tells nothing, so the doc's record is read over REST: its answer
   * names the cause (401, 403, 404, the network), and a 401 refreshes the token.
   */
  #check() {
    const live = this.live;
    if (!live || live.connected() || this.#hasContent()) return;
    const auth = live.authError();
    if (auth)
      return this.#fail({
        code: auth.code,
        status: auth.status,
        message: auth.message,
        details: [],
        ...(auth.messages ? { messages: auth.messages } : {}),
      });
    const record = recordPath(live.name);
    const client = this.#client;
    if (!record || !client) return this.#fail(LIVE_FAILURE);
    client.get(record).then(
      () => this.live === live && this.#fail(LIVE_FAILURE),
      (e) => this.live === live && this.#fail(toFailure(e)),
    );
  }

  #fail(failure: KitFailure) {
    if (!this.live || this.live.connected() || this.#hasContent() || this.failure?.code === failure.code) return;
    this.failure = failure;
    this.#host.dispatchEvent(new SpErrorEvent(failure));
    this.#host.requestUpdate();
  }

  /** Tries to connect again now (the user's retry). */
  retry(): void {
    this.failure = null;
    const live = this.live;
    if (!live) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), LIVE_CONNECT_TIMEOUT_MS);
    if (!live.connected()) {
      live.provider.disconnect();
      live.provider.connect();
    }
    this.#host.requestUpdate();
  }

  /** Resolves once the server has every local edit of the bound doc (see `LiveDoc.flush`). */
  flush(): Promise<void> {
    return this.live?.flush() ?? Promise.resolve();
  }

  #own: Y.Doc | null = null;

  /** Uses a doc the host manages itself (its own provider), instead of connecting. */
  useDoc(doc: Y.Doc | null): void {
    if (doc === this.#own) return;
    if (this.#own) this.#own.off('update', this.#ownUpdate);
    this.#own = doc;
    this.version++;
    if (doc) {
      this.#unbind();
      this.#key = 'own';
      doc.on('update', this.#ownUpdate);
    }
  }

  readonly #ownUpdate = () => {
    this.version++;
    this.#host.requestUpdate();
  };

  get doc(): Y.Doc | null {
    return this.#own ?? this.live?.doc ?? null;
  }

  #unbind() {
    this.#cleanup.forEach((fn) => fn());
    this.#cleanup = [];
    this.live?.release();
    this.live = null;
    this.failure = null;
  }

  hostDisconnected(): void {
    this.#unbind();
    this.#own?.off('update', this.#ownUpdate);
    this.#own = null;
    this.#key = '';
  }
}
