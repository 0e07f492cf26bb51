import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { SupersededError, type ApiClient, type ApiClientError } from './api-client.js';
import { DocStore } from './doc-store.js';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  LIVE_SUBPROTOCOL,
  MESSAGE_NOTICE,
  MESSAGE_SYNC,
  type LiveNotice,
} from '@sales-process/core';
import { LiveSocket, message } from './live-socket.js';

/** The wire contract's (core's live-protocol.ts), re-exported where this module always had them. */
export { LIVE_SUBPROTOCOL, MESSAGE_NOTICE, type LiveNotice };
/** How long a flush waits for the server's answer before giving up (it never blocks a command for longer). */
const FLUSH_TIMEOUT_MS = 3000;
/** A refused socket asks for a new token at most this often. */
const REFRESH_ON_REFUSAL_MS = 10_000;

export interface LiveDoc {
  readonly name: string;
  readonly doc: Y.Doc;
  /** The socket (y-websocket's protocol; see live-socket.ts) and its `awareness`. */
  readonly provider: LiveSocket;
  /** Resolves once the doc has the server's state (or the local copy, offline). */
  readonly ready: Promise<void>;
  connected(): boolean;
  /** Why it cannot connect, when the kit knows (no token, a failed refresh). */
  authError(): ApiClientError | null;
  /**
   * Resolves once the server has received every local edit made so far (a sync round
   * trip on the socket, which the server handles in order); at once when offline.
   */
  flush(): Promise<void>;
  onNotice(fn: (n: LiveNotice) => void): () => void;
  onStatus(fn: (connected: boolean) => void): () => void;
  release(): void;
}

interface Entry {
  live: LiveDoc & { adopt(client: ApiClient): void };
  refs: number;
}

const registry = new Map<string, Entry>();

/** The socket's subprotocols for a token: the token stays out of the URL (and out of logs). */
export const liveProtocols = (token: string): string[] => [LIVE_SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX + token];

/** Finds a live doc some element holds (to flush it before a command), without acquiring it. */
export function findLiveDoc(baseUrl: string, name: string): LiveDoc | null {
  return registry.get(`${baseUrl}|${name}`)?.live ?? null;
}

/**
 * One Y.Doc and one websocket per (server, doc), shared by every element showing it
 * (the form and the path of one opportunity), kept in IndexedDB so edits made while
 * offline survive a reload and sync on reconnect. The socket authenticates with the
 * client's current token as a subprotocol; when the token changes (set by the host or
 * refreshed) it reconnects with the new one, and the same doc resends whatever the
 * server has not got.
 */
