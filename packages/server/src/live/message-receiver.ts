/**
 * What one message from a client means (Hocuspocus' MessageReceiver): sync (step 1 is
 * answered, step 2 and updates are integrated by the doc), awareness (within its size
 * limit, only for the sender's own clients), query-awareness, auth (nothing: checked
 * before the upgrade). Anything else closes the connection as malformed.
 */
import {
  CLOSE_TOO_LARGE,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
} from '@sales-process/core';
import * as decoding from 'lib0/decoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import type { Connection } from './connection.js';
import type { LiveDoc } from './live-doc.js';
import { awarenessMessage, isEmptyUpdate, keepAwarenessEntries, syncStep2Message } from './messages.js';

/** Handles one message: done when this returns, or a promise when it is queued on the doc behind other work. Throws on a malformed one. */
export function receive(conn: Connection, doc: LiveDoc, bytes: Uint8Array): void | Promise<void> {
  const decoder = decoding.createDecoder(bytes);
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MESSAGE_SYNC: {
      const sub = decoding.readVarUint(decoder);
      if (sub === syncProtocol.messageYjsSyncStep1)
        return conn.send(syncStep2Message(doc.ydoc, decoding.readVarUint8Array(decoder)));
      if (sub !== syncProtocol.messageYjsSyncStep2 && sub !== syncProtocol.messageYjsUpdate)
        return conn.malformed(`unknown sync message ${sub}`);
      const update = decoding.readVarUint8Array(decoder);
      // Check that it decodes before it touches the doc.
      Y.decodeUpdate(update);
      if (!conn.canWrite) {
        if (isEmptyUpdate(update)) return;
        return conn.notice({
          code: 'FORBIDDEN',
          message: { zh: '只读：修改不会被保存', en: 'Read-only: your changes are not saved' },
          details: [],
        });
      }
      return applyClientUpdate(conn, doc, update);
    }
    case MESSAGE_AWARENESS: {
      const update = decoding.readVarUint8Array(decoder);
      const max = conn.host.options.maxAwarenessBytes;
      if (update.length > max) return conn.close(CLOSE_TOO_LARGE, `awareness updates are at most ${max} bytes`);
      // A client speaks for its own awareness states only: entries for another connection's
      // clients (echoes of what it just received, or worse) are dropped.
      const own = keepAwarenessEntries(update, (id) => {
        for (const other of doc.conns) if (other !== conn && other.awarenessIds.has(id)) return false;
        return true;
      });
      if (own) awarenessProtocol.applyAwarenessUpdate(doc.awareness, own, conn);
      return;
    }
    case MESSAGE_QUERY_AWARENESS:
      return conn.send(awarenessMessage(doc.awareness, [...doc.awareness.getStates().keys()]));
    case MESSAGE_AUTH:
      return;
    default:
      return conn.malformed(`unknown message type ${type}`);
  }
}

/** Integrates a client's update (at once, or after what is queued on the doc), its time charged to its budgets. */
function applyClientUpdate(conn: Connection, doc: LiveDoc, update: Uint8Array): void | Promise<void> {
  return doc.now(() => {
    if (conn.closed) return;
    const started = performance.now();
    try {
      doc.integrate(conn, update);
    } finally {
      conn.host.users.chargeCpu(conn, conn.user, performance.now() - started);
    }
  });
}
