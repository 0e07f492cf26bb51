/**
 * Reproduction (not a test): postgres.js 3.4.9 leaves queries pending for good after the
 * server terminates its backends (pg_terminate_backend) under concurrent load. No kit code:
 * 16 loops of one-row updates on a pool of 10, backends terminated ROUNDS times 200 ms apart,
 * then WAIT_MS (8 s) of waiting. Prints the outcome counts and how long the still-pending
 * queries have waited; exits 1 if any waited more than 5 s. ROUNDS=1 is enough; neither a short
 * reconnect backoff (BACKOFF=0.05) nor fetch_types off (NO_TYPES=1) changes it; 30 s of waiting
 * does not settle them either (longer than the 20 s backoff cap and the 30 s connect timeout).
 * Run: node --import tsx test/faults/postgres-js-stall.repro.ts [postgres://…/postgres]
 * Fixed in the kit by patches/postgres@3.4.9.patch (pnpm patchedDependencies): on a socket close, connection.js
 * rejected what was left only when the close came without an error, so queries handed to the connection between its
 * socket's 'error' and 'close' stayed in `sent` for good; it also kept the old in-flight query/errorResponse and a
 * cleared-but-non-null write timer, which mismatched or never flushed the next startup. Kept as a regression check:
 * it exits 0 with the patch.
 */
import postgres from 'postgres';

const url = process.argv[2] ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const rounds = Number(process.env.ROUNDS ?? 6);
const admin = postgres(url, { max: 1, onnotice: () => {} });
const name = `sp_stall_${Date.now().toString(36)}`;
await admin.unsafe(`create database ${name}`);
const u = new URL(url);
u.pathname = `/${name}`;
const sql = postgres(u.toString(), {
  max: 10,
  onnotice: () => {},
  connection: { application_name: 'victim' },
  ...(process.env.BACKOFF ? { backoff: () => Number(process.env.BACKOFF) } : {}),
  ...(process.env.NO_TYPES ? { fetch_types: false } : {}),
});
const check = postgres(u.toString(), { max: 1, onnotice: () => {} });
await sql`create table t (id int primary key, v int)`;
await sql`insert into t select g, 0 from generate_series(1, 40) g`;
const pending = new Map<number, number>();
const outcomes: Record<string, number> = {};
let n = 0;
let stop = false;
const loop = async () => {
  while (!stop) {
    const id = ++n;
    pending.set(id, Date.now());
    try {
      await sql`update t set v = v + 1 where id = ${1 + (id % 40)} returning id`;
      outcomes.ok = (outcomes.ok ?? 0) + 1;
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'error';
      outcomes[code] = (outcomes[code] ?? 0) + 1;
    } finally {
      pending.delete(id);
    }
  }
};
const loops = Array.from({ length: 16 }, loop);
await new Promise((r) => setTimeout(r, 500));
for (let i = 0; i < rounds; i++) {
  await check`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and application_name = 'victim'`;
  await new Promise((r) => setTimeout(r, 200));
}
await new Promise((r) => setTimeout(r, Number(process.env.WAIT_MS ?? 8000)));
const waited = [...pending.values()].map((t) => Date.now() - t).filter((ms) => ms > 5000);
console.log({ rounds, outcomes, pendingOver5s: waited.length, waitedMs: waited });
stop = true;
await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 1000))]);
await check.end();
await admin.unsafe(`drop database ${name} with (force)`);
await admin.end();
process.exit(waited.length ? 1 : 0);