export function acquireLiveDoc(client: ApiClient, name: string, options: { offline?: boolean } = {}): LiveDoc {
  const baseUrl = client.baseUrl;
  const key = `${baseUrl}|${name}`;
  const hit = registry.get(key);
  if (hit) {
    hit.refs++;
    hit.live.adopt(client);
    return hit.live;
  }
  const doc = new Y.Doc();
  const wsUrl = `${baseUrl.replace(/^http/, 'ws').replace(/\/$/, '')}/sync`;
  const persistence = options.offline === false ? null : new DocStore(`sales-process:${key}`, doc);
  const provider = new LiveSocket(wsUrl, name, doc);
  let destroyed = false;
  let opened = false;
  let authError: ApiClientError | null = null;
  let lastRefusalRefresh = 0;
  const clients = new Map<ApiClient, () => void>();

  /** Connects (again) with `token`: new subprotocols take effect on a new socket only. */
  const useToken = (token: string) => {
    if (destroyed || !token) return;
    const protocols = liveProtocols(token);
    const same = provider.protocols.join() === protocols.join();
    provider.protocols = protocols;
    authError = null;
    if (globalThis.navigator?.onLine === false || (same && provider.shouldConnect)) return;
    if (provider.ws) provider.disconnect();
    provider.connect();
  };
  const adopt = (c: ApiClient) => {
    if (clients.has(c)) return;
    clients.set(
      c,
      c.onToken((t) => useToken(t)),
    );
    // The first token: from the host, or asked of its tokenProvider.
    if (!provider.protocols.length)
      c.getToken().then(useToken, (e: ApiClientError) => {
        if (!provider.protocols.length && !(e instanceof SupersededError)) {
          authError = e;
          statusFns.forEach((fn) => fn(false));
        }
      });
  };

  provider.on('status', ({ status }) => {
    if (status !== 'connected' && flushWaiters.length) {
      const waiters = flushWaiters;
      flushWaiters = [];
      waiters.forEach((fn) => fn());
    }
    if (status === 'connected') {
      opened = true;
      authError = null;
    } else if (status === 'connecting') opened = false;
  });
  // A socket that closes before it ever opened was refused (or the server is down): with a
  // tokenProvider, a new token may be what it needs.
  provider.on('connection-close', () => {
    if (opened) {
      opened = false;
      return;
    }
    const now = Date.now();
    if (now - lastRefusalRefresh < REFRESH_ON_REFUSAL_MS) return;
    const withProvider = [...clients.keys()].find((c) => c.tokenProvider);
    if (!withProvider) return;
    lastRefusalRefresh = now;
    withProvider.refreshToken().catch((e: ApiClientError) => {
      authError = e;
      statusFns.forEach((fn) => fn(false));
    });
  });

  // The browser knows first when the network goes: stop waiting on a dead socket, and
  // resync as soon as it is back (y-websocket alone notices only after a timeout).
  const offline = () => provider.disconnect();
  const online = () => provider.protocols.length && provider.connect();
  globalThis.addEventListener?.('offline', offline);
  globalThis.addEventListener?.('online', online);

  const noticeFns = new Set<(n: LiveNotice) => void>();
  const statusFns = new Set<(connected: boolean) => void>();
  provider.handlers[MESSAGE_NOTICE] = (decoder) => {
    try {
      const notice = JSON.parse(decoding.readVarString(decoder)) as LiveNotice;
      noticeFns.forEach((fn) => fn(notice));
    } catch {
      /* a notice we cannot read is not worth breaking the connection for */
    }
  };
  // Sync step 2 answers our step 1: everything we sent before it has reached the server.
  let flushWaiters: (() => void)[] = [];
  provider.onSync = (sub) => {
    if (sub === syncProtocol.messageYjsSyncStep2 && flushWaiters.length) {
      const waiters = flushWaiters;
      flushWaiters = [];
      waiters.forEach((fn) => fn());
    }
  };

  // Without IndexedDB (it failed to open: whenSynced rejects) only the server makes it ready.
  const ready = new Promise<void>((resolve) => {
    if (provider.synced) return resolve();
    provider.once('sync', () => resolve());
    void persistence?.whenSynced.then(
      () => !provider.wsconnected && resolve(),
      () => {},
    );
  });
  const live: LiveDoc & { adopt(c: ApiClient): void } = {
    name,
    doc,
    provider,
    ready,
    adopt,
    connected: () => provider.wsconnected,
    authError: () => authError,
    async flush() {
      // Resolves when `start`'s `done` is called, or after FLUSH_TIMEOUT_MS at the latest.
      const wait = (start: (done: () => void) => void, stop?: (done: () => void) => void) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(done, FLUSH_TIMEOUT_MS);
          function done() {
            clearTimeout(timer);
            stop?.(done);
            resolve();
          }
          start(done);
        });
      // Our step 1 must not be taken as answered by the step 2 of the socket's own first
      // step 1: wait for that one first.
      if (provider.wsconnected && !provider.synced)
        await wait(
          (done) => {
            provider.on('sync', done);
            provider.on('status', done);
          },
          (done) => {
            provider.off('sync', done);
            provider.off('status', done);
          },
        );
      const ws = provider.ws;
      if (!provider.wsconnected || !provider.synced || !ws || ws.readyState !== ws.OPEN) return;
      await wait((done) => {
        flushWaiters.push(done);
        ws.send(message(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, doc)));
      });
    },
    onNotice(fn) {
      noticeFns.add(fn);
      return () => noticeFns.delete(fn);
    },
    onStatus(fn) {
      const handler = ({ status }: { status: string }) => fn(status === 'connected');
      provider.on('status', handler);
      statusFns.add(fn);
      return () => {
        provider.off('status', handler);
        statusFns.delete(fn);
      };
    },
    release() {
      const entry = registry.get(key);
      if (!entry || --entry.refs > 0) return;
      registry.delete(key);
      destroyed = true;
      clients.forEach((off) => off());
      clients.clear();
      flushWaiters.forEach((fn) => fn());
      globalThis.removeEventListener?.('offline', offline);
      globalThis.removeEventListener?.('online', online);
      provider.destroy();
      void persistence?.destroy();
      doc.destroy();
    },
  };
  registry.set(key, { live, refs: 1 });
  adopt(client);
  return live;
}
