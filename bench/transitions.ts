/**
 * Validated stage transitions per second against PostgreSQL, next to a plain
 * pgbench-style single-row update transaction rate on the same database, in one run.
 *
 *   pnpm bench:transitions          (BENCH_DATABASE_URL, WORKERS=8,32, BENCH_SECONDS, ROUNDS,
 *                                    PIN=1, SERVER_NODE_FLAGS, DATABASE_POOL, SERVER=src)
 *
 * Each concurrency level in WORKERS is measured on both sides alike (the plain side with a
 * connection per worker, as pgbench -c N); the headline compares each side's peak rate.
 * The server runs in its own process, compiled, as `pnpm start` runs it (`pnpm build` first;
 * SERVER=src runs its sources through tsx); with PIN=1 it is pinned to CPU 0 and
 * this process, the load generator (one lean keep-alive connection per worker), to CPU 1. A Unix socket URL
 * (`...?host=/var/run/postgresql`) serves both sides alike. Each worker owns one
 * opportunity and alternates complete-stage (初次拜访 → 需求分析匹配) and move-back over
 * HTTP keep-alive: auth, validation, the rule engine, the write, the history row and the
 * response view. The plain side, from this process with the same concurrency: `begin;
 * update bench_rows set n = n + 1 where id = $1; commit` on the worker's own row.
 * Goals: issue 4, ours ≥ 0.5 × plain (peak against peak; each level's ratio is printed too);
 * issue 22, ≥ 0.5 at 8 clients and ≥ 0.8 peak against peak.
 *
 * Batched (issue 21, BATCH_CLIENTS=8 (0 leaves it out), BATCH_SIZE=100): each client owns BATCH_SIZE
 * opportunities of its own salesperson and alternates one `POST /opportunities/commands`
 * completing the stage of all of them and one moving them all back, over its own keep-alive
 * connection. Counted in moves per second (every item must come back `moved`), against the
 * plain single-row update transactions per second at the same number of clients, measured in
 * the same rounds. Goal (issue 21): batched moves/s ≥ 1.0 × plain tx/s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { seedProcessDefinition } from '@sales-process/core';
import { pgClient, signToken } from '@sales-process/server';
import { freePort, openScratchPostgres } from '@sales-process/server/testing';

const url =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// Concurrency levels, each measured on both sides alike (as pgbench -c N): at 8 clients
// neither side saturates this machine, at 32 both do (their peak rates).
const LEVELS = (process.env.WORKERS ?? '8,32').split(',').map(Number);
const WORKERS = Math.max(...LEVELS);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const BATCH_CLIENTS = Number(process.env.BATCH_CLIENTS ?? 8);
const BATCH_SIZE = Number(process.env.BATCH_SIZE ?? 100);
const SECRET = 'bench-secret-0123456789abcdef0123456789';
const root = resolve(import.meta.dirname, '..');

const serverCpuSeconds = () => {
  const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
};
/** Whole-machine CPU ticks (user, system, idle+iowait) from /proc/stat. */
const machineTicks = () => {
  const [user, nice, system, idle, iowait, irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { user: user! + nice!, system: system! + irq! + softirq!, idle: idle! + iowait! };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function timed(
  label: string,
  worker: (i: number) => Promise<void>,
  workers: number,
  duration = SECONDS,
  /** What one call counts for (a batch's moves). */
  per = 1,
): Promise<number> {
  let count = 0;
  let stop = false;
  const cpu0 = process.cpuUsage();
  const server0 = serverCpuSeconds();
  const machine0 = machineTicks();
  const started = performance.now();
  const timer = setTimeout(() => (stop = true), duration * 1000);
  await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      while (!stop) {
        await worker(i);
        count++;
      }
    }),
  );
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  count *= per;
  const rate = count / seconds;
  const load = process.cpuUsage(cpu0);
  const serverCpu = serverCpuSeconds() - server0;
  const m1 = machineTicks();
  const [mu, ms, mi] = [m1.user - machine0.user, m1.system - machine0.system, m1.idle - machine0.idle];
  const pct = (x: number) => `${((x / (mu + ms + mi)) * 100).toFixed(0)}%`;
  // Who was busy: the server process and this load generator as a share of one core, and
  // the whole machine (PostgreSQL is the rest).
  console.log(
    `  ${label.padEnd(30)} ${rate.toFixed(0).padStart(6)} /s  (${count} in ${duration}s, ${workers} workers; busy: server ${((serverCpu / seconds) * 100).toFixed(0)}%, load generator ${(((load.user + load.system) / 1e6 / seconds) * 100).toFixed(0)}%; machine: user ${pct(mu)}, system ${pct(ms)}, idle ${pct(mi)})`,
  );
  return rate;
}

