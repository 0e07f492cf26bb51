/** What the live-doc engine may be tuned with (`CreateServerOptions.sync`), and its defaults. */
export interface SyncOptions {
  /** Compact a doc's update log after this many appended updates. */
  compactEvery?: number;
  /** Awareness changes are coalesced and sent at most this often per doc. */
  awarenessFlushMs?: number;
  /** Keep an idle doc loaded this long after its last client leaves. */
  unloadAfterMs?: number;
  /** Form edits reach the database this long after the last keystroke (read by the opportunity form kind). */
  formFlushMs?: number;
  /** Bytes of messages a connection may have queued (at least one largest frame). */
  maxQueuedBytes?: number;
  /** An update waits this long to be stored with others (the doc store's group commit; read by the app, which builds the store). */
  commitDelayMs?: number;
  /**
   * Each connection's budget: messages and bytes per second, with bursts of `burstSeconds`
   * of them (bytes: at least one largest frame). Past it the connection is closed with
   * 4429 instead of the server spending its event loop on it (defaults 200 messages/s,
   * 1 MiB/s, 3 s bursts).
   */
  messagesPerSecond?: number;
  bytesPerSecond?: number;
  burstSeconds?: number;
  /**
   * Milliseconds of the event loop a connection's updates may take per second, with bursts
   * of `cpuBurstMs` (defaults 100 and 150; in debt up to half a burst, and a lone update is
   * always served from a full budget): updates that are costly to check (refused ones
   * are rolled back) close the connection with 4429 long before they stall the server.
   */
  cpuMsPerSecond?: number;
  cpuBurstMs?: number;
  /**
   * One user's budget (tenant and user id), drawn on by all their connections at once:
   * messages and milliseconds of the event loop per second (defaults 400 and 200, twice a
   * connection's; bursts of a quarter of a second of messages and of `cpuBurstMs`). Fifty sockets of one user get no more than two
   * would: past it the user's most active connections are closed with 4429 until what is
   * left sends at most half the user's rate; the quiet ones (another tab) stay open.
   */
  userMessagesPerSecond?: number;
  userCpuMsPerSecond?: number;
  /** Websocket connections one user may have open at once (default 20); one more is refused before the upgrade with 429 RATE_LIMITED. */
  maxConnectionsPerUser?: number;
  /** Largest awareness update a client may send (default 8 KiB; larger: closed with 4413). */
  maxAwarenessBytes?: number;
  /** The largest frame a client may send (the websocket server's limit; default 16 MiB). */
  maxFrameBytes?: number;
}

/** The options with every default filled in. */
export type LiveOptions = Required<Omit<SyncOptions, 'commitDelayMs'>>;

export function liveOptions(options: SyncOptions = {}): LiveOptions {
  return {
    compactEvery: 300,
    awarenessFlushMs: 50,
    unloadAfterMs: 10_000,
    formFlushMs: 300,
    maxQueuedBytes: 40 * 1024 * 1024,
    messagesPerSecond: 200,
    bytesPerSecond: 1024 * 1024,
    burstSeconds: 3,
    cpuMsPerSecond: 100,
    cpuBurstMs: 150,
    userMessagesPerSecond: 400,
    userCpuMsPerSecond: 200,
    maxConnectionsPerUser: 20,
    maxAwarenessBytes: 8 * 1024,
    maxFrameBytes: 16 * 1024 * 1024,
    ...options,
  };
}
