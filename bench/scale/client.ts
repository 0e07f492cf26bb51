/**
 * One load-generating process of bench/scale.ts (forked by it, several at once): it holds every
 * client of a slice of the docs, so a doc's writer and its readers share one process and one
 * clock (latency = performance.timeOrigin + performance.now() at the reader less the
 * time the writer recorded for that round). Driven by messages from the parent:
 *   init → connect 'first' (client 0 of each doc: loads the doc) → connect 'rest' → run → close.
 * The writes follow a common schedule (the parent's `startAt`, epoch ms): doc i is written in
 * round r at startAt + r·rateMs + (i mod slices)·50 ms. A tick that comes late is not made up
 * for: the writes made against those asked say when this process fell behind, and its event-loop
 * delay says how much of a latency it may have added.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { seedProcessDefinition, setStageValue, stageMap, writeDraft } from '@sales-process/core';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

export interface WorkerDoc {
  /** The doc's index over the whole run (its write slice and its instance placement). */
  index: number;
  name: string;
  /** One token per client (our server), or none (the relay). */
  tokens?: string[];
}

export type ToWorker =
  | { type: 'init'; ours: boolean; clients: number; bases: string[]; docs: WorkerDoc[]; parallel: number }
  | { type: 'connect'; phase: 'first' | 'rest' }
  | { type: 'run'; startAt: number; rateMs: number; warmRounds: number; rounds: number }
  | { type: 'close' };

export interface WorkerResult {
  same: number[];
  cross: number[];
  /** Measured writes made, and asked for (docs × measured rounds). */
  writes: number;
  asked: number;
  expected: number;
  received: number;
  /** Deliveries a reader saw only as part of a later round's update. */
  merged: number;
  /** Event-loop delay over the measured rounds, ms. */
  loop: { p50: number; p99: number; max: number };
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'connected'; phase: 'first' | 'rest'; seconds: number }
  | { type: 'result'; result: WorkerResult }
  | { type: 'error'; message: string };

const send = (m: FromWorker) => process.send!(m);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Every WebsocketProvider adds a process 'exit' listener in Node.
process.setMaxListeners(0);

let init: Extract<ToWorker, { type: 'init' }>;
/** docs[k][j]: client j of init.docs[k]. */
let docs: Y.Doc[][] = [];
const providers: WebsocketProvider[] = [];

function requirements(doc: Y.Doc): Y.Text | null {
  const t = stageMap(doc, 'presale', 'visit')?.get('requirements');
  return t instanceof Y.Text ? t : null;
}

/** Resolves once `check()` holds, testing it on each update of `doc` (and now). */
function whenDoc(doc: Y.Doc, check: () => boolean, what: string, ms = 120_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      doc.off('update', on);
      reject(new Error(`timed out: ${what}`));
    }, ms);
    const on = () => {
      if (!check()) return;
      clearTimeout(timer);
      doc.off('update', on);
      resolve();
    };
    doc.on('update', on);
  });
}

