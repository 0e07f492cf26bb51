/**
 * Work a fresh process does before it listens, so that its first clients do not pay for
 * what V8 and the database pool do once: the hot path of a live edit (a client's update
 * decoded, integrated, checked by its kind, encoded for the others) is run a few hundred
 * times on a scratch doc in memory, until V8 has compiled it, and the database pool opens
 * its connections (each pays a TCP connect, a startup and postgres.js's type query).
 * bench:sync with WARMUP_SECONDS=0 measures what is left.
 */
import { seedProcessDefinition, setStageValue, writeDraft } from '@sales-process/core';
import { sql } from 'drizzle-orm';
import * as Y from 'yjs';
import type { Database } from '../db/open.js';
import { DraftChecker } from '../processes/draft-checker.js';
import { isEmptyUpdate, syncStep2Message, updateMessage } from './messages.js';

/** Runs a draft through `rounds` edits as a client and the server would; returns the milliseconds spent. */
export function warmLiveEdits(rounds = 300): number {
  const started = performance.now();
  const server = new Y.Doc();
  writeDraft(server, { name: 'warm-up', departments: [], definition: seedProcessDefinition });
  const checker = new DraftChecker(server);
  const client = new Y.Doc();
  Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
  client.on('update', (update: Uint8Array) => {
    Y.decodeUpdate(update);
    if (isEmptyUpdate(update)) return;
    Y.applyUpdate(server, update);
    checker.check();
    updateMessage(update);
  });
  const stage = seedProcessDefinition.presale[0]!.id;
  for (let i = 0; i < rounds; i++) setStageValue(client, 'presale', stage, 'requirements', `warm-up ${i}`);
  syncStep2Message(server, Y.encodeStateVector(client));
  // Edits the checker refuses would warm its refusal path instead of the one clients take.
  const { problems } = checker.check();
  if (problems.length) throw new Error(`the warm-up's edits were refused: ${problems.map((p) => p.code).join(', ')}`);
  server.destroy();
  client.destroy();
  return performance.now() - started;
}

/** Opens up to `connections` pooled database connections (PGlite has one; it answers at once). */
export async function warmDatabase(database: Database, connections = 10): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, () => database.db.execute(sql`select 1`)));
  return performance.now() - started;
}
