/**
 * Work a fresh process does before it listens, so that its first clients do not pay for
 * what V8 and the database pool do once: the hot path of a live edit (a client's update
 * decoded, integrated, checked by its kind, encoded for the others) is run a few hundred
 * times on a scratch doc in memory, until V8 has compiled it, and the database pool opens
 * its connections (each pays a TCP connect, a startup and postgres.js's type query) and
 * prepares the update log's append on them. The edits go on for a few thousand rounds more
 * once the server listens, between requests (`warmLiveEditsInSlices`).
 * bench:sync with WARMUP_SECONDS=0 measures what is left.
 */
import { seedProcessDefinition, setStageValue, writeDraft } from '@sales-process/core';
import { sql } from 'drizzle-orm';
import * as Y from 'yjs';
import type { Database } from '../db/open.js';
import { DraftChecker } from '../processes/draft-checker.js';
import { isEmptyUpdate, syncStep2Message, updateMessage } from './messages.js';

/** A scratch draft edited as a client and the server would edit it: `edit` makes one round, `finish` checks and frees it. */
function editBench() {
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
  return {
    edit: (i: number) => setStageValue(client, 'presale', stage, 'requirements', `warm-up ${i}`),
    finish: () => {
      syncStep2Message(server, Y.encodeStateVector(client));
      // Edits the checker refuses would warm its refusal path instead of the one clients take.
      const { problems } = checker.check();
      server.destroy();
      client.destroy();
      if (problems.length)
        throw new Error(`the warm-up's edits were refused: ${problems.map((p) => p.code).join(', ')}`);
    },
  };
}

/** Runs a draft through `rounds` edits as a client and the server would; returns the milliseconds spent. */
export function warmLiveEdits(rounds = 300): number {
  const started = performance.now();
  const bench = editBench();
  for (let i = 0; i < rounds; i++) bench.edit(i);
  bench.finish();
  return performance.now() - started;
}

/**
 * The same once the server listens: `rounds` edits in slices of `slice`, yielding to the
 * event loop between slices so that requests are served meanwhile. Long enough for V8 to
 * optimize the edit path, which a few hundred rounds before listening do not (bench:sync
 * with WARMUP_SECONDS=0 and PER_SECOND=1 showed the first two seconds' p99 at 1.5–3× the rest).
 * Resolves with the milliseconds of work (not of waiting).
 */
export async function warmLiveEditsInSlices(rounds = 3000, slice = 100): Promise<number> {
  let busy = 0;
  let bench = editBench();
  for (let i = 0; i < rounds; i += slice) {
    const started = performance.now();
    // A new scratch doc now and then: one doc's growing history would grow the heap too.
    if (i && i % 500 === 0) {
      bench.finish();
      bench = editBench();
    }
    for (let k = i; k < Math.min(rounds, i + slice); k++) bench.edit(k);
    busy += performance.now() - started;
    await new Promise((r) => setImmediate(r));
  }
  bench.finish();
  return busy;
}

/**
 * Opens up to `connections` pooled database connections (PGlite has one; it answers at
 * once), then has `prepare` (the update log's append: LiveDocs.prepareAppend) prepared on them.
 */
export async function warmDatabase(
  database: Database,
  connections = 10,
  prepare?: (connections: number) => Promise<void>,
): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, () => database.db.execute(sql`select 1`)));
  await prepare?.(connections);
  return performance.now() - started;
}
