/**
 * Live-document propagation, in one run and on the same scenario, for
 *   - this server (validation and persistence on, PostgreSQL),
 *   - @y/websocket-server@0.1.1 (a plain relay, no persistence),
 *   - @hocuspocus/server with its database extension on the same PostgreSQL;
 * 100 rooms × 5 clients and 20 rooms × 25 clients, one writer per room at a fixed rate.
 * Prints p50/p99 propagation latency, missed deliveries, server CPU seconds and peak RSS,
 * and our ratios; medians of REPEAT runs. Server on CPU 0, load on CPU 1 (taskset).
 * Each run writes for WARMUP_SECONDS first, unmeasured (deliveries still counted): the
 * figures are of servers that have compiled their hot code and sized their heaps, on a
 * database vacuumed after setup.
 *
 *   pnpm bench:sync      (BENCH_DATABASE_URL, BENCH_SECONDS=15, WARMUP_SECONDS=5, REPEAT=3, RATE_MS=250,
 *                         SCENARIO=100x5|20x25, ONLY=ours,y-websocket-server,hocuspocus,
 *                         OURS=dist: the compiled server as `pnpm start` runs it (build first), not src through tsx;
 *                         MEMORY=1: each server's heap after a GC at the end of its runs (bench/mem-probe.mjs),
 *                         PER_SECOND=1: each run's p99 (and max) second by second, to see where a tail comes from)
 * Goal (issue 5): our p50 and p99 within 1.2× the plain relay's, better than Hocuspocus', no misses.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { HocuspocusProvider } from '@hocuspocus/provider';
import {
  DRAFT_ROOT,
  processDraftDocName,
  readDraft,
  seedProcessDefinition,
  setStageValue,
  writeDraft,
  type ProcessDraft,
} from '@sales-process/core';
import { signToken } from '@sales-process/server';
import { freePort, openScratchPostgres } from '@sales-process/server/testing';
import postgres from 'postgres';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const ROOT = resolve(import.meta.dirname, '..');
/** Numbers our clients' users. */
let clientSeq = 0;
const PG = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 5);
const REPEAT = Number(process.env.REPEAT ?? 3);
const RATE_MS = Number(process.env.RATE_MS ?? 250);
const PER_SECOND = process.env.PER_SECOND === '1';
const SECRET = 'bench-sync-secret-0123456789abcdef0123';
const SCENARIOS = [
  { rooms: 100, clients: 5 },
  { rooms: 20, clients: 25 },
].filter((sc) => !process.env.SCENARIO || process.env.SCENARIO === `${sc.rooms}x${sc.clients}`);
// ONLY=ours,hocuspocus runs some servers (ratios need all three).
const ONLY = process.env.ONLY?.split(',');
// Every y-websocket WebsocketProvider adds a process 'exit' listener in Node (to say
// goodbye to its peers); hundreds of clients in one process are expected here.
process.setMaxListeners(0);
const pin = spawnSync('sh', ['-c', 'command -v taskset']).status === 0;
if (pin) spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : NaN;
const median = (xs: number[]) => pct(xs, 50);
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
}
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Kind {
  name: string;
  start(port: number, db: string): ChildProcess;
  rooms(n: number, base: string): Promise<string[]>;
  connect(base: string, room: string, doc: Y.Doc): Promise<{ destroy(): void }>;
}

// SERVER_NODE_FLAGS (e.g. --cpu-prof --cpu-prof-dir=…, --trace-gc with SERVER_STDOUT=1) go to every server.
const nodeFlags = process.env.SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
const MEMORY = !!process.env.MEMORY;
const probeFile = resolve(tmpdir(), `sp-sync-mem-${process.pid}.jsonl`);
if (MEMORY) nodeFlags.push('--expose-gc', '--import', './bench/mem-probe.mjs');
/** What the probe said last: heap used, heap committed, external, RSS (MB, after a GC). */
async function probe(pid: number): Promise<{ used: number; total: number; external: number; rss: number } | null> {
  const before = existsSync(probeFile) ? readFileSync(probeFile, 'utf8').length : 0;
  process.kill(pid, 'SIGWINCH');
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const text = existsSync(probeFile) ? readFileSync(probeFile, 'utf8') : '';
    if (text.length > before) {
      const m = JSON.parse(text.slice(before).trim().split('\n').at(-1)!).memory;
      const mb = (n: number) => n / 1024 / 1024;
      return { used: mb(m.heapUsed), total: mb(m.heapTotal), external: mb(m.external), rss: mb(m.rss) };
    }
  }
  return null;
}
const node = (serverArgs: string[], env: Record<string, string>, args = [...nodeFlags, ...serverArgs]) =>
  spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, ...args] : args, {
    cwd: ROOT,
    env: { ...process.env, ...env, ...(MEMORY ? { MEM_PROBE_FILE: probeFile } : {}) },
    stdio: ['ignore', process.env.SERVER_STDOUT ? 'inherit' : 'ignore', 'inherit'],
  });

