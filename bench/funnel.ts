/**
 * The funnel endpoint on 1,000,000 opportunities with history in PostgreSQL (or
 * OPPORTUNITIES of them): latency (cold, then p50/p95 warm) next to the fastest hand-written
 * SQL for the same figures, in one run, as a ratio. Goals: issue 8, p95 < 300 ms and ≤ 1.5×
 * the hand-written query; issue 22, the whole process's p95 < 100 ms at 10,000,000.
 * Then the filtered views: one department subtree and one quarter (goal, issue 21: p95 <
 * 100 ms, from the rollups: days in stage from stay_period_cells, the funnel's cells through
 * funnel_cells_period), one owner over a day-precise period (the scan path), and issue 21's
 * win/loss and stale deals of that department.
 *
 *   pnpm bench:funnel      (BENCH_DATABASE_URL, OPPORTUNITIES=1000000, RUNS=30)
 *
 * The data is generated once into database sp_funnel_bench (pnpm seed:large's generator)
 * and reused by later runs.
 */
import { createServer, signToken } from '@sales-process/server';
import { openDatabase, pgClient } from '@sales-process/server';
import { seedLarge } from '../packages/server/src/tools/seed-large.js';
import { execSync } from 'node:child_process';
import pino from 'pino';

const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.OPPORTUNITIES ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 30);
const size = (n: number) => (n % 1_000_000 === 0 ? `${n / 1_000_000}m` : n % 1000 === 0 ? `${n / 1000}k` : String(n));
// 1 M keeps the name it always had (its data stays usable); other sizes get their own.
const DB = N === 1_000_000 ? 'sp_funnel_bench' : `sp_funnel_bench_${size(N)}`;
const url = new URL(base);
url.pathname = `/${DB}`;
const SECRET = 'bench-secret-0123456789abcdef0123456789';

const admin = pgClient(base, { max: 1, onnotice: () => {} });
const exists = (await admin`select 1 from pg_database where datname = ${DB}`).length > 0;
let seeded = 0;
if (exists) {
  const c = pgClient(url.toString(), { max: 1, onnotice: () => {} });
  // Complete only with its history (the generator's last step), and from a generator that
  // writes amounts in several currencies (rates recorded: drizzle/0012 and on).
  const [{ n, h }] = await c`select (select count(*) from opportunities where tenant_id = 'large') as n,
      exists (select 1 from stage_history where tenant_id = 'large') and exists (select 1 from currency_rates where tenant_id = 'large') as h`.catch(
    () => [{ n: 0, h: false }],
  );
  seeded = h ? Number(n) : 0;
  await c.end();
}
if (seeded !== N) {
  console.log(`generating ${N} opportunities with history into ${DB} (once)…`);
  await admin.unsafe(`drop database if exists ${DB} with (force)`);
  await admin.unsafe(`create database ${DB}`);
  await seedLarge(url.toString(), undefined, N, 'large', (m) => console.log(`  ${m}`));
}
await admin.end();

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
async function timeIt(fn: () => Promise<unknown>) {
  const s = performance.now();
  await fn();
  return performance.now() - s;
}

const database = await openDatabase({ url: url.toString() });
const server = await createServer({
  database,
  authSecret: SECRET,
  logger: pino({ level: 'warn' }),
  schedulerIntervalMs: 0,
});
const raw = pgClient(url.toString(), { max: 4, onnotice: () => {} });
const [{ id: processId }] = await raw`select id from processes where tenant_id = 'large' order by name limit 1`;
const [{ n: inProcess }] =
  await raw`select count(*)::int as n from opportunities where tenant_id = 'large' and process_id = ${processId}`;
const token = await signToken(SECRET, { sub: 'ana', tenant: 'large', roles: ['analyst'] }, new Date(), 3600);
const call = async () => {
  const res = await server.fetch(
    new Request(`http://bench/api/v1/analytics/funnel?processId=${processId}`, {
      headers: { authorization: `Bearer ${token}` },
    }),
  );
  if (res.status !== 200) throw new Error(await res.text());
  return res.json();
};
// The same figures by hand, straight through postgres.js, two aggregates in parallel:
// over the trigger-kept rollups (the fastest way, so the ratio's reference: the funnel's
// cells summed over department and owner, drizzle/0014) and, for scale, over the raw rows. Amounts converted into the base currency in SQL, at the rates
// recorded (the endpoint sums per currency and converts those few sums itself).
const hand = () =>
  Promise.all([
    raw`select c.process_version, c.status, c.phase, c.stage_id, c.max_stage_index, c.close_month, sum(c.n)::int,
          sum(c.amount * case when c.currency = t.base_currency then 1 else r.rate end)::float8, sum(c.won_days)::float8
        from funnel_process_cells c join tenants t on t.id = c.tenant_id
          left join currency_rates r on r.tenant_id = c.tenant_id and r.currency = c.currency
        where c.tenant_id = 'large' and c.process_id = ${processId} group by 1, 2, 3, 4, 5, 6 having sum(c.n) <> 0`,
    raw`select stage_id, (sum(days * n) / max(total))::float8,
          ((min(days) filter (where below > floor((total - 1) / 2.0)) + min(days) filter (where below > ceil((total - 1) / 2.0))) / 2)::float8
        from (select stage_id, days, n, sum(n) over (partition by stage_id order by days) as below, sum(n) over (partition by stage_id) as total
              from (select stage_id, days, sum(n) as n from stay_cells where tenant_id = 'large' and process_id = ${processId}
                    group by stage_id, days having sum(n) > 0) stripes) c
        group by 1`,
  ]);
