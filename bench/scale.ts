/**
 * Scale-out: N docs × C clients (default 2,000 × 5: 10,000 websocket connections), on
 *   - one instance of this server (PostgreSQL, validation and persistence on),
 *   - three instances sharing one PostgreSQL, a doc's clients spread over them
 *     (client j of doc i on instance (i + j) mod 3: most deliveries cross instances),
 *   - @y/websocket-server@0.1.1 (the relay bench:sync uses), one instance.
 * One writer per doc, RATE_MS apart, writes spread evenly over the interval. Prints p50/p99
 * propagation (the three-instance run split same / cross instance), missed deliveries,
 * CPU seconds and RSS per instance, memory per connection and per loaded doc (RSS steps
 * while connecting: one client per doc, then the rest), PostgreSQL's CPU (its processes'
 * /proc times: the run's database's backends and the whole cluster) and commits, and the
 * NOTIFY traffic (counted by a LISTEN of our own). Figures and ratios; nothing asserted.
 *
 * Loopback only. Each server is started through `sh -c 'ulimit -n <hard limit>; exec node …'`
 * (Node has no setrlimit); the bench itself holds every client socket, so its own soft
 * limit must cover N × C (it re-executes itself under a raised limit when it does not).
 * Bounded: the whole run stops at DEADLINE_SECONDS (300) and prints what it has.
 *
 *   pnpm bench:scale [--docs 2000] [--clients 5] [--instances 3] [--seconds 15] [--warmup 5]
 *                    [--rate-ms 2000] [--only single,multi,relay] [--server src|dist] [--heap]
 *   (BENCH_DATABASE_URL; --server dist runs packages/server/dist as `pnpm start` does — build first;
 *    --heap writes a heap snapshot of the single instance under load and prints it by constructor)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
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
import { heapFlags, printGrowth, printSummary, removeDir, snapshot, summarize } from './heap.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '5' },
    instances: { type: 'string', default: '3' },
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '15' },
    warmup: { type: 'string', default: process.env.WARMUP_SECONDS ?? '5' },
    'rate-ms': { type: 'string', default: process.env.RATE_MS ?? '2000' },
    only: { type: 'string', default: 'single,multi,relay' },
    server: { type: 'string', default: 'src' },
    heap: { type: 'boolean', default: false },
  },
});
const DOCS = Number(args.docs);
const CLIENTS = Number(args.clients);
const INSTANCES = Number(args.instances);
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const RATE_MS = Number(args['rate-ms']);
const ONLY = args.only!.split(',');
const PG = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'bench-scale-secret-0123456789abcdef0123';
const DEADLINE_SECONDS = Number(process.env.DEADLINE_SECONDS ?? 300);
/** Connections opened at once while connecting. */
const CONNECT_PARALLEL = 64;

// ---- file descriptors ---------------------------------------------------------------------

function fdLimits(pid: number | 'self'): { soft: number; hard: number } {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line
    .replace('Max open files', '')
    .trim()
    .split(/\s+/)
    .map((x) => (x === 'unlimited' ? Infinity : Number(x)));
  return { soft: soft!, hard: hard! };
}
const needed = DOCS * CLIENTS + 256;
const own = fdLimits('self');
if (own.soft < needed && own.soft < own.hard && !process.env.SP_SCALE_REEXEC) {
  // Node cannot raise its own limit: run again under a shell that does.
  const r = spawnSync(
    'sh',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" && exec "$@"',
      'sh',
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { stdio: 'inherit', env: { ...process.env, SP_SCALE_REEXEC: '1' } },
  );
  process.exit(r.status ?? 1);
}
const ownNow = fdLimits('self');

// Every WebsocketProvider adds a process 'exit' listener in Node.
process.setMaxListeners(0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : NaN;
const started = Date.now();
const left = () => DEADLINE_SECONDS * 1000 - (Date.now() - started);

// ---- /proc --------------------------------------------------------------------------------

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(stat[11]) + Number(stat[12])) / 100;
  } catch {
    return 0; // gone
  }
}
function memMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
/** PostgreSQL's processes: those serving `db`, and all of them (the cluster, other databases included). */
function postgresCpu(db: string): { db: number; all: number } {
  let dbCpu = 0;
  let all = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd: string;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'postgres') continue;
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const s = cpuSeconds(Number(d));
    all += s;
    if (cmd.includes(` ${db} `)) dbCpu += s;
  }
  return { db: dbCpu, all };
}

