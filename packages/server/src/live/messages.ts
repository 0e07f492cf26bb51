/** The frames the server writes, and the little it reads of updates, in y-websocket's protocol (core's live-protocol.ts). */
import { MESSAGE_AWARENESS, MESSAGE_NOTICE, MESSAGE_SYNC, type LiveNotice } from '@sales-process/core';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

/** Sync step 1: the doc's state vector (the server starts the sync). */
export function syncStep1Message(ydoc: Y.Doc): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  syncProtocol.writeSyncStep1(encoder, ydoc);
  return encoding.toUint8Array(encoder);
}

/** Sync step 2: what the doc has beyond the client's state vector. */
export function syncStep2Message(ydoc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  syncProtocol.writeSyncStep2(encoder, ydoc, stateVector);
  return encoding.toUint8Array(encoder);
}

export function updateMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  syncProtocol.writeUpdate(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function awarenessMessage(awareness: awarenessProtocol.Awareness, ids: number[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(awareness, ids));
  return encoding.toUint8Array(encoder);
}

export function noticeMessage(notice: LiveNotice): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_NOTICE);
  encoding.writeVarString(encoder, JSON.stringify(notice));
  return encoding.toUint8Array(encoder);
}

/**
 * The entries of an awareness update whose client `keep` accepts, re-encoded; null when
 * none is left. Clients echo the states of others they have just received (y-websocket
 * sends every change of its awareness, remote ones too): those entries are dropped, not
 * refused, so nobody speaks for another connection and nobody is told off for an echo.
 */
export function keepAwarenessEntries(update: Uint8Array, keep: (clientId: number) => boolean): Uint8Array | null {
  const decoder = decoding.createDecoder(update);
  const n = decoding.readVarUint(decoder);
  const kept: [number, number, string][] = [];
  for (let i = 0; i < n; i++) {
    const id = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state = decoding.readVarString(decoder);
    if (keep(id)) kept.push([id, clock, state]);
  }
  if (kept.length === n) return update;
  if (!kept.length) return null;
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, kept.length);
  for (const [id, clock, state] of kept) {
    encoding.writeVarUint(encoder, id);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, state);
  }
  return encoding.toUint8Array(encoder);
}

/**
 * The doc's state vector from before `updates` (just applied) were integrated: each of
 * their clients' first clock. Worked out only when an update is refused, instead of
 * encoding the state vector ahead of every update.
 */
export function stateBefore(ydoc: Y.Doc, updates: Uint8Array[]): Uint8Array {
  const sv = Y.decodeStateVector(Y.encodeStateVector(ydoc));
  for (const u of updates)
    for (const [client, clock] of Y.parseUpdateMeta(u).from) sv.set(client, Math.min(sv.get(client) ?? clock, clock));
  return Y.encodeStateVector(sv);
}

/** An update with no structs and no deletions (y-websocket clients send these on connect). */
export function isEmptyUpdate(update: Uint8Array): boolean {
  const { structs, ds } = Y.decodeUpdate(update);
  return structs.length === 0 && ds.clients.size === 0;
}
