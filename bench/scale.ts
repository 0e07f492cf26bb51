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
 * The clients live in WORKERS forked processes (bench/scale/client.ts), each holding every
 * client of a slice of the docs, so a write and its deliveries are timed on one clock in one
 * process. The load generator's own share is printed beside the servers': the workers' CPU,
 * their event-loop delay, the writes they made against those asked, and the machine's busy
 * time (what neither the servers, the workers nor PostgreSQL used is other work on the host).
 * When the workers' event-loop delay is near the p99, or they make fewer writes than asked,
 * the figures measure the load generator: lower the rate (--rate-ms) until they do not.
 *
 * Loopback only. Servers and workers are started through `sh -c 'ulimit -n <hard limit>;
 * exec node …'` (Node has no setrlimit); each worker holds N × C / WORKERS sockets.
 * Bounded: the whole run stops at DEADLINE_SECONDS (600) and prints what it has.
 *
 *   pnpm bench:scale [--docs 2000] [--clients 5] [--instances 3] [--seconds 20] [--warmup 6]
 *                    [--rate-ms 2000] [--workers 4] [--connect-parallel 48]
 *                    [--only single,multi,relay] [--server dist|src] [--heap]
 *   (BENCH_DATABASE_URL; SCALE_BUILD_LOCK=/tmp/build.lock: start servers under a shared lock on
 *    the file builds lock; --server dist (the default) runs packages/server/dist as `pnpm start`
 *    does: `pnpm build` first; src runs it through tsx. --heap writes a heap snapshot of the
 *    single instance under load and prints it by constructor)
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { processDraftDocName, seedProcessDefinition } from '@sales-process/core';
import { signToken } from '@sales-process/server';
import { freePort, openScratchPostgres } from '@sales-process/server/testing';
import postgres from 'postgres';
import { heapFlags, printGrowth, printSummary, removeDir, snapshot, summarize } from './heap.js';
import type { FromWorker, ToWorker, WorkerDoc, WorkerResult } from './scale/client.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '5' },
    instances: { type: 'string', default: '3' },
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '20' },
    warmup: { type: 'string', default: process.env.WARMUP_SECONDS ?? '6' },
    'rate-ms': { type: 'string', default: process.env.RATE_MS ?? '2000' },
    workers: { type: 'string', default: process.env.WORKERS ?? '4' },
    'connect-parallel': { type: 'string', default: '48' },
    only: { type: 'string', default: 'single,multi,relay' },
    server: { type: 'string', default: 'dist' },
    heap: { type: 'boolean', default: false },
  },
});
const DOCS = Number(args.docs);
const CLIENTS = Number(args.clients);
const INSTANCES = Number(args.instances);
const RATE_MS = Number(args['rate-ms']);
const WARM_ROUNDS = Math.ceil((Number(args.warmup) * 1000) / RATE_MS);
const ROUNDS = Math.max(1, Math.round((Number(args.seconds) * 1000) / RATE_MS));
/** The measured window: whole rounds. */
const SECONDS = (ROUNDS * RATE_MS) / 1000;
const WORKERS = Math.max(1, Math.min(Number(args.workers), DOCS));
/** Connections each worker opens at once while connecting. */
const CONNECT_PARALLEL = Number(args['connect-parallel']);
const ONLY = args.only!.split(',');
const PG = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'bench-scale-secret-0123456789abcdef0123';
const DEADLINE_SECONDS = Number(process.env.DEADLINE_SECONDS ?? 600);
const DIST = args.server === 'dist';
if (DIST && !existsSync(resolve(ROOT, 'packages/server/dist/main.js'))) {
  console.error('packages/server/dist/main.js is missing: run `pnpm build` first (or pass --server src)');
  process.exit(1);
}

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
/** The machine's busy and total CPU seconds (all CPUs), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((s, x) => s + x, 0);
  const idle = f[3]! + f[4]!; // idle + iowait
  return { busy: (total - idle) / 100, total: total / 100 };
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
  /** Where bench/scale/probe.mjs writes the server's event-loop delay, second by second. */
  probe: string;
}

