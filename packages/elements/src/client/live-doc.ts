import * as decoding from 'lib0/decoding';
import { IndexeddbPersistence } from 'y-indexeddb';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

/** The server's notice message type (see the server's sync layer). */
export const MESSAGE_NOTICE = 100;

export interface LiveNotice {
  code: string;
  message: { zh: string; en: string };
  details: { code?: string; path?: string; message?: { zh: string; en: string } }[];
}

export interface LiveDoc {
  readonly name: string;
  readonly doc: Y.Doc;
  readonly provider: WebsocketProvider;
  /** Resolves once the doc has the server's state (or the local copy, offline). */
  readonly ready: Promise<void>;
  connected(): boolean;
  onNotice(fn: (n: LiveNotice) => void): () => void;
  onStatus(fn: (connected: boolean) => void): () => void;
  release(): void;
}

interface Entry {
  live: LiveDoc;
  refs: number;
  noticeFns: Set<(n: LiveNotice) => void>;
}

const registry = new Map<string, Entry>();

/**
 * One Y.Doc and one websocket per (server, doc), shared by every element showing it
 * (the form and the path of one opportunity), kept in IndexedDB so edits made while
 * offline survive a reload and sync on reconnect.
 */
export function acquireLiveDoc(baseUrl: string, token: string, name: string, options: { offline?: boolean } = {}): LiveDoc {
  const key = `${baseUrl}|${name}`;
  const hit = registry.get(key);
  if (hit) {
    hit.refs++;
    return hit.live;
  }
  const doc = new Y.Doc();
  const wsUrl = `${baseUrl.replace(/^http/, 'ws').replace(/\/$/, '')}/sync`;
  const persistence = options.offline === false ? null : new IndexeddbPersistence(`sales-process:${key}`, doc);
  const provider = new WebsocketProvider(wsUrl, name, doc, { params: { token }, disableBc: true });
  // The browser knows first when the network goes: stop waiting on a dead socket, and
  // resync as soon as it is back (y-websocket alone notices only after a timeout).
  const offline = () => provider.disconnect();
  const online = () => provider.connect();
  globalThis.addEventListener?.('offline', offline);
  globalThis.addEventListener?.('online', online);
  if (globalThis.navigator?.onLine === false) provider.disconnect();
  const noticeFns = new Set<(n: LiveNotice) => void>();
  provider.messageHandlers[MESSAGE_NOTICE] = (_encoder, decoder) => {
    try {
      const notice = JSON.parse(decoding.readVarString(decoder)) as LiveNotice;
      noticeFns.forEach((fn) => fn(notice));
    } catch {
      /* a notice we cannot read is not worth breaking the connection for */
    }
  };
  const ready = new Promise<void>((resolve) => {
    if (provider.synced) return resolve();
    provider.once('sync', () => resolve());
    void persistence?.whenSynced.then(() => {
      if (!provider.wsconnected) resolve();
    });
  });
  const live: LiveDoc = {
    name,
    doc,
    provider,
    ready,
    connected: () => provider.wsconnected,
    onNotice(fn) {
      noticeFns.add(fn);
      return () => noticeFns.delete(fn);
    },
    onStatus(fn) {
      const handler = ({ status }: { status: string }) => fn(status === 'connected');
      provider.on('status', handler);
      return () => provider.off('status', handler);
    },
    release() {
      const entry = registry.get(key);
      if (!entry || --entry.refs > 0) return;
      registry.delete(key);
      globalThis.removeEventListener?.('offline', offline);
      globalThis.removeEventListener?.('online', online);
      provider.destroy();
      void persistence?.destroy();
      doc.destroy();
    },
  };
  registry.set(key, { live, refs: 1, noticeFns });
  return live;
}