// A scratch database, migrated by the server on start.
/** SERVER=src runs the server from its sources through tsx; by default it runs as `pnpm start` does, compiled. */
const FROM_SOURCES = process.env.SERVER === 'src';
if (!FROM_SOURCES && !existsSync(resolve(root, 'packages/server/dist/main.js'))) {
  console.error('packages/server/dist/main.js is missing: run `pnpm build` first (or SERVER=src)');
  process.exit(1);
}
const scratch = await openScratchPostgres(url);
const port = await freePort();
const pin = process.env.PIN === '1' && spawnSync('sh', ['-c', 'command -v taskset']).status === 0;
const args = [
  ...(process.env.SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
  ...(FROM_SOURCES ? ['--import', 'tsx', 'packages/server/src/main.ts'] : ['packages/server/dist/main.js']),
];
const server = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, ...args] : args, {
  cwd: root,
  env: {
    ...process.env,
    DATABASE_URL: scratch.url,
    AUTH_SECRET: SECRET,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
  detached: true,
});
// However this process ends, the server (its own process group) ends with it.
process.on('exit', () => {
  try {
    process.kill(-server.pid!, 'SIGKILL');
  } catch {}
});
if (pin) spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
const base = `http://127.0.0.1:${port}/api/v1`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
  } catch {}
  if (i > 100) throw new Error('server did not start');
  await new Promise((r) => setTimeout(r, 200));
}

