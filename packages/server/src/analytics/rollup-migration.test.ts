import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, migrateDatabase, openDatabase, pgClient, rowsOf, type Database } from '../db/open.js';

/**
 * drizzle/0014 adds funnel_process_cells (issue 22), funnel_cells summed over department and owner,
 * built from funnel_cells and kept by the same triggers.
 *
 * drizzle/0013 adds issue 21's rollups (outcome_cells, stay_period_cells) and builds them from
 * the rows: the same kind of database, migrated up to 0012 and filled, then to 0013.
 *
 * drizzle/0012 puts the currency into the funnel rollup's key and rebuilds the rollup from the
 * opportunities: a database with opportunities in three currencies, migrated up to 0011 and
 * filled, then to 0012, has a rollup equal to a scan of its rows, currency by currency, and
 * the new triggers keep it so.
 */

/** The migrations folder as it was before 0012 (the journal cut there). */
function migrationsBefore(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sp-migrations-'));
  cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag.startsWith(tag));
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

const kinds: { name: string; open(): Promise<{ database: Database; drop(): Promise<void> }> }[] = [
  {
    name: 'pglite',
    open: async () => {
      const database = await openDatabase({ dataDir: 'memory://', migrate: false });
      return { database, drop: async () => {} };
    },
  },
];
const url = process.env.TEST_DATABASE_URL;
if (url)
  kinds.push({
    name: 'postgres',
    open: async () => {
      const name = `sp_test_mig_${randomBytes(4).toString('hex')}`;
      const admin = pgClient(url, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
      await admin.end();
      const u = new URL(url);
      u.pathname = `/${name}`;
      const database = await openDatabase({ url: u.toString(), migrate: false });
      return {
        database,
        drop: async () => {
          const a = pgClient(url, { max: 1, onnotice: () => {} });
          await a.unsafe(`drop database if exists ${name} with (force)`);
          await a.end();
        },
      };
    },
  });

/** The rollup's cells summed over what the funnel does not group by, and the same from the rows. */
async function rollupAndScan(database: Database) {
  const q = async (query: ReturnType<typeof sql>) =>
    rowsOf<Record<string, unknown>>(await database.db.execute(query))
      .map((r) => JSON.stringify(r))
      .sort();
  return {
    rollup:
      await q(sql`select process_version as v, status, phase, nullif(stage_id, '') as stage, max_stage_index as max,
        nullif(close_month, '') as month, currency, created_month, owner_id, sum(n)::int as n, sum(amount)::float8 as amount,
        round(sum(won_days)::numeric, 6)::float8 as won_days
      from funnel_cells group by 1, 2, 3, 4, 5, 6, 7, 8, 9 having sum(n) <> 0`),
    scan: await q(sql`select o.process_version as v, o.status, o.phase, o.stage_id as stage, o.max_stage_index as max,
        to_char(o.expected_close_date, 'YYYY-MM') as month, o.currency, to_char(o.created_at at time zone 'UTC', 'YYYY-MM') as created_month,
        o.owner_id, count(*)::int as n, sum(o.amount)::float8 as amount,
        round(coalesce(sum(extract(epoch from (o.closed_at - o.created_at)) / 86400) filter (where o.status = 'won'), 0)::numeric, 6)::float8 as won_days
      from opportunities o group by 1, 2, 3, 4, 5, 6, 7, 8, 9`),
  };
}

for (const kind of kinds) {
  describe(`migration 0012 (currency in the funnel rollup) on ${kind.name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const f of cleanup.reverse()) await f();
    });

    it('rebuilds the rollup from the opportunities, per currency, and keeps it with the new triggers', async () => {
      const { database, drop } = await kind.open();
      cleanup.push(drop, () => database.close());
      const before = migrationsBefore('0012_');
      cleanup.push(async () => rmSync(before, { recursive: true, force: true }));
      const { db } = database;
      if (database.kind === 'pglite') await migratePglite(db as never, { migrationsFolder: before });
      else await migratePostgres(db as never, { migrationsFolder: before });

      await db.execute(sql`insert into tenants (id) values ('m1')`);
      await db.execute(sql`insert into users (tenant_id, id, name) values ('m1', 'rep', 'R'), ('m1', 'rep2', 'R2')`);
      await db.execute(sql`insert into customers (id, tenant_id, name) values ('mc', 'm1', 'C')`);
      await db.execute(sql`insert into processes (id, tenant_id, name) values ('mp', 'm1', 'P')`);
      // 60 opportunities: three currencies, open and closed, two owners, two creation months.
      await db.execute(sql`insert into opportunities (id, tenant_id, name, customer_id, owner_id, department_id, amount, currency,
          expected_close_date, process_id, process_version, stage_id, status, phase, stage_entered_at, max_stage_index,
          created_at, closed_at, updated_at)
        select 'mo' || i, 'm1', 'O', 'mc', case when i % 2 = 0 then 'rep' else 'rep2' end, null, 100 * i + 0.25,
          (array['CNY', 'USD', 'JPY'])[1 + (i / 3) % 3], date '2027-01-15' + (i % 4) * 31, 'mp', 1,
          case when i % 5 = 4 then null else (array['visit', 'needs', 'solution'])[1 + i % 3] end,
          case when i % 5 = 4 then 'won' when i % 7 = 0 then 'lost' else 'open' end,
          case when i % 5 = 4 then 'done' when i % 7 = 0 then 'done' else 'presale' end,
          timestamptz '2026-05-20' , i % 3, timestamptz '2026-05-20' + (i % 2) * interval '20 days',
          case when i % 5 = 4 then timestamptz '2026-08-01' + i * interval '1 hour' end, now()
        from generate_series(1, 60) i`);
      // The old rollup had no currency: one cell per key held all three.
      const old = rowsOf<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from funnel_cells where tenant_id = 'm1'`),
      )[0]!.n;

      await migrateDatabase(database);
      const after = await rollupAndScan(database);
      expect(after.rollup.length).toBeGreaterThan(old);
      expect(after.rollup).toEqual(after.scan);
      expect(new Set(after.rollup.map((r) => JSON.parse(r).currency))).toEqual(new Set(['CNY', 'USD', 'JPY']));

      // The new triggers: a currency changes, amounts move, rows come and go.
      await db.execute(sql`update opportunities set currency = 'EUR' where id in ('mo1', 'mo2')`);
      await db.execute(sql`update opportunities set amount = amount * 2, currency = 'CNY' where id = 'mo3'`);
      await db.execute(sql`update opportunities set status = 'lost', phase = 'done' where id = 'mo5'`);
      await db.execute(sql`delete from opportunities where id = 'mo6'`);
      await db.execute(sql`insert into opportunities (id, tenant_id, name, customer_id, owner_id, amount, currency, process_id,
          process_version, stage_id, status, phase, stage_entered_at, max_stage_index, created_at, updated_at)
        values ('mo99', 'm1', 'O', 'mc', 'rep', 5, 'GBP', 'mp', 1, 'visit', 'open', 'presale', now(), 0, now(), now())`);
      const kept = await rollupAndScan(database);
      expect(kept.rollup).toEqual(kept.scan);
    });
  });
}