// ---- servers ------------------------------------------------------------------------------

interface Instance {
  proc: ChildProcess;
  base: string;
}

function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  // `ulimit -n` to the hard limit inside the spawned shell, then the server replaces it.
  return spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', process.env.SERVER_STDOUT ? 'inherit' : 'ignore', 'inherit'],
  });
}

async function startOurs(db: string, extra: string[]): Promise<Instance> {
  const port = await freePort();
  const entry =
    args.server === 'dist'
      ? ['--conditions=sales-process-dist', 'packages/server/dist/main.js']
      : ['--import', 'tsx', 'packages/server/src/main.ts'];
  const proc = spawnNode([...extra, ...entry], {
    DATABASE_URL: db,
    AUTH_SECRET: SECRET,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUp(`${base}/healthz`, proc);
  return { proc, base };
}

async function startRelay(extra: string[]): Promise<Instance> {
  const port = await freePort();
  const proc = spawnNode([...extra, 'node_modules/@y/websocket-server/src/server.js'], {
    HOST: '127.0.0.1',
    PORT: String(port),
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUp(base, proc);
  return { proc, base };
}

async function waitUp(url: string, proc: ChildProcess) {
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode})`);
    try {
      await fetch(url);
      return;
    } catch {
      if (i > 600) throw new Error(`${url} did not start`);
      await sleep(100);
    }
  }
}

async function stop(proc: ChildProcess) {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const late = setTimeout(() => proc.kill('SIGKILL'), 8000);
  await exited;
  clearTimeout(late);
}

// ---- clients ------------------------------------------------------------------------------

let clientSeq = 0;
async function waitFor(check: () => boolean, what: string, ms = 60_000) {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

async function connectOurs(base: string, room: string, doc: Y.Doc): Promise<WebsocketProvider> {
  // Each client is its own admin, as in bench:sync (a user's sockets are capped at 20).
  const token = await signToken(
    SECRET,
    { sub: `admin-${++clientSeq}`, tenant: 'bench', roles: ['admin'] },
    new Date(),
    3600,
  );
  const p = new WebsocketProvider(`${base.replace('http', 'ws')}/sync`, room, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    params: { token },
  });
  await waitFor(() => p.synced, room);
  return p;
}

async function connectRelay(base: string, room: string, doc: Y.Doc): Promise<WebsocketProvider> {
  const p = new WebsocketProvider(base.replace('http', 'ws'), room, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  });
  await waitFor(() => p.synced, room);
  return p;
}

/** Runs `fn` over `items`, `n` at a time. */
async function parallel<T>(items: T[], n: number, fn: (x: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

async function createProcesses(base: string, n: number): Promise<string[]> {
  const token = await signToken(SECRET, { sub: 'admin', tenant: 'bench', roles: ['admin'] }, new Date(), 3600);
  const names: string[] = new Array(n);
  await parallel(
    Array.from({ length: n }, (_, i) => i),
    8,
    async (i) => {
      const res = await fetch(`${base}/api/v1/processes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `P${i}`, departments: [], definition: seedProcessDefinition }),
      });
      if (res.status !== 201 && res.status !== 200) throw new Error(`create process: ${res.status}`);
      names[i] = processDraftDocName(((await res.json()) as { id: string }).id);
    },
  );
  return names;
}

// ---- one run ------------------------------------------------------------------------------

interface RunResult {
  name: string;
  instances: { cpu: number; rss: number; peak: number; fds: string }[];
  same: number[];
  cross: number[];
  expected: number;
  received: number;
  perDocMb: number;
  perConnMb: number;
  baseMb: number;
  /** Writes made in the measured window: fewer than asked when the load generator falls behind. */
  writes: number;
  pg?: { dbCpu: number; allCpu: number; commits: number; notifies: number; notifyBytes: number };
  connectSeconds: number;
}