const tokens = new Map<string, string>();
// Setup: node:http with keep-alive rather than fetch: fetch costs the load generator several
// times the CPU per request, and on a small machine it takes that from the server.
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(WORKERS, BATCH_CLIENTS) + 2 });
async function call(user: string, roles: string[], method: string, path: string, body?: unknown) {
  const key = `${user}:${roles}`;
  if (!tokens.has(key))
    tokens.set(key, await signToken(SECRET, { sub: user, tenant: 'bench', roles }, new Date(), 3600));
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<{ status: number; body: any }>((done, fail) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${tokens.get(key)}`,
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          done({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
        );
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
}
const admin = (m: string, p: string, b?: unknown) => call('admin', ['admin'], m, p, b);

/**
 * Keep-alive HTTP/1.1, one request at a time: each worker's own connection for the
 * measured requests. node:http costs the load generator about 0.2 ms of CPU a request,
 * which on a small machine it takes from the server and PostgreSQL; this costs a fraction.
 * Reconnects when the server has closed an idle connection (between measurements).
 */
class Connection {
  private socket: Socket | null = null;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { done: (r: { status: number; body: any }) => void; fail: (e: Error) => void } | null = null;
  constructor(private readonly port: number) {}

  async request(method: string, path: string, token: string, body: string) {
    const socket = this.socket ?? (await this.open());
    return new Promise<{ status: number; body: any }>((done, fail) => {
      this.waiting = { done, fail };
      socket.write(
        `${method} /api/v1${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  }
  close() {
    this.socket?.destroy();
  }

  private open() {
    return new Promise<Socket>((done, fail) => {
      const socket = connect(this.port, '127.0.0.1', () => {
        socket.off('error', fail);
        socket.setNoDelay(true);
        socket.on('data', (chunk: Buffer) => this.received(chunk));
        socket.on('error', () => {}); // 'close' follows
        socket.on('close', () => {
          this.socket = null;
          this.buffered = Buffer.alloc(0);
          this.settle()?.fail(new Error('connection closed mid-request'));
        });
        done((this.socket = socket));
      });
      socket.once('error', fail);
    });
  }
  private settle() {
    const waiting = this.waiting;
    this.waiting = null;
    return waiting;
  }
  private received(chunk: Buffer) {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.settle()?.fail(new Error(`no content-length in ${head}`));
    const total = end + 4 + Number(length[1]);
    if (this.buffered.length < total) return;
    const body = JSON.parse(this.buffered.toString('utf8', end + 4, total));
    this.buffered = this.buffered.subarray(total);
    this.settle()?.done({ status: Number(head.slice(9, 12)), body });
  }
}

await admin('POST', '/directory/sync', {
  departments: [{ id: 'sales', name: '销售部' }],
  users: [
    { id: 'admin', name: 'A', departmentId: 'sales' },
    ...Array.from({ length: WORKERS }, (_, i) => ({
      id: `rep${i}`,
      name: `R${i}`,
      departmentId: 'sales',
      managerId: 'admin',
    })),
    ...Array.from({ length: BATCH_CLIENTS }, (_, i) => ({
      id: `brep${i}`,
      name: `B${i}`,
      departmentId: 'sales',
      managerId: 'admin',
    })),
  ],
});
const processId = (await admin('POST', '/processes', { name: 'P', departments: [], definition: seedProcessDefinition }))
  .body.id;
const opps: string[] = [];
for (let i = 0; i < WORKERS; i++) {
  const customerId = (await admin('POST', '/customers', { name: `C${i}`, fields: { industry: 'it' } })).body.id;
  await admin('POST', `/customers/${customerId}/contacts`, { name: 'a' });
  await admin('POST', `/customers/${customerId}/contacts`, { name: 'b' });
  const id = (
    await call(`rep${i}`, ['sales'], 'POST', '/opportunities', { name: `O${i}`, customerId, amount: 1000, processId })
  ).body.id;
  await call(`rep${i}`, ['sales'], 'PUT', `/opportunities/${id}/stage-form`, { values: { visitNotes: 'x' } });
  opps.push(id);
}
// The batched side: each client's salesperson, one customer with two contacts, BATCH_SIZE
// opportunities with their visit notes (the first stage's gates met), as for the single side.
const batchBodies = await Promise.all(
  Array.from({ length: BATCH_CLIENTS }, async (_, i) => {
    const user = `brep${i}`;
    const customerId = (await admin('POST', '/customers', { name: `BC${i}`, fields: { industry: 'it' } })).body.id;
    await admin('POST', `/customers/${customerId}/contacts`, { name: 'a' });
    await admin('POST', `/customers/${customerId}/contacts`, { name: 'b' });
    const ids: string[] = [];
    for (let k = 0; k < BATCH_SIZE; k++) {
      const id = (
        await call(user, ['sales'], 'POST', '/opportunities', {
          name: `B${i}-${k}`,
          customerId,
          amount: 1000,
          processId,
        })
      ).body.id;
      await call(user, ['sales'], 'PUT', `/opportunities/${id}/stage-form`, { values: { visitNotes: 'x' } });
      ids.push(id);
    }
    return {
      token: await signToken(SECRET, { sub: user, tenant: 'bench', roles: ['sales'] }, new Date(), 3600),
      forward: JSON.stringify({ commands: ids.map((opportunityId) => ({ opportunityId, type: 'completeStage' })) }),
      back: JSON.stringify({
        commands: ids.map((opportunityId) => ({ opportunityId, type: 'moveBack', stageId: 'visit' })),
      }),
    };
  }),
);
const batchForward = new Array<boolean>(BATCH_CLIENTS).fill(true);
const batchConnections = batchBodies.map(() => new Connection(port));
const batched = async (i: number) => {
  const b = batchBodies[i]!;
  const r = await batchConnections[i]!.request(
    'POST',
    '/opportunities/commands',
    b.token,
    batchForward[i] ? b.forward : b.back,
  );
  if (r.status !== 200 || r.body.items.some((x: { result: string }) => x.result !== 'moved'))
    throw new Error(`batch not moved: ${JSON.stringify(r.body).slice(0, 500)}`);
  batchForward[i] = !batchForward[i];
};

const forward = new Array<boolean>(WORKERS).fill(true);
const connections = opps.map(() => new Connection(port));
const repTokens = await Promise.all(
  opps.map((_, i) => signToken(SECRET, { sub: `rep${i}`, tenant: 'bench', roles: ['sales'] }, new Date(), 3600)),
);

// As pgbench -c N: one connection per worker, a client of its own for each level.
const plainClients = new Map(
  [...new Set([...LEVELS, ...(BATCH_CLIENTS ? [BATCH_CLIENTS] : [])])].map((n) => [
    n,
    pgClient(scratch.url!, { max: n, onnotice: () => {} }),
  ]),
);
const plain = plainClients.get(Math.max(WORKERS, BATCH_CLIENTS))!;
const plainTx = (n: number) => (i: number) =>
  plainClients
    .get(n)!
    .begin((tx) => tx`update bench_rows set n = n + 1 where id = ${i}`)
    .then(() => {});
await plain`create table if not exists bench_rows (id int primary key, n bigint not null default 0)`;
await plain`insert into bench_rows (id) select generate_series(0, ${Math.max(WORKERS, BATCH_CLIENTS) - 1}) on conflict do nothing`;

console.log(
  `PostgreSQL transitions benchmark: ${LEVELS.join(' and ')} workers, ${SECONDS}s per measurement, ${ROUNDS} rounds${pin ? ', server pinned to CPU 0, load on CPU 1' : ''}`,
);
const transition = async (i: number) => {
  const r = forward[i]
    ? await connections[i]!.request('POST', `/opportunities/${opps[i]}/complete-stage`, repTokens[i]!, '{}')
    : await connections[i]!.request(
        'POST',
        `/opportunities/${opps[i]}/move-back`,
        repTokens[i]!,
        '{"stageId":"visit"}',
      );
  if (r.status !== 200) throw new Error(`transition refused: ${JSON.stringify(r.body)}`);
  forward[i] = !forward[i];
};
// The server's JIT and PostgreSQL's caches warm up first: the first seconds run slower.
await timed('warm-up (not counted)', transition, WORKERS, 3);
await timed('warm-up plain (not counted)', plainTx(WORKERS), WORKERS, 3);
if (BATCH_CLIENTS) await timed('warm-up batched (not counted)', batched, BATCH_CLIENTS, 3, BATCH_SIZE);
const results = new Map<number, { ours: number[]; plain: number[] }>(LEVELS.map((n) => [n, { ours: [], plain: [] }]));
const batchResults = { moves: [] as number[], plain: [] as number[] };
for (let round = 1; round <= ROUNDS; round++) {
  console.log(`round ${round}`);
  for (const n of LEVELS) {
    results.get(n)!.ours.push(await timed(`validated transitions (HTTP)`, transition, n));
    results.get(n)!.plain.push(await timed(`plain single-row update tx`, plainTx(n), n));
  }
  if (!BATCH_CLIENTS) continue;
  batchResults.moves.push(
    await timed(`batched moves (${BATCH_SIZE}/request)`, batched, BATCH_CLIENTS, SECONDS, BATCH_SIZE),
  );
  // The plain rate at the same number of clients, in the same round (measured above when it is a level).
  const same = results.get(BATCH_CLIENTS)?.plain.at(-1);
  batchResults.plain.push(same ?? (await timed(`plain single-row update tx`, plainTx(BATCH_CLIENTS), BATCH_CLIENTS)));
}
console.log('');
for (const [n, r] of results)
  console.log(
    `${String(n).padStart(3)} workers: median validated transitions/s ${median(r.ours).toFixed(0).padStart(6)}, plain update tx/s ${median(r.plain).toFixed(0).padStart(6)}, ratio ${(median(r.ours) / median(r.plain)).toFixed(2)}${n === 8 ? '   goal ≥ 0.50 (issue 22)' : ''}`,
  );
const peakOurs = Math.max(...[...results.values()].map((r) => median(r.ours)));
const peakPlain = Math.max(...[...results.values()].map((r) => median(r.plain)));
console.log(`peak rates: validated transitions/s ${peakOurs.toFixed(0)}, plain update tx/s ${peakPlain.toFixed(0)}`);
console.log(`ratio of peaks (ours / plain): ${(peakOurs / peakPlain).toFixed(2)}   goal ≥ 0.80 (issue 22)`);
if (BATCH_CLIENTS)
  console.log(
    `batched, ${BATCH_CLIENTS} clients × ${BATCH_SIZE}-command batches: median moves/s ${median(batchResults.moves).toFixed(0)}, plain update tx/s at ${BATCH_CLIENTS} clients ${median(batchResults.plain).toFixed(0)}, ratio ${(median(batchResults.moves) / median(batchResults.plain)).toFixed(2)}×   goal ≥ 1.0×`,
  );
const history = (await call('rep0', ['sales'], 'GET', `/opportunities/${opps[0]}/history`)).body.items.length;
console.log(`(history rows written on one opportunity: ${history})`);
await Promise.all([...plainClients.values()].map((c) => c.end()));
agent.destroy();
for (const c of [...connections, ...batchConnections]) c.close();
process.kill(-server.pid!, 'SIGTERM');
await new Promise((r) => server.once('exit', r));
await scratch.close();
