/**
 * The funnel endpoint on 1,000,000 opportunities with history in PostgreSQL: latency
 * (cold, then p50/p95 warm) next to the fastest hand-written SQL for the same figures,
 * in one run, as a ratio. Goal (issue 8): p95 < 300 ms and ≤ 1.5× the hand-written query.
 *
 *   pnpm bench:funnel      (BENCH_DATABASE_URL, OPPORTUNITIES=1000000, RUNS=30)
 *
 * The data is generated once into database sp_funnel_bench (pnpm seed:large's generator)
 * and reused by later runs.
 */
import { createServer, signToken } from '@sales-process/server';
import { openDatabase } from '@sales-process/server';
import { seedLarge } from '../packages/server/src/tools/seed-large.js';
import pino from 'pino';
import postgres from 'postgres';

const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.OPPORTUNITIES ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 30);
const url = new URL(base);
url.pathname = '/sp_funnel_bench';
const SECRET = 'bench-secret-0123456789abcdef0123456789';

const admin = postgres(base, { max: 1, onnotice: () => {} });
const exists = (await admin`select 1 from pg_database where datname = 'sp_funnel_bench'`).length > 0;
let seeded = 0;
if (exists) {
  const c = postgres(url.toString(), { max: 1, onnotice: () => {} });
  seeded = Number((await c`select count(*) as n from opportunities where tenant_id = 'large'`.catch(() => [{ n: 0 }]))[0]!.n);
  await c.end();
}
if (seeded !== N) {
  console.log(`generating ${N} opportunities with history (once)…`);
  await admin.unsafe('drop database if exists sp_funnel_bench with (force)');
  await admin.unsafe('create database sp_funnel_bench');
  await seedLarge(url.toString(), undefined, N, 'large', (m) => console.log(`  ${m}`));
}
await admin.end();

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
async function timeIt(fn: () => Promise<unknown>) {
  const s = performance.now();
  await fn();
  return performance.now() - s;
}

const database = await openDatabase({ url: url.toString() });
const server = await createServer({ database, authSecret: SECRET, logger: pino({ level: 'warn' }), schedulerIntervalMs: 0 });
const raw = postgres(url.toString(), { max: 4, onnotice: () => {} });
const [{ id: processId }] = await raw`select id from processes where tenant_id = 'large' order by name limit 1`;
const [{ n: inProcess }] = await raw`select count(*)::int as n from opportunities where tenant_id = 'large' and process_id = ${processId}`;
const token = await signToken(SECRET, { sub: 'ana', tenant: 'large', roles: ['analyst'] }, new Date(), 3600);
const call = async () => {
  const res = await server.fetch(new Request(`http://bench/api/v1/analytics/funnel?processId=${processId}`, { headers: { authorization: `Bearer ${token}` } }));
  if (res.status !== 200) throw new Error(await res.text());
  return res.json();
};
// The same figures by hand: the two aggregates, straight through postgres.js, in parallel.
const hand = () =>
  Promise.all([
    raw`select o.process_version, o.status, o.phase, o.stage_id, o.max_stage_index, to_char(o.expected_close_date, 'YYYY-MM') as month,
          count(*)::int as n, sum(o.amount)::float8 as amount,
          sum(extract(epoch from (o.closed_at - o.created_at)) / 86400) filter (where o.status = 'won')::float8 as won_days
        from opportunities o where o.tenant_id = 'large' and o.process_id = ${processId} group by 1, 2, 3, 4, 5, 6`,
    raw`select from_stage_id, avg(days_spent)::float8, percentile_cont(0.5) within group (order by days_spent)::float8
        from stage_history where tenant_id = 'large' and process_id = ${processId} and from_stage_id is not null and days_spent is not null and action <> 'migrate'
        group by 1`,
  ]);

console.log(`\nfunnel of one process: ${inProcess} of ${N} opportunities, ${RUNS} warm runs each`);
const coldOurs = await timeIt(call);
const coldHand = await timeIt(hand);
const ours: number[] = [];
const theirs: number[] = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(await timeIt(call));
  theirs.push(await timeIt(hand));
}
const f = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
console.log(`                      cold        p50        p95`);
console.log(`funnel endpoint   ${f(coldOurs)} ${f(pct(ours, 50))} ${f(pct(ours, 95))}`);
console.log(`hand-written SQL  ${f(coldHand)} ${f(pct(theirs, 50))} ${f(pct(theirs, 95))}`);
console.log(`\nratio p50 ${(pct(ours, 50) / pct(theirs, 50)).toFixed(2)}, p95 ${(pct(ours, 95) / pct(theirs, 95)).toFixed(2)}   goal: p95 < 300 ms and ≤ 1.5×`);
const figures = (await call()) as { total: number; diagnosis: { shape: string } };
console.log(`(figures: ${figures.total} opportunities, shape ${figures.diagnosis.shape})`);
await raw.end();
await server.close();
await database.close();