async function run(name: 'single' | 'multi' | 'relay'): Promise<RunResult> {
  const ours = name !== 'relay';
  const count = name === 'multi' ? INSTANCES : 1;
  const scratch = ours ? await openScratchPostgres(PG) : null;
  const dbName = scratch ? new URL(scratch.url!).pathname.slice(1) : '';
  const heap = args.heap && name !== 'multi' ? heapFlags() : null;
  const servers: Instance[] = [];
  const providers: WebsocketProvider[] = [];
  let listener: postgres.Sql | null = null;
  try {
    // Migrations run on the first instance alone, then the others start.
    servers.push(ours ? await startOurs(scratch!.url!, heap?.flags ?? []) : await startRelay(heap?.flags ?? []));
    for (let k = 1; k < count; k++) servers.push(await startOurs(scratch!.url!, []));
    const fds = servers.map((s) => {
      const l = fdLimits(s.proc.pid!);
      return `${l.soft}/${l.hard}`;
    });
    const names = ours
      ? await createProcesses(servers[0]!.base, DOCS)
      : Array.from({ length: DOCS }, (_, i) => `room-${i}-${Date.now()}`);
    await sleep(1000);
    const pid0 = servers[0]!.proc.pid!;
    const rss0 = memMb(pid0, 'VmRSS');
    const heap0 = heap ? summarize(await snapshot(pid0, heap.dir)) : null;

    // Connecting: client 0 of every doc (each doc loaded), then the others.
    const t0 = Date.now();
    const docs = names.map(() => Array.from({ length: CLIENTS }, () => new Y.Doc()));
    const connect = (i: number, j: number) => {
      const base = servers[(i + j) % count]!.base;
      return (ours ? connectOurs : connectRelay)(base, names[i]!, docs[i]![j]!).then((p) => void providers.push(p));
    };
    await parallel(names, CONNECT_PARALLEL, (_, i) => connect(i, 0));
    for (const d of docs) {
      const w = d[0]!;
      if (!(readDraft(w) as ProcessDraft).definition.presale.length)
        writeDraft(w, { name: 'P', departments: [], definition: seedProcessDefinition });
    }
    await sleep(1000);
    const rss1 = memMb(pid0, 'VmRSS');
    const heap1 = heap ? summarize(await snapshot(pid0, heap.dir)) : null;
    const pairs = names.flatMap((_, i) => Array.from({ length: CLIENTS - 1 }, (_, j) => [i, j + 1] as const));
    await parallel(pairs, CONNECT_PARALLEL, ([i, j]) => connect(i, j));
    await parallel(names, CONNECT_PARALLEL, (_, i) =>
      waitFor(
        () => docs[i]!.every((d) => (readDraft(d) as ProcessDraft).definition.presale.length === 4),
        `${names[i]} initial state`,
      ),
    );
    await sleep(1000);
    const rss2 = memMb(pid0, 'VmRSS');
    const connectSeconds = (Date.now() - t0) / 1000;
    // Per connection: the step from 1 to CLIENTS clients per doc; per loaded doc: the first
    // step less one connection. RSS, so garbage not yet collected is in it (rough figures).
    const perConnMb = CLIENTS > 1 && count === 1 ? (rss2 - rss1) / (DOCS * (CLIENTS - 1)) : NaN;
    const perDocMb = count === 1 ? (rss1 - rss0) / DOCS - (Number.isNaN(perConnMb) ? 0 : perConnMb) : NaN;

    // Deliveries: readers parse "seq:timestamp" out of the edited text.
    const warmTicks = Math.ceil((WARMUP * 1000) / RATE_MS);
    const same: number[] = [];
    const cross: number[] = [];
    let expected = 0;
    let received = 0;
    names.forEach((_, i) => {
      for (let j = 1; j < CLIENTS; j++) {
        const reader = docs[i]![j]!;
        const isCross = (i + j) % count !== i % count;
        const requirements = (reader.getMap(DRAFT_ROOT).get('presale') as Y.Map<Y.Map<unknown>>)
          .get('visit')!
          .get('requirements') as Y.Text;
        let last = 0;
        reader.on('update', () => {
          const m = /^(\d+):(\d+(?:\.\d+)?)$/.exec(requirements.toString());
          if (!m || Number(m[1]) <= last) return;
          // A skipped seq is a miss (a later one arrived first and replaced the text).
          last = Number(m[1]);
          if (last <= warmTicks) return;
          received++;
          (isCross ? cross : same).push(performance.timeOrigin + performance.now() - Number(m[2]));
        });
      }
    });

    if (scratch) {
      const admin = postgres(scratch.url!, { max: 1, onnotice: () => {} });
      await admin.unsafe('vacuum analyze');
      await admin.end();
      listener = postgres(scratch.url!, { max: 1, onnotice: () => {} });
    }
    let notifies = 0;
    let notifyBytes = 0;
    let counting = false;
    if (listener)
      await listener.listen('sp_doc', (payload) => {
        if (!counting) return;
        notifies++;
        notifyBytes += Buffer.byteLength(payload);
      });
    const commits = async () =>
      listener
        ? Number(
            (await listener`select xact_commit from pg_stat_database where datname = ${dbName}`)[0]?.xact_commit ?? 0,
          )
        : 0;

    // Writers: each doc every RATE_MS, the docs spread over the interval in 50 ms slices.
    const slices = Math.max(1, Math.round(RATE_MS / 50));
    const seqs = new Array<number>(DOCS).fill(0);
    let tick = 0;
    let cpu0 = servers.map((s) => cpuSeconds(s.proc.pid!));
    let pg0 = postgresCpu(dbName);
    let commits0 = await commits();
    const timer = setInterval(() => {
      const slice = tick++ % slices;
      for (let i = slice; i < DOCS; i += slices) {
        const seq = ++seqs[i]!;
        if (i === 0 && seq === warmTicks + 1) {
          // Warm-up over (first slice of the first measured round): the meters start now.
          cpu0 = servers.map((s) => cpuSeconds(s.proc.pid!));
          pg0 = postgresCpu(dbName);
          void commits().then((c) => (commits0 = c));
          counting = true;
        }
        setStageValue(
          docs[i]![0]!,
          'presale',
          'visit',
          'requirements',
          `${seq}:${performance.timeOrigin + performance.now()}`,
        );
        if (seq > warmTicks) expected += CLIENTS - 1;
      }
    }, 50);
    await sleep(Math.min((WARMUP + SECONDS) * 1000, Math.max(0, left() - 30_000)));
    clearInterval(timer);
    counting = false;
    await sleep(2000); // the last ones arrive
    const cpu = servers.map((s, k) => cpuSeconds(s.proc.pid!) - cpu0[k]!);
    const pg1 = postgresCpu(dbName);
    const commits1 = await commits();
    const result: RunResult = {
      name,
      instances: servers.map((s, k) => ({
        cpu: cpu[k]!,
        rss: memMb(s.proc.pid!, 'VmRSS'),
        peak: memMb(s.proc.pid!, 'VmHWM'),
        fds: fds[k]!,
      })),
      same,
      cross,
      expected,
      received,
      writes: expected / Math.max(1, CLIENTS - 1),
      perDocMb,
      perConnMb,
      baseMb: rss0,
      connectSeconds,
      pg: scratch
        ? {
            dbCpu: pg1.db - pg0.db,
            allCpu: pg1.all - pg0.all,
            commits: commits1 - commits0,
            notifies,
            notifyBytes,
          }
        : undefined,
    };
    if (heap) {
      const file = await snapshot(pid0, heap.dir);
      const loaded = summarize(file);
      printSummary(`${name}, before connecting`, heap0!);
      printSummary(`${name}, ${DOCS} docs × ${CLIENTS} clients`, loaded);
      printGrowth('per loaded doc with one connection', heap0!, heap1!, DOCS);
      printGrowth('per further connection', heap1!, loaded, DOCS * (CLIENTS - 1));
    }
    return result;
  } finally {
    for (const p of providers) p.destroy();
    await listener?.end({ timeout: 1 }).catch(() => {});
    for (const s of servers) await stop(s.proc);
    await scratch?.close().catch(() => {});
    if (heap && !process.env.KEEP_HEAP) removeDir(heap.dir);
  }
}