const probeDir = mkdtempSync(join(tmpdir(), 'sp-scale-'));
let probes = 0;

function spawnNode(args: string[], env: Record<string, string>): { proc: ChildProcess; probe: string } {
  const probe = join(probeDir, `loop-${++probes}.txt`);
  // `ulimit -n` to the hard limit inside the spawned shell, then the server replaces it.
  const proc = spawn(
    'sh',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" && exec "$@"',
      'sh',
      process.execPath,
      '--import',
      resolve(ROOT, 'bench/scale/probe.mjs'),
      ...args,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, SCALE_PROBE_FILE: probe },
      stdio: ['ignore', process.env.SERVER_STDOUT ? 'inherit' : 'ignore', 'inherit'],
    },
  );
  return { proc, probe };
}

/**
 * The server's event-loop delay between two instants: the median and worst of its one-second
 * p99s, and the maximum (ms); and its garbage collection: total pause time, the longest pause
 * and its kind (probe.mjs).
 */
function serverLoop(
  probe: string,
  from: number,
  to: number,
): { p99: number; worst: number; max: number; gcMs: number; gcMax: number; gcKind: string } {
  const p99s: number[] = [];
  let max = 0;
  let gcMs = 0;
  let gcMax = 0;
  let gcKind = '-';
  const text = existsSync(probe) ? readFileSync(probe, 'utf8') : '';
  for (const line of text.split('\n')) {
    const [t, p, m, gc, longest] = line.split(' ').map(Number);
    // Each line covers the second before its time.
    if (!t || t - 1000 < from || t > to + 1000) continue;
    p99s.push(p!);
    max = Math.max(max, m!);
    gcMs += gc || 0;
    if ((longest || 0) > gcMax) {
      gcMax = longest!;
      gcKind = line.split(' ')[5] ?? '-';
    }
  }
  return { p99: pct(p99s, 50), worst: Math.max(0, ...p99s), max, gcMs, gcMax, gcKind };
}

/**
 * With SCALE_BUILD_LOCK=<file> (a lock builds take exclusively, as `flock <file> pnpm build`),
 * servers start under a shared lock on it, so a concurrent build cannot remove dist while they
 * load it. Resolves with its release.
 */