/** Issue 21's rollups summed over what they are read by, and the same from the rows. */
async function issue21RollupsAndScans(database: Database) {
  const q = async (query: ReturnType<typeof sql>) =>
    rowsOf<Record<string, unknown>>(await database.db.execute(query))
      .map((r) => JSON.stringify(r))
      .sort();
  return {
    outcomes:
      await q(sql`select closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, sum(n)::int as n,
        sum(amount)::float8 as amount from outcome_cells group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0`),
    outcomesScan: await q(sql`select to_char(closed_at at time zone 'UTC', 'YYYY-MM') as closed_month, status,
        case when status = 'won' then '' else coalesce(stage_id, '') end as stage_id,
        case when status = 'lost' then coalesce(lost_reason, '') else '' end as lost_reason, currency,
        coalesce(department_id, '') as department_id, owner_id, count(*)::int as n, sum(amount)::float8 as amount
      from opportunities where status <> 'open' and closed_at is not null group by 1, 2, 3, 4, 5, 6, 7`),
    stays: await q(sql`select process_id, created_month, department_id, stage_id, days::float8 as days, sum(n)::int as n
      from stay_period_cells group by 1, 2, 3, 4, 5 having sum(n) <> 0`),
    staysScan: await q(sql`select h.process_id, to_char(o.created_at at time zone 'UTC', 'YYYY-MM') as created_month,
        coalesce(o.department_id, '') as department_id, h.from_stage_id as stage_id, round(h.days_spent::numeric, 2)::float8 as days, count(*)::int as n
      from stage_history h join opportunities o on o.id = h.opportunity_id
      where h.from_stage_id is not null and h.days_spent is not null and h.action <> 'migrate' group by 1, 2, 3, 4, 5`),
  };
}