async function waitSynced(check: () => boolean, what: string, ms = 30_000) {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

const KINDS: Kind[] = [
  {
    name: 'ours',
    start: (port, db) =>
      node(
        process.env.OURS === 'dist'
          ? ['packages/server/dist/main.js']
          : ['--import', 'tsx', 'packages/server/src/main.ts'],
        {
          DATABASE_URL: db,
          AUTH_SECRET: SECRET,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        },
      ),
    async rooms(n, base) {
      const token = await signToken(SECRET, { sub: 'admin', tenant: 'bench', roles: ['admin'] }, new Date(), 3600);
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${base}/api/v1/processes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `P${i}`, departments: [], definition: seedProcessDefinition }),
        });
        ids.push(processDraftDocName(((await res.json()) as { id: string }).id));
      }
      return ids;
    },
    async connect(base, room, doc) {
      // Each client is its own admin, as in real use: the server caps one user's sockets (20) and shares a budget among them.
      const sub = `admin-${++clientSeq}`;
      const token = await signToken(SECRET, { sub, tenant: 'bench', roles: ['admin'] }, new Date(), 3600);
      const p = new WebsocketProvider(`${base.replace('http', 'ws')}/sync`, room, doc, {
        WebSocketPolyfill: WebSocket as never,
        disableBc: true,
        params: { token },
      });
      await waitSynced(() => p.synced, room);
      return p;
    },
  },
  {
    name: 'y-websocket-server',
    start: (port) =>
      node(['node_modules/@y/websocket-server/src/server.js'], { HOST: '127.0.0.1', PORT: String(port) }),
    rooms: async (n) => Array.from({ length: n }, (_, i) => `room-${i}-${Date.now()}`),
    async connect(base, room, doc) {
      const p = new WebsocketProvider(base.replace('http', 'ws'), room, doc, {
        WebSocketPolyfill: WebSocket as never,
        disableBc: true,
      });
      await waitSynced(() => p.synced, room);
      return p;
    },
  },
  {
    name: 'hocuspocus',
    start: (port, db) =>
      node(['--import', 'tsx', 'bench/servers/hocuspocus.ts'], { DATABASE_URL: db, PORT: String(port) }),
    rooms: async (n) => Array.from({ length: n }, (_, i) => `room-${i}-${Date.now()}`),
    async connect(base, room, doc) {
      let synced = false;
      const p = new HocuspocusProvider({
        url: base.replace('http', 'ws'),
        name: room,
        document: doc,
        WebSocketPolyfill: WebSocket,
        onSynced: () => (synced = true),
      } as never);
      await waitSynced(() => synced, room);
      return p;
    },
  },
];