async function buildLock(): Promise<() => void> {
  const file = process.env.SCALE_BUILD_LOCK;
  if (!file || !DIST) return () => {};
  const holder = spawn('flock', ['-s', file, '-c', 'echo locked; read _'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((r, j) => {
    holder.stdout!.once('data', r);
    holder.once('exit', (code) => j(new Error(`flock ${file} exited (${code})`)));
  });
  return () => holder.stdin!.end();
}

async function startOurs(db: string, extra: string[]): Promise<Instance> {
  const port = await freePort();
  const entry = DIST ? ['packages/server/dist/main.js'] : ['--import', 'tsx', 'packages/server/src/main.ts'];
  const { proc, probe } = spawnNode([...extra, ...entry], {
    DATABASE_URL: db,
    AUTH_SECRET: SECRET,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUp(`${base}/healthz`, proc);
  return { proc, base, probe };
}

async function startRelay(extra: string[]): Promise<Instance> {
  const port = await freePort();
  const { proc, probe } = spawnNode([...extra, 'node_modules/@y/websocket-server/src/server.js'], {
    HOST: '127.0.0.1',
    PORT: String(port),
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUp(base, proc);
  return { proc, base, probe };
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

// ---- load-generating workers ----------------------------------------------------------------

/** Forks a client process under a raised fd limit (sh execs node, so the pid is node's). */
function forkWorker(): ChildProcess {
  return fork(resolve(ROOT, 'bench/scale/client.ts'), [], {
    cwd: ROOT,
    execPath: 'sh',
    execArgv: [
      '-c',
      'ulimit -n "$(ulimit -Hn)" && exec "$@"',
      'sh',
      process.execPath,
      // The clients run core from its sources: a build elsewhere cannot pull dist from under them.
      '--import',
      'tsx',
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** Sends `msg` (if any) and resolves with the worker's next `reply`; rejects on its error or exit. */
function ask<T extends FromWorker['type']>(
  w: ChildProcess,
  msg: ToWorker | null,
  reply: T,
  ms: number,
): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolvePromise, reject) => {
    const done = (e: Error | null, m?: FromWorker) => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('exit', onExit);
      if (e) reject(e);
      else resolvePromise(m as Extract<FromWorker, { type: T }>);
    };
    const timer = setTimeout(() => done(new Error(`worker ${w.pid}: no '${reply}' within ${ms / 1000}s`)), ms);
    const onMessage = (m: FromWorker) => {
      if (m.type === reply) done(null, m);
      else if (m.type === 'error') done(new Error(`worker ${w.pid}: ${m.message}`));
    };
    const onExit = (code: number | null) => done(new Error(`worker ${w.pid} exited (${code})`));
    w.on('message', onMessage);
    w.on('exit', onExit);
    if (msg) w.send(msg);
  });
}

async function signTokens(): Promise<string[][]> {
  // Each client is its own admin, as in bench:sync (a user's sockets are capped at 20).
  const now = new Date();
  return Promise.all(
    Array.from({ length: DOCS }, (_, i) =>
      Promise.all(
        Array.from({ length: CLIENTS }, (_, j) =>
          signToken(SECRET, { sub: `admin-${i}-${j}`, tenant: 'bench', roles: ['admin'] }, now, 3600),
        ),
      ),
    ),
  );
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
    32,
    async (i) => {
      let res: Response;
      for (let attempt = 1; ; attempt++) {
        try {
          res = await fetch(`${base}/api/v1/processes`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `P${i}`, departments: [], definition: seedProcessDefinition }),
          });
          break;
        } catch (e) {
          // A kept-alive connection the server closed meanwhile fails the fetch: try again.
          const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
          if (attempt >= 5) throw new Error(`create process: ${cause}`);
          console.log(`  (create process ${i}: ${cause}; again)`);
          await sleep(200 * attempt);
        }
      }
      if (res.status !== 201 && res.status !== 200) throw new Error(`create process: ${res.status}`);
      names[i] = processDraftDocName(((await res.json()) as { id: string }).id);
    },
  );
  return names;
}

// ---- one run ------------------------------------------------------------------------------

interface Meters {
  servers: number[];
  workers: number[];
  pg: { db: number; all: number };
  machine: { busy: number; total: number };
  self: number;
  commits: number;
  at: number;
}

interface RunResult {
  name: string;
  instances: {
    cpu: number;
    rss: number;
    peak: number;
    fds: string;
    loop: { p99: number; worst: number; max: number; gcMs: number; gcMax: number; gcKind: string };
  }[];
  same: number[];
  cross: number[];
  expected: number;
  received: number;
  merged: number;
  perDocMb: number;
  perConnMb: number;
  baseMb: number;
  /** Writes made in the measured window, and asked for: fewer made when the load generator falls behind. */
  writes: number;
  asked: number;
  pg?: { dbCpu: number; allCpu: number; commits: number; notifies: number; notifyBytes: number };
  connect: { first: number; rest: number; total: number; createSeconds: number };
  workers: { cpu: number; loopP99: number; loopMax: number; peakMb: number };
  machine: { busy: number; total: number; self: number; load: string };
  window: number;
}

async function run(name: 'single' | 'multi' | 'relay'): Promise<RunResult> {
  const ours = name !== 'relay';
  const count = name === 'multi' ? INSTANCES : 1;
  const windowMs = (WARM_ROUNDS + ROUNDS) * RATE_MS;
  const scratch = ours ? await openScratchPostgres(PG) : null;
  const dbName = scratch ? new URL(scratch.url!).pathname.slice(1) : '';
  const heap = args.heap && name !== 'multi' ? heapFlags() : null;
  const servers: Instance[] = [];
  const workers: ChildProcess[] = [];
  let listener: postgres.Sql | null = null;
  try {
    // Migrations run on the first instance alone, then the others start.
    const release = ours ? await buildLock() : () => {};
    try {
      servers.push(ours ? await startOurs(scratch!.url!, heap?.flags ?? []) : await startRelay(heap?.flags ?? []));
      for (let k = 1; k < count; k++) servers.push(await startOurs(scratch!.url!, []));
    } finally {
      release();
    }
    const fds = servers.map((s) => {
      const l = fdLimits(s.proc.pid!);
      return `${l.soft}/${l.hard}`;
    });
    const tc = Date.now();
    const names = ours
      ? await createProcesses(servers[0]!.base, DOCS)
      : Array.from({ length: DOCS }, (_, i) => `room-${i}-${Date.now()}`);
    const tokens = ours ? await signTokens() : null;
    const createSeconds = (Date.now() - tc) / 1000;

    // Doc i goes to worker i mod WORKERS: every worker writes in every 50 ms slice.
    const bases = servers.map((s) => s.base);
    for (let w = 0; w < WORKERS; w++) workers.push(forkWorker());
    await Promise.all(
      workers.map((proc, w) => {
        const docs: WorkerDoc[] = [];
        for (let i = w; i < DOCS; i += WORKERS) docs.push({ index: i, name: names[i]!, tokens: tokens?.[i] });
        return ask(
          proc,
          { type: 'init', ours, clients: CLIENTS, bases, docs, parallel: CONNECT_PARALLEL },
          'ready',
          60_000,
        );
      }),
    );
    await sleep(1000);
    const pid0 = servers[0]!.proc.pid!;
    const rss0 = memMb(pid0, 'VmRSS');
    const heap0 = heap ? summarize(await snapshot(pid0, heap.dir)) : null;

    // Connecting: client 0 of every doc (each doc loaded), then the others.
    const connectMs = Math.max(10_000, left() - windowMs - 40_000);
    const t0 = Date.now();
    await Promise.all(workers.map((w) => ask(w, { type: 'connect', phase: 'first' }, 'connected', connectMs)));
    const first = (Date.now() - t0) / 1000;
    await sleep(1000);
    const rss1 = memMb(pid0, 'VmRSS');
    const heap1 = heap ? summarize(await snapshot(pid0, heap.dir)) : null;
    const t1 = Date.now();
    await Promise.all(
      workers.map((w) =>
        ask(w, { type: 'connect', phase: 'rest' }, 'connected', Math.max(10_000, left() - windowMs - 30_000)),
      ),
    );
    const rest = (Date.now() - t1) / 1000;
    const total = (Date.now() - t0) / 1000;
    await sleep(1000);
    const rss2 = memMb(pid0, 'VmRSS');
    // Per connection: the step from 1 to CLIENTS clients per doc; per loaded doc: the first
    // step less one connection. RSS, so garbage not yet collected is in it (rough figures).
    const perConnMb = CLIENTS > 1 && count === 1 ? (rss2 - rss1) / (DOCS * (CLIENTS - 1)) : NaN;
    const perDocMb = count === 1 ? (rss1 - rss0) / DOCS - (Number.isNaN(perConnMb) ? 0 : perConnMb) : NaN;

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
    const meter = async (): Promise<Meters> => {
      const m = {
        servers: servers.map((s) => cpuSeconds(s.proc.pid!)),
        workers: workers.map((w) => cpuSeconds(w.pid!)),
        pg: postgresCpu(dbName),
        machine: machineCpu(),
        self: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
        commits: 0,
        at: Date.now(),
      };
      m.commits = await commits();
      return m;
    };

    // The writes: on the workers' common schedule; the meters over the measured rounds.
    if (left() < windowMs + 20_000) throw new Error('not enough time left for the measured window');
    const startAt = Date.now() + 1000;
    const warmEnd = startAt + WARM_ROUNDS * RATE_MS;
    const endAt = warmEnd + ROUNDS * RATE_MS;
    const at = (t: number, f: () => Promise<Meters>) =>
      new Promise<Meters>((r) => setTimeout(() => void f().then(r), Math.max(0, t - Date.now())));
    const m0 = at(warmEnd, async () => {
      counting = true;
      return meter();
    });
    const m1 = at(endAt, async () => {
      counting = false;
      return meter();
    });
    const results: WorkerResult[] = (
      await Promise.all(
        workers.map((w) =>
          ask(
            w,
            { type: 'run', startAt, rateMs: RATE_MS, warmRounds: WARM_ROUNDS, rounds: ROUNDS },
            'result',
            windowMs + 60_000,
          ),
        ),
      )
    ).map((m) => m.result);
    const [a, b] = [await m0, await m1];
    const window = (b.at - a.at) / 1000;
    const load = readFileSync('/proc/loadavg', 'utf8').trim();
    const result: RunResult = {
      name,
      instances: servers.map((s, k) => ({
        cpu: b.servers[k]! - a.servers[k]!,
        rss: memMb(s.proc.pid!, 'VmRSS'),
        peak: memMb(s.proc.pid!, 'VmHWM'),
        fds: fds[k]!,
        loop: serverLoop(s.probe, a.at, b.at),
      })),
      same: results.flatMap((r) => r.same),
      cross: results.flatMap((r) => r.cross),
      expected: results.reduce((s, r) => s + r.expected, 0),
      received: results.reduce((s, r) => s + r.received, 0),
      merged: results.reduce((s, r) => s + r.merged, 0),
      writes: results.reduce((s, r) => s + r.writes, 0),
      asked: results.reduce((s, r) => s + r.asked, 0),
      perDocMb,
      perConnMb,
      baseMb: rss0,
      connect: { first, rest, total, createSeconds },
      workers: {
        cpu: b.workers.reduce((s, x, k) => s + x - a.workers[k]!, 0),
        loopP99: Math.max(...results.map((r) => r.loop.p99)),
        loopMax: Math.max(...results.map((r) => r.loop.max)),
        peakMb: Math.max(...workers.map((w) => memMb(w.pid!, 'VmHWM'))),
      },
      machine: {
        busy: b.machine.busy - a.machine.busy,
        total: b.machine.total - a.machine.total,
        self: b.self - a.self,
        load,
      },
      window,
      pg: scratch
        ? {
            dbCpu: b.pg.db - a.pg.db,
            allCpu: b.pg.all - a.pg.all,
            commits: b.commits - a.commits,
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
    // Workers first (their sockets close with them), then the servers.
    await Promise.all(
      workers.map(async (w) => {
        if (w.exitCode !== null || w.signalCode !== null) return;
        const exited = new Promise((r) => w.once('exit', r));
        try {
          w.send({ type: 'close' } satisfies ToWorker);
        } catch {
          w.kill('SIGKILL');
        }
        const late = setTimeout(() => w.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(late);
      }),
    );
    await listener?.end({ timeout: 1 }).catch(() => {});
    for (const s of servers) await stop(s.proc);
    await scratch?.close().catch(() => {});
    if (heap && !process.env.KEEP_HEAP) removeDir(heap.dir);
  }
}

// ---- report -------------------------------------------------------------------------------

const deadline = setTimeout(() => {
  console.log(`\ntime bound (${DEADLINE_SECONDS}s) reached: stopping with what is printed`);
  removeDir(probeDir);
  process.exit(2);
}, DEADLINE_SECONDS * 1000);
deadline.unref();

const NCPU = cpus().length;
console.log(
  `scale-out: ${DOCS} docs × ${CLIENTS} clients (${DOCS * CLIENTS} connections), a write per doc every ${RATE_MS} ms ` +
    `(${((DOCS * 1000) / RATE_MS).toFixed(0)} updates/s, ${(((CLIENTS - 1) * DOCS * 1000) / RATE_MS).toFixed(0)} deliveries/s), ` +
    `${SECONDS}s measured after ${(WARM_ROUNDS * RATE_MS) / 1000}s of warm-up; our server ${DIST ? 'compiled (node packages/server/dist/main.js)' : 'from src through tsx'}`,
);
const fdSelf = fdLimits('self');
console.log(
  `clients: ${WORKERS} worker processes of ~${Math.ceil(DOCS / WORKERS) * CLIENTS} sockets, ${CONNECT_PARALLEL} connecting at once in each; ` +
    `fd limit ${fdSelf.soft}/${fdSelf.hard} (soft/hard), raised to the hard limit for servers and workers by \`ulimit -n\` in the spawning shell`,
);
console.log(`machine: ${NCPU} CPUs; load average before: ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`);

const title = (name: string) =>
  name === 'single' ? 'ours, 1 instance' : name === 'multi' ? `ours, ${INSTANCES} instances` : '@y/websocket-server';
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
    const share = (s: number) => `${((s / r.window) * 100).toFixed(0)}%`;
    console.log(
      `${title(name)}: connected in ${r.connect.total.toFixed(0)}s (first client of each doc ${r.connect.first.toFixed(0)}s, the rest ${r.connect.rest.toFixed(0)}s)` +
        (r.pg ? `; ${DOCS} processes created and tokens signed in ${r.connect.createSeconds.toFixed(0)}s` : ''),
    );
    console.log(
      `  propagation p50 ${pct(all, 50).toFixed(1)} ms, p99 ${pct(all, 99).toFixed(1)} ms over ${all.length} deliveries; missed ${r.expected - r.received} of ${r.expected}` +
        (r.merged ? ` (${r.merged} arrived merged into a later write's update, timed from their own write)` : ''),
    );
    if (name === 'multi')
      console.log(
        `  same instance p50/p99 ${pct(r.same, 50).toFixed(1)}/${pct(r.same, 99).toFixed(1)} ms (${r.same.length}), cross-instance ${pct(r.cross, 50).toFixed(1)}/${pct(r.cross, 99).toFixed(1)} ms (${r.cross.length})`,
      );
    console.log(
      `  writes made ${r.writes} of ${r.asked} asked (${((100 * r.writes) / r.asked).toFixed(0)}%; fewer when a worker's event loop falls behind)`,
    );
    r.instances.forEach((x, k) =>
      console.log(
        `  instance ${k}: cpu ${x.cpu.toFixed(1)} s (${share(x.cpu)} of a core), event-loop delay p99 ${x.loop.p99.toFixed(0)} ms (median second; worst second ${x.loop.worst.toFixed(0)}, max ${x.loop.max.toFixed(0)}), ` +
          `GC ${x.loop.gcMs.toFixed(0)} ms in all (longest pause ${x.loop.gcMax.toFixed(0)} ms, ${x.loop.gcKind}), ` +
          `RSS ${x.rss.toFixed(0)} MB (peak ${x.peak.toFixed(0)}), fd limit ${x.fds}`,
      ),
    );
    if (name !== 'multi')
      console.log(
        `  memory: ${r.baseMb.toFixed(0)} MB before connecting, ${mb(r.perDocMb)} per loaded doc, ${mb(r.perConnMb)} per connection (RSS steps)`,
      );
    if (r.pg)
      console.log(
        `  PostgreSQL: cpu ${r.pg.dbCpu.toFixed(1)} s in this database's backends, ${r.pg.allCpu.toFixed(1)} s all its processes; ` +
          `${(r.pg.commits / r.window).toFixed(0)} commits/s; NOTIFY ${(r.pg.notifies / r.window).toFixed(0)}/s, ${(r.pg.notifyBytes / r.window / 1024).toFixed(1)} KB/s`,
      );
    const serverCpu = r.instances.reduce((s, x) => s + x.cpu, 0);
    const other = r.machine.busy - serverCpu - r.workers.cpu - (r.pg?.allCpu ?? 0) - r.machine.self;
    console.log(
      `  load generator: ${WORKERS} workers, cpu ${r.workers.cpu.toFixed(1)} s (${share(r.workers.cpu)} of a core), ` +
        `event-loop delay p99 ${r.workers.loopP99.toFixed(0)} ms (max ${r.workers.loopMax.toFixed(0)}) in the worst worker, peak RSS ${r.workers.peakMb.toFixed(0)} MB each at most`,
    );
    console.log(
      `  machine over the ${r.window.toFixed(0)}s window: ${((r.machine.busy / r.machine.total) * 100).toFixed(0)}% busy of ${NCPU} CPUs ` +
        `(server${count(name) > 1 ? 's' : ''} ${share(serverCpu)}, workers ${share(r.workers.cpu)}, PostgreSQL ${share(r.pg?.allCpu ?? 0)}, ` +
        `bench ${share(r.machine.self)}, other work ${share(Math.max(0, other))} of a core); load average ${r.machine.load}`,
    );
    console.log('');
  } catch (e) {
    console.log(`${name}: failed: ${(e as Error).message}\n`);
  }
}
function count(name: string) {
  return name === 'multi' ? INSTANCES : 1;
}
const p99 = (r?: RunResult) => (r ? pct([...r.same, ...r.cross], 99) : NaN);
const p50 = (r?: RunResult) => (r ? pct([...r.same, ...r.cross], 50) : NaN);
const single = results.get('single');
const relay = results.get('relay');
const multi = results.get('multi');
if (single && relay)
  console.log(
    `ours (1 instance) / relay: p50 ${(p50(single) / p50(relay)).toFixed(2)}, p99 ${(p99(single) / p99(relay)).toFixed(2)} (goal ≤ 1.2), ` +
      `cpu ${(single.instances[0]!.cpu / relay.instances[0]!.cpu).toFixed(2)}, RSS ${(single.instances[0]!.peak / relay.instances[0]!.peak).toFixed(2)}`,
  );
if (single && multi)
  console.log(
    `${INSTANCES} instances / 1 instance: p99 ${(p99(multi) / p99(single)).toFixed(2)}, cross-instance p99 ${(pct(multi.cross, 99) / p99(single)).toFixed(2)} (goal ≤ 2), ` +
      `cpu summed ${(multi.instances.reduce((s, x) => s + x.cpu, 0) / single.instances[0]!.cpu).toFixed(2)}`,
  );
if (results.size) {
  console.log(
    '\n| | p50 / p99 ms | missed | writes made | server CPU % of a core, loop p99 ms | RSS MB | workers CPU, loop p99 | machine busy |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, r] of results) {
    const all = [...r.same, ...r.cross];
    const lat =
      name === 'multi'
        ? `${pct(all, 50).toFixed(1)} / ${pct(all, 99).toFixed(0)} (cross ${pct(r.cross, 50).toFixed(1)} / ${pct(r.cross, 99).toFixed(0)})`
        : `${pct(all, 50).toFixed(1)} / ${pct(all, 99).toFixed(0)}`;
    console.log(
      `| ${title(name)} | ${lat} | ${r.expected - r.received} | ${((100 * r.writes) / r.asked).toFixed(0)}% | ` +
        `${r.instances.map((x) => `${((x.cpu / r.window) * 100).toFixed(0)}%, ${x.loop.p99.toFixed(0)}`).join('; ')} | ${r.instances.map((x) => x.peak.toFixed(0)).join(', ')} | ` +
        `${((r.workers.cpu / r.window) * 100).toFixed(0)}%, ${r.workers.loopP99.toFixed(0)} ms | ${((r.machine.busy / r.machine.total) * 100).toFixed(0)}% (load ${r.machine.load.split(' ')[0]}) |`,
    );
  }
}
removeDir(probeDir);
process.exit(0);