for (const kind of kinds) {
  describe(`migration 0013 (win/loss and stays per period and department) on ${kind.name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const f of cleanup.reverse()) await f();
    });

    it('builds the new rollups from the rows, and the triggers keep them', async () => {
      const { database, drop } = await kind.open();
      cleanup.push(drop, () => database.close());
      const before = migrationsBefore('0013_');
      cleanup.push(async () => rmSync(before, { recursive: true, force: true }));
      const { db } = database;
      if (database.kind === 'pglite') await migratePglite(db as never, { migrationsFolder: before });
      else await migratePostgres(db as never, { migrationsFolder: before });

      await db.execute(sql`insert into tenants (id) values ('m1')`);
      await db.execute(sql`insert into users (tenant_id, id, name) values ('m1', 'rep', 'R'), ('m1', 'rep2', 'R2')`);
      await db.execute(sql`insert into customers (id, tenant_id, name) values ('mc', 'm1', 'C')`);
      await db.execute(sql`insert into processes (id, tenant_id, name) values ('mp', 'm1', 'P')`);
      // 60 opportunities: won, lost with and without reasons, invalid, open; two departments; closes across months.
      await db.execute(sql`insert into opportunities (id, tenant_id, name, customer_id, owner_id, department_id, amount, currency,
          process_id, process_version, stage_id, status, phase, stage_entered_at, max_stage_index, lost_reason, created_at, closed_at, updated_at)
        select 'mo' || i, 'm1', 'O', 'mc', case when i % 2 = 0 then 'rep' else 'rep2' end, case when i % 3 = 0 then null else 'd' || (i % 2) end,
          100 * i + 0.25, (array['CNY', 'USD'])[1 + i % 2], 'mp', 1,
          (array['visit', 'needs', 'solution'])[1 + i % 3],
          (array['won', 'lost', 'lost', 'invalid', 'open'])[1 + i % 5],
          case when i % 5 = 4 then 'presale' else 'done' end,
          timestamptz '2026-05-20', i % 3, case when i % 5 in (1, 2) and i % 4 <> 0 then (array['price', 'other'])[1 + i % 2] end,
          timestamptz '2026-05-20' + (i % 2) * interval '20 days',
          case when i % 5 <> 4 then timestamptz '2026-07-30' + i * interval '7 hours' end, now()
        from generate_series(1, 60) i`);
      await db.execute(sql`insert into stage_history (tenant_id, opportunity_id, process_id, process_version, from_stage_id, to_stage_id,
          to_status, action, at, days_spent)
        select 'm1', 'mo' || i, 'mp', 1, (array['visit', 'needs'])[1 + k], 'x', 'open', case when i = 7 then 'migrate' else 'complete' end,
          now(), i * 0.37 + k
        from generate_series(1, 60) i, generate_series(0, 1) k`);

      await migrateDatabase(database);
      const after = await issue21RollupsAndScans(database);
      expect(after.outcomes.length).toBeGreaterThan(10);
      expect(after.outcomes).toEqual(after.outcomesScan);
      expect(after.stays.length).toBeGreaterThan(10);
      expect(after.stays).toEqual(after.staysScan);

      // The triggers: a loss, a reason changed, a reopening, a department changed, a deletion, more history.
      await db.execute(
        sql`update opportunities set status = 'lost', phase = 'done', lost_reason = 'price', closed_at = now() where id = 'mo4'`,
      );
      await db.execute(sql`update opportunities set lost_reason = 'other' where id = 'mo1'`);
      await db.execute(
        sql`update opportunities set status = 'open', phase = 'presale', closed_at = null where id = 'mo2'`,
      );
      await db.execute(sql`update opportunities set department_id = 'd9' where id in ('mo3', 'mo5', 'mo6')`);
      await db.execute(sql`delete from opportunities where id in ('mo8', 'mo10')`);
      await db.execute(sql`delete from stage_history where opportunity_id = 'mo11' and from_stage_id = 'visit'`);
      await db.execute(sql`insert into stage_history (tenant_id, opportunity_id, process_id, process_version, from_stage_id, to_stage_id,
          to_status, action, at, days_spent) values ('m1', 'mo3', 'mp', 1, 'solution', 'x', 'open', 'complete', now(), 2.345)`);
      const kept = await issue21RollupsAndScans(database);
      expect(kept.outcomes).toEqual(kept.outcomesScan);
      expect(kept.stays).toEqual(kept.staysScan);
      expect(kept.stays.some((r) => JSON.parse(r).department_id === 'd9')).toBe(true);
    });
  });
}

/** funnel_process_cells and funnel_cells summed over department and owner, and the same from the rows. */
async function processCellsAndScan(database: Database) {
  const q = async (query: ReturnType<typeof sql>) =>
    rowsOf<Record<string, unknown>>(await database.db.execute(query))
      .map((r) => JSON.stringify(r))
      .sort();
  const keys = sql`process_id, process_version as v, status, phase, stage_id, max_stage_index as max, close_month, currency, created_month`;
  const sums = sql`sum(n)::int as n, sum(amount)::float8 as amount, round(sum(won_days)::numeric, 6)::float8 as won_days`;
  return {
    processCells: await q(
      sql`select ${keys}, ${sums} from funnel_process_cells group by 1, 2, 3, 4, 5, 6, 7, 8, 9 having sum(n) <> 0`,
    ),
    cells: await q(
      sql`select ${keys}, ${sums} from funnel_cells group by 1, 2, 3, 4, 5, 6, 7, 8, 9 having sum(n) <> 0`,
    ),
    scan: await q(sql`select process_id, process_version as v, status, phase, coalesce(stage_id, '') as stage_id, max_stage_index as max,
        coalesce(to_char(expected_close_date, 'YYYY-MM'), '') as close_month, currency,
        to_char(created_at at time zone 'UTC', 'YYYY-MM') as created_month, count(*)::int as n, sum(amount)::float8 as amount,
        round(coalesce(sum(extract(epoch from (closed_at - created_at)) / 86400) filter (where status = 'won' and closed_at is not null), 0)::numeric, 6)::float8 as won_days
      from opportunities group by 1, 2, 3, 4, 5, 6, 7, 8, 9`),
  };
}

for (const kind of kinds) {
  describe(`migration 0014 (the funnel's cells without department and owner) on ${kind.name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const f of cleanup.reverse()) await f();
    });

    it('builds funnel_process_cells from funnel_cells, and the triggers keep it', async () => {
      const { database, drop } = await kind.open();
      cleanup.push(drop, () => database.close());
      const before = migrationsBefore('0014_');
      cleanup.push(async () => rmSync(before, { recursive: true, force: true }));
      const { db } = database;
      if (database.kind === 'pglite') await migratePglite(db as never, { migrationsFolder: before });
      else await migratePostgres(db as never, { migrationsFolder: before });

      await db.execute(sql`insert into tenants (id) values ('m1')`);
      await db.execute(sql`insert into users (tenant_id, id, name) values ('m1', 'rep', 'R'), ('m1', 'rep2', 'R2')`);
      await db.execute(sql`insert into customers (id, tenant_id, name) values ('mc', 'm1', 'C')`);
      await db.execute(sql`insert into processes (id, tenant_id, name) values ('mp', 'm1', 'P'), ('mq', 'm1', 'Q')`);
      // 80 opportunities over two processes, two owners and departments, three currencies, open and closed.
      await db.execute(sql`insert into opportunities (id, tenant_id, name, customer_id, owner_id, department_id, amount, currency,
          expected_close_date, process_id, process_version, stage_id, status, phase, stage_entered_at, max_stage_index,
          created_at, closed_at, updated_at)
        select 'mo' || i, 'm1', 'O', 'mc', case when i % 2 = 0 then 'rep' else 'rep2' end, case when i % 3 = 0 then null else 'd' || (i % 2) end,
          100 * i + 0.25, (array['CNY', 'USD', 'JPY'])[1 + (i / 3) % 3], date '2027-01-15' + (i % 4) * 31,
          case when i % 4 = 0 then 'mq' else 'mp' end, 1 + i % 2,
          case when i % 5 = 4 then null else (array['visit', 'needs', 'solution'])[1 + i % 3] end,
          case when i % 5 = 4 then 'won' when i % 7 = 0 then 'lost' else 'open' end,
          case when i % 5 = 4 then 'done' when i % 7 = 0 then 'done' else 'presale' end,
          timestamptz '2026-05-20', i % 3, timestamptz '2026-05-20' + (i % 3) * interval '20 days',
          case when i % 5 = 4 then timestamptz '2026-08-01' + i * interval '1 hour' end, now()
        from generate_series(1, 80) i`);

      await migrateDatabase(database);
      const after = await processCellsAndScan(database);
      expect(after.processCells.length).toBeGreaterThan(10);
      expect(after.processCells).toEqual(after.cells);
      expect(after.processCells).toEqual(after.scan);

      // The triggers: moves, a win, an owner and a department changed, amounts and currencies, rows come and go.
      await db.execute(
        sql`update opportunities set stage_id = 'solution', max_stage_index = 2 where id in ('mo1', 'mo2', 'mo3')`,
      );
      await db.execute(
        sql`update opportunities set status = 'won', phase = 'done', stage_id = null, closed_at = now() where id = 'mo5'`,
      );
      await db.execute(sql`update opportunities set owner_id = 'rep', department_id = 'd9' where id in ('mo7', 'mo9')`);
      await db.execute(sql`update opportunities set amount = amount * 2, currency = 'EUR' where id = 'mo10'`);
      await db.execute(sql`delete from opportunities where id in ('mo11', 'mo12')`);
      await db.execute(sql`insert into opportunities (id, tenant_id, name, customer_id, owner_id, amount, currency, process_id,
          process_version, stage_id, status, phase, stage_entered_at, max_stage_index, created_at, updated_at)
        values ('mo99', 'm1', 'O', 'mc', 'rep', 5, 'GBP', 'mp', 1, 'visit', 'open', 'presale', now(), 0, now(), now())`);
      const kept = await processCellsAndScan(database);
      expect(kept.processCells).toEqual(kept.cells);
      expect(kept.processCells).toEqual(kept.scan);
    });
  });
}
