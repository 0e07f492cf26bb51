import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type * as Y from 'yjs';
import { acquireLiveDoc, type LiveDoc, type LiveNotice } from '../client/live-doc.js';

/**
 * Binds an element to a live document: re-renders on every change of the doc, tracks
 * the connection, and hands refused-update notices to the element.
 */
export class LiveDocController implements ReactiveController {
  live: LiveDoc | null = null;
  connected = false;
  lastNotice: LiveNotice | null = null;
  private key = '';
  private cleanup: (() => void)[] = [];

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly onNotice?: (n: LiveNotice) => void,
  ) {
    host.addController(this);
  }

  /** (Re)binds to a doc; call from willUpdate when the inputs change. */
  bind(baseUrl: string | undefined, token: string | undefined, name: string | null, options: { offline?: boolean } = {}): void {
    if (this.own) return;
    const key = baseUrl && token && name ? `${baseUrl}|${token}|${name}` : '';
    if (key === this.key) return;
    this.unbind();
    this.key = key;
    if (!key) return;
    const live = acquireLiveDoc(baseUrl!, token!, name!, options);
    this.live = live;
    this.connected = live.connected();
    const onUpdate = () => this.host.requestUpdate();
    live.doc.on('update', onUpdate);
    this.cleanup.push(() => live.doc.off('update', onUpdate));
    // Presence is drawn from awareness, which changes without any doc update.
    const awareness = live.provider.awareness;
    awareness.on('change', onUpdate);
    this.cleanup.push(() => awareness.off('change', onUpdate));
    this.cleanup.push(
      live.onStatus((c) => {
        this.connected = c;
        this.host.requestUpdate();
      }),
    );
    this.cleanup.push(
      live.onNotice((n) => {
        this.lastNotice = n;
        this.onNotice?.(n);
        this.host.requestUpdate();
      }),
    );
    void live.ready.then(() => this.host.requestUpdate());
  }

  private own: Y.Doc | null = null;

  /** Uses a doc the host manages itself (its own provider), instead of connecting. */
  useDoc(doc: Y.Doc | null): void {
    if (doc === this.own) return;
    if (this.own) this.own.off('update', this.ownUpdate);
    this.own = doc;
    if (doc) {
      this.unbind();
      this.key = 'own';
      doc.on('update', this.ownUpdate);
    }
  }

  private readonly ownUpdate = () => this.host.requestUpdate();

  get doc(): Y.Doc | null {
    return this.own ?? this.live?.doc ?? null;
  }

  private unbind() {
    this.cleanup.forEach((fn) => fn());
    this.cleanup = [];
    this.live?.release();
    this.live = null;
  }

  hostDisconnected(): void {
    this.unbind();
    this.own?.off('update', this.ownUpdate);
    this.own = null;
    this.key = '';
  }
}