async function scenario(kind: Kind, rooms: number, clients: number) {
  const scratch = await openScratchPostgres(PG);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = kind.start(port, scratch.url!);
  try {
    for (let i = 0; ; i++) {
      try {
        await fetch(base.replace('http', 'http') + (kind.name === 'ours' ? '/healthz' : '/'));
        break;
      } catch {
        if (i > 300) throw new Error(`${kind.name} did not start`);
        await sleep(100);
      }
    }
    const names = await kind.rooms(rooms, base);
    const latencies: number[] = [];
    /** PER_SECOND=1: the latencies of each second of the measured window. */
    const bySecond: number[][] = [];
    const warmupTicks = Math.round((WARMUP_SECONDS * 1000) / RATE_MS);
    let expected = 0;
    let received = 0;
    const providers: { destroy(): void }[] = [];
    const writers: Y.Doc[] = [];
    for (const room of names) {
      const docs = Array.from({ length: clients }, () => new Y.Doc());
      for (const doc of docs) providers.push(await kind.connect(base, room, doc));
      const writer = docs[0]!;
      // Same content everywhere: ours starts from the process' version, the others get it written now.
      if (!(readDraft(writer) as ProcessDraft).definition.presale.length)
        writeDraft(writer, { name: 'P', departments: [], definition: seedProcessDefinition });
      await waitSynced(
        () => docs.every((d) => (readDraft(d) as ProcessDraft).definition.presale.length === 4),
        `${room} initial state`,
      );
      writers.push(writer);
      for (const reader of docs.slice(1)) {
        const seen = new Set<number>();
        // Only the edited text is read: reading the whole draft per update would make the
        // load generator's own work most of what is measured.
        const requirements = (reader.getMap(DRAFT_ROOT).get('presale') as Y.Map<Y.Map<unknown>>)
          .get('visit')!
          .get('requirements') as Y.Text;
        reader.on('update', () => {
          const text = requirements.toString();
          const m = /^(\d+):(\d+(?:\.\d+)?)$/.exec(text);
          if (!m || seen.has(Number(m[1]))) return;
          seen.add(Number(m[1]));
          received++;
          if (Number(m[1]) <= warmupTicks) return;
          const ms = performance.timeOrigin + performance.now() - Number(m[2]);
          latencies.push(ms);
          if (PER_SECOND) {
            const second = Math.floor(((Number(m[1]) - warmupTicks - 1) * RATE_MS) / 1000);
            (bySecond[second] ??= []).push(ms);
          }
        });
      }
    }
    // Setup (migrations, rooms) left autovacuum work on the fresh database; done now, it
    // does not land on a server's core in the middle of the measurement.
    const admin = postgres(scratch.url!, { max: 1, onnotice: () => {} });
    await admin.unsafe('vacuum analyze');
    await admin.end();
    await sleep(500);
    let cpu0 = cpuSeconds(server.pid!);
    let seq = 0;
    const timer = setInterval(() => {
      seq++;
      if (seq === warmupTicks + 1) cpu0 = cpuSeconds(server.pid!);
      for (const w of writers) {
        setStageValue(w, 'presale', 'visit', 'requirements', `${seq}:${performance.timeOrigin + performance.now()}`);
        expected += clients - 1;
      }
    }, RATE_MS);
    await sleep((WARMUP_SECONDS + SECONDS) * 1000);
    clearInterval(timer);
    await sleep(2000); // let the last ones arrive
    const cpu = cpuSeconds(server.pid!) - cpu0;
    const rss = peakRssMb(server.pid!);
    const heap = MEMORY ? await probe(server.pid!) : null;
    providers.forEach((p) => p.destroy());
    if (PER_SECOND)
      console.log(
        `  ${kind.name} p99 by second: ${bySecond.map((xs) => pct(xs, 99).toFixed(0)).join(' ')}` +
          ` (max ${bySecond.map((xs) => Math.max(...xs).toFixed(0)).join(' ')})`,
      );
    return {
      heap,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      missed: expected - received,
      cpu,
      rss,
      updates: (seq - warmupTicks) * rooms,
    };
  } finally {
    // A graceful stop first (so SERVER_NODE_FLAGS=--cpu-prof can write its profile).
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const late = setTimeout(() => server.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(late);
    await scratch.close();
  }
}

console.log(
  `live-document propagation: ${SECONDS}s per run after ${WARMUP_SECONDS}s of warm-up, a write per room every ${RATE_MS} ms, median of ${REPEAT} runs${pin ? ', server on CPU 0, load on CPU 1' : ''}\n`,
);
for (const sc of SCENARIOS) {
  console.log(`${sc.rooms} rooms × ${sc.clients} clients`);
  console.log('server                  p50 ms   p99 ms   missed   cpu s   peak RSS MB');
  const results = new Map<string, { p50: number; p99: number; missed: number; cpu: number; rss: number }>();
  const kinds = KINDS.filter((k) => !ONLY || ONLY.includes(k.name));
  // Runs take turns (ours, relay, hocuspocus, ours, …) so that a slower stretch of the machine falls on every server alike.
  const all = new Map(kinds.map((k) => [k.name, [] as Awaited<ReturnType<typeof scenario>>[]]));
  for (let r = 0; r < REPEAT; r++)
    for (const kind of kinds) all.get(kind.name)!.push(await scenario(kind, sc.rooms, sc.clients));
  for (const kind of kinds) {
    const runs = all.get(kind.name)!;
    const m = {
      p50: median(runs.map((x) => x.p50)),
      p99: median(runs.map((x) => x.p99)),
      missed: median(runs.map((x) => x.missed)),
      cpu: median(runs.map((x) => x.cpu)),
      rss: median(runs.map((x) => x.rss)),
    };
    results.set(kind.name, m);
    console.log(
      `${kind.name.padEnd(22)} ${m.p50.toFixed(1).padStart(7)} ${m.p99.toFixed(1).padStart(8)} ${String(m.missed).padStart(8)} ${m.cpu.toFixed(1).padStart(7)} ${m.rss.toFixed(0).padStart(13)}`,
    );
    console.log(
      `${''.padEnd(22)} runs p50/p99: ${runs.map((x) => `${x.p50.toFixed(1)}/${x.p99.toFixed(1)}`).join('  ')}`,
    );
    const h = runs.at(-1)!.heap;
    if (h)
      console.log(
        `${''.padEnd(22)} after a GC (last run): heap used ${h.used.toFixed(1)} MB of ${h.total.toFixed(1)} committed, external ${h.external.toFixed(1)}, RSS ${h.rss.toFixed(0)}`,
      );
  }
  const ours = results.get('ours');
  for (const other of ['y-websocket-server', 'hocuspocus']) {
    const o = results.get(other);
    if (!o || !ours) continue;
    console.log(
      `  ours / ${other}: p50 ${(ours.p50 / o.p50).toFixed(2)}, p99 ${(ours.p99 / o.p99).toFixed(2)}, cpu ${(ours.cpu / o.cpu).toFixed(2)}, rss ${(ours.rss / o.rss).toFixed(2)}`,
    );
  }
  console.log('');
}
if (MEMORY) rmSync(probeFile, { force: true });
// Destroyed providers of the client libraries leave handles behind (timers, sockets
// closing); the results are out, so do not wait for them.
process.exit(0);