const handRaw = () =>
  Promise.all([
    raw`select o.process_version, o.status, o.phase, o.stage_id, o.max_stage_index, to_char(o.expected_close_date, 'YYYY-MM') as month,
          o.currency, count(*)::int as n, sum(o.amount)::float8 as amount,
          sum(extract(epoch from (o.closed_at - o.created_at)) / 86400) filter (where o.status = 'won')::float8 as won_days
        from opportunities o where o.tenant_id = 'large' and o.process_id = ${processId} group by 1, 2, 3, 4, 5, 6, 7`,
    raw`select from_stage_id, avg(days_spent)::float8, percentile_cont(0.5) within group (order by days_spent)::float8
        from stage_history where tenant_id = 'large' and process_id = ${processId} and from_stage_id is not null and days_spent is not null and action <> 'migrate'
        group by 1`,
  ]);
// What a filtered view costs: one department subtree and one quarter (rollup), and one
// owner over a day-precise period (the scan path).
const filtered = (query: string) => async () => {
  const res = await server.fetch(
    new Request(`http://bench/api/v1/analytics/funnel?processId=${processId}&${query}`, {
      headers: { authorization: `Bearer ${token}` },
    }),
  );
  if (res.status !== 200) throw new Error(await res.text());
  return res.json();
};

console.log(`\nfunnel of one process: ${inProcess} of ${N} opportunities, ${RUNS} warm runs each`);
const coldOurs = await timeIt(call);
const coldHand = await timeIt(hand);
const ours: number[] = [];
const theirs: number[] = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(await timeIt(call));
  theirs.push(await timeIt(hand));
}
const rawRuns: number[] = [];
for (let i = 0; i < 5; i++) rawRuns.push(await timeIt(handRaw));
const f = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
console.log(`                            cold        p50        p95`);
console.log(
  `funnel endpoint         ${f(coldOurs)} ${f(pct(ours, 50))} ${f(pct(ours, 95))}   goal p95 < 100 ms (issue 22, 10 M): ${pct(ours, 95) < 100 ? 'met' : 'NOT met'}`,
);
console.log(`hand-written SQL        ${f(coldHand)} ${f(pct(theirs, 50))} ${f(pct(theirs, 95))}   (over the rollups)`);
console.log(
  `hand-written SQL, rows  ${'-'.padStart(10)} ${f(pct(rawRuns, 50))} ${f(pct(rawRuns, 95))}   (scanning the rows, 5 runs)`,
);
const get = (path: string) => async () => {
  const res = await server.fetch(
    new Request(`http://bench/api/v1/analytics/${path}`, { headers: { authorization: `Bearer ${token}` } }),
  );
  if (res.status !== 200) throw new Error(await res.text());
  return res.json();
};
const DEPT_QUARTER = 'departmentId=sales-east&from=2026-04-01&to=2026-06-30';
for (const [label, fn, runs] of [
  ['dept + quarter', filtered(DEPT_QUARTER), RUNS],
  ['owner + days  ', filtered('ownerId=rep7&from=2026-04-15&to=2026-06-20'), 10],
  ['win/loss, dept + quarter', get(`win-loss?processId=${processId}&${DEPT_QUARTER}&period=month`), 10],
  ['stale deals, dept', get(`stale-deals?processId=${processId}&departmentId=sales-east`), 10],
] as const) {
  await fn(); // cold
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await timeIt(fn));
  const goal = label === 'dept + quarter' ? `   goal p95 < 100 ms: ${pct(xs, 95) < 100 ? 'met' : 'NOT met'}` : '';
  console.log(`endpoint, ${label.padEnd(24)} ${f(pct(xs, 50))} ${f(pct(xs, 95))}   (${runs} runs)${goal}`);
}
console.log(
  `\nratio to the fastest hand-written SQL: p50 ${(pct(ours, 50) / pct(theirs, 50)).toFixed(2)}, p95 ${(pct(ours, 95) / pct(theirs, 95)).toFixed(2)}   goal: p95 < 300 ms and ≤ 1.5×`,
);
const figures = (await call()) as {
  total: number;
  diagnosis: { shape: string };
  currency: string;
  rates: Record<string, number>;
};
console.log(
  `(figures: ${figures.total} opportunities, shape ${figures.diagnosis.shape}, in ${figures.currency} converted from ${Object.keys(figures.rates).join(', ') || 'nothing'})`,
);
const [{ bytes }] = await raw`select pg_database_size(current_database())::float8 as bytes`;
console.log(`database ${DB}: ${(bytes / 2 ** 30).toFixed(2)} GiB; machine: ${execSync('uptime').toString().trim()}`);
await raw.end();
await server.close();
await database.close();