function connect(k: number, j: number): Promise<void> {
  const d = init.docs[k]!;
  const base = init.bases[(d.index + j) % init.bases.length]!.replace('http', 'ws');
  const p = new WebsocketProvider(init.ours ? `${base}/sync` : base, d.name, docs[k]![j]!, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    params: d.tokens ? { token: d.tokens[j]! } : {},
  });
  providers.push(p);
  if (p.synced) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out: ${d.name} client ${j}`)), 120_000);
    const on = (synced: boolean) => {
      if (!synced) return;
      clearTimeout(timer);
      p.off('sync', on);
      resolve();
    };
    p.on('sync', on);
  });
}

/** Runs `fn` over 0…n-1, `width` at a time. */
async function parallel(n: number, width: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function connectPhase(phase: 'first' | 'rest') {
  const t0 = performance.now();
  const n = init.docs.length;
  if (phase === 'first') {
    await parallel(n, init.parallel, async (k) => {
      await connect(k, 0);
      const w = docs[k]![0]!;
      // The relay starts empty; our server loads the process' draft.
      if (!requirements(w)) writeDraft(w, { name: 'P', departments: [], definition: seedProcessDefinition });
    });
  } else {
    const rest = init.clients - 1;
    await parallel(n * rest, init.parallel, (x) => connect(Math.floor(x / rest), 1 + (x % rest)));
    await Promise.all(
      docs.flatMap((clients, k) =>
        clients.map((d, j) => whenDoc(d, () => requirements(d) !== null, `${init.docs[k]!.name} client ${j} state`)),
      ),
    );
  }
  send({ type: 'connected', phase, seconds: (performance.now() - t0) / 1000 });
}

async function runPhase(m: Extract<ToWorker, { type: 'run' }>) {
  const slices = Math.max(1, Math.round(m.rateMs / 50));
  const end = m.warmRounds + m.rounds;
  const same: number[] = [];
  const cross: number[] = [];
  let expected = 0;
  let received = 0;
  let writes = 0;
  let merged = 0;
  const count = init.bases.length;
  const now = () => performance.timeOrigin + performance.now();

  // The writers' times, by doc and round: a reader that sees round n credits every round up to
  // n it had not seen (an instance catching up from the update log broadcasts the rows it
  // read as one merged update, so a reader may never see the text of round n - 1 itself).
  const written: number[][] = init.docs.map(() => []);
  init.docs.forEach((d, k) => {
    for (let j = 1; j < init.clients; j++) {
      const reader = docs[k]![j]!;
      const text = requirements(reader)!;
      const isCross = (d.index + j) % count !== d.index % count;
      let last = -1;
      reader.on('update', () => {
        const hit = /^(\d+):/.exec(text.toString());
        if (!hit || Number(hit[1]) <= last) return;
        const seen = Number(hit[1]);
        const t = now();
        for (let r = Math.max(last + 1, m.warmRounds); r <= seen && r < end; r++) {
          const at = written[k]![r];
          if (at === undefined) continue; // the writer skipped that round
          received++;
          if (r < seen) merged++;
          (isCross ? cross : same).push(t - at);
        }
        last = seen;
      });
    }
  });
  const bySlice: number[][] = Array.from({ length: slices }, () => []);
  init.docs.forEach((d, k) => bySlice[d.index % slices]!.push(k));

  const loop = monitorEventLoopDelay({ resolution: 10 });
  const total = end * slices;
  let tick = 0;
  await new Promise<void>((done) => {
    const step = () => {
      // The tick due now (ticks missed while the loop was busy are skipped, not made up).
      const due = Math.floor((now() - m.startAt) / 50);
      if (due >= total) return done();
      if (due >= tick) {
        tick = due;
        const round = Math.floor(tick / slices);
        if (round === m.warmRounds && tick % slices === 0) loop.enable();
        for (const k of bySlice[tick % slices]!) {
          const at = now();
          written[k]![round] = at;
          setStageValue(docs[k]![0]!, 'presale', 'visit', 'requirements', `${round}:${at}`);
          if (round >= m.warmRounds) {
            writes++;
            expected += init.clients - 1;
          }
        }
        tick++;
      }
      setTimeout(step, Math.max(0, m.startAt + tick * 50 - now()));
    };
    setTimeout(step, Math.max(0, m.startAt - now()));
  });
  loop.disable();
  await sleep(2000); // the last ones arrive
  send({
    type: 'result',
    result: {
      same,
      cross,
      writes,
      asked: init.docs.length * m.rounds,
      expected,
      received,
      merged,
      loop: {
        p50: loop.percentile(50) / 1e6,
        p99: loop.percentile(99) / 1e6,
        max: loop.max / 1e6,
      },
    },
  });
}

process.on('message', (m: ToWorker) => {
  const fail = (e: unknown) => send({ type: 'error', message: (e as Error).message ?? String(e) });
  switch (m.type) {
    case 'init':
      init = m;
      docs = m.docs.map(() => Array.from({ length: m.clients }, () => new Y.Doc()));
      send({ type: 'ready' });
      break;
    case 'connect':
      connectPhase(m.phase).catch(fail);
      break;
    case 'run':
      runPhase(m).catch(fail);
      break;
    case 'close':
      // The kernel closes the sockets; destroying thousands of providers one by one is slow.
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