// ---- report -------------------------------------------------------------------------------

const deadline = setTimeout(() => {
  console.log(`\ntime bound (${DEADLINE_SECONDS}s) reached: stopping with what is printed`);
  process.exit(2);
}, DEADLINE_SECONDS * 1000);
deadline.unref();

console.log(
  `scale-out: ${DOCS} docs × ${CLIENTS} clients (${DOCS * CLIENTS} connections), a write per doc every ${RATE_MS} ms ` +
    `(${((DOCS * 1000) / RATE_MS).toFixed(0)} updates/s, ${(((CLIENTS - 1) * DOCS * 1000) / RATE_MS).toFixed(0)} deliveries/s), ` +
    `${SECONDS}s measured after ${WARMUP}s of warm-up; our server from ${args.server === 'dist' ? 'packages/server/dist' : 'src through tsx'}`,
);
console.log(
  `file descriptors: bench ${ownNow.soft}/${ownNow.hard} (soft/hard) for ${DOCS * CLIENTS} client sockets; servers raise theirs with \`ulimit -n <hard>\` in the spawning shell`,
);
const busy = spawnSync('sh', ['-c', 'cat /proc/loadavg']).stdout.toString().trim();
console.log(`load average before: ${busy}\n`);

const results = new Map<string, RunResult>();
for (const name of ['single', 'multi', 'relay'] as const) {
  if (!ONLY.includes(name)) continue;
  if (left() < 60_000) {
    console.log(`${name}: skipped, under a minute left of the time bound`);
    continue;
  }
  try {
    const r = await run(name);
    results.set(name, r);
    const all = [...r.same, ...r.cross];
    const mb = (n: number) => (Number.isNaN(n) ? '–' : `${(n * 1024).toFixed(1)} KB`);
    console.log(
      `${name === 'single' ? 'ours, 1 instance' : name === 'multi' ? `ours, ${INSTANCES} instances` : '@y/websocket-server'} (connected in ${r.connectSeconds.toFixed(0)}s)`,
    );
    console.log(
      `  propagation p50 ${pct(all, 50).toFixed(1)} ms, p99 ${pct(all, 99).toFixed(1)} ms over ${all.length} deliveries; missed ${r.expected - r.received} of ${r.expected}`,
    );
    const asked = (DOCS * SECONDS * 1000) / RATE_MS;
    console.log(
      `  writes made ${r.writes} of ~${asked.toFixed(0)} asked (${((100 * r.writes) / asked).toFixed(0)}%: less when the bench's own event loop falls behind)`,
    );
    if (name === 'multi')
      console.log(
        `  same instance p50/p99 ${pct(r.same, 50).toFixed(1)}/${pct(r.same, 99).toFixed(1)} ms (${r.same.length}), cross-instance ${pct(r.cross, 50).toFixed(1)}/${pct(r.cross, 99).toFixed(1)} ms (${r.cross.length})`,
      );
    r.instances.forEach((x, k) =>
      console.log(
        `  instance ${k}: cpu ${x.cpu.toFixed(1)} s (${((x.cpu / SECONDS) * 100).toFixed(0)}% of a core), RSS ${x.rss.toFixed(0)} MB (peak ${x.peak.toFixed(0)}), fd limit ${x.fds}`,
      ),
    );
    if (name !== 'multi')
      console.log(
        `  memory: ${r.baseMb.toFixed(0)} MB before connecting, ${mb(r.perDocMb)} per loaded doc, ${mb(r.perConnMb)} per connection (RSS steps)`,
      );
    if (r.pg)
      console.log(
        `  PostgreSQL: cpu ${r.pg.dbCpu.toFixed(1)} s in this database's backends, ${r.pg.allCpu.toFixed(1)} s all its processes; ` +
          `${(r.pg.commits / SECONDS).toFixed(0)} commits/s; NOTIFY ${(r.pg.notifies / SECONDS).toFixed(0)}/s, ${(r.pg.notifyBytes / SECONDS / 1024).toFixed(1)} KB/s`,
      );
    console.log('');
  } catch (e) {
    console.log(`${name}: failed: ${(e as Error).message}\n`);
  }
}
const p99 = (r?: RunResult) => (r ? pct([...r.same, ...r.cross], 99) : NaN);
const p50 = (r?: RunResult) => (r ? pct([...r.same, ...r.cross], 50) : NaN);
const single = results.get('single');
const relay = results.get('relay');
const multi = results.get('multi');
if (single && relay)
  console.log(
    `ours (1 instance) / relay: p50 ${(p50(single) / p50(relay)).toFixed(2)}, p99 ${(p99(single) / p99(relay)).toFixed(2)}, ` +
      `cpu ${(single.instances[0]!.cpu / relay.instances[0]!.cpu).toFixed(2)}, RSS ${(single.instances[0]!.peak / relay.instances[0]!.peak).toFixed(2)}`,
  );
if (single && multi)
  console.log(
    `${INSTANCES} instances / 1 instance: p99 ${(p99(multi) / p99(single)).toFixed(2)}, cross-instance p99 ${(pct(multi.cross, 99) / p99(single)).toFixed(2)}, ` +
      `cpu summed ${(multi.instances.reduce((s, x) => s + x.cpu, 0) / single.instances[0]!.cpu).toFixed(2)}`,
  );
// Destroyed providers leave handles behind; the results are out.
process.exit(0);
