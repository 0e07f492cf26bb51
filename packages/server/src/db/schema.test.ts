import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Database } from './open.js';
import { testDatabases } from '../testing/harness.js';
import { loadStatement } from '../opportunities/loads.js';
import { writeMoves, type MoveRecord } from '../opportunities/moves.js';

/** The columns a stage move writes (writeMoves in opportunities/moves.ts). */
const MOVE_COLUMNS = [
  'status',
  'phase',
  'stage_id',
  'stage_entered_at',
  'stage_entry',
  'max_stage_index',
  'closed_at',
  'lost_reason',
  'updated_at',
  'rev',
];

for (const kind of testDatabases()) {
  describe(`schema on ${kind.name}`, () => {
    let database: Database;
    beforeAll(async () => {
      database = await kind.open();
    });
    afterAll(() => database.close());

    // An indexed column in a move would make every move add an entry to every index of
    // the table and leave a dead row for vacuum: the table bloats under a stream of moves.
    it('indexes none of the columns a move writes, so PostgreSQL updates the row in place', async () => {
      const indexed = rowsOf<{ column: string }>(
        await database.db.execute(sql`select distinct a.attname as column from pg_index i
          join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
          where i.indrelid = 'opportunities'::regclass`),
      ).map((r) => r.column);
      expect(indexed.length).toBeGreaterThan(0);
      expect(indexed.filter((c) => MOVE_COLUMNS.includes(c))).toEqual([]);

      // And PostgreSQL agrees: such an update is a heap-only tuple update.
      await inRolledBackTransaction(async (tx) => {
        await opportunityFixture(tx);
        await tx.execute(sql`update opportunities set status = 'won', phase = 'postsale', stage_id = 'b', stage_entered_at = now(), stage_entry = 2,
          max_stage_index = 3, closed_at = now(), lost_reason = null, updated_at = now(), rev = rev + 1 where id = 'fx-o'`);
        const [stats] = rowsOf<{ upd: number; hot: number }>(
          await tx.execute(
            sql`select n_tup_upd::int as upd, n_tup_hot_upd::int as hot from pg_stat_xact_user_tables where relname = 'opportunities'`,
          ),
        );
        expect(stats).toEqual({ upd: 1, hot: 1 });
      });
    });

    it("bumps an opportunity's rev when its approval is decided, not when a move cancels it", async () => {
      await inRolledBackTransaction(async (tx) => {
        await opportunityFixture(tx);
        const rev = async () =>
          rowsOf<{ rev: number }>(await tx.execute(sql`select rev from opportunities where id = 'fx-o'`))[0]!.rev;
        const insert = (id: string, entry: number) =>
          tx.execute(sql`insert into approvals (id, tenant_id, opportunity_id, stage_id, stage_entry, action, requested_by, approver_id, state, values, requested_at)
            values (${id}, 'fx', 'fx-o', 'a', ${entry}, 'complete', 'u', 'u', 'pending', '{}', now())`);
        await insert('fx-a1', 1);
        const requested = await rev();
        await tx.execute(sql`update approvals set state = 'cancelled' where id = 'fx-a1'`);
        expect(await rev()).toBe(requested);
        await insert('fx-a2', 2);
        const again = await rev();
        await tx.execute(sql`update approvals set state = 'approved' where id = 'fx-a2'`);
        expect(await rev()).toBe(again + 1);
        await tx.execute(sql`update approvals set decided_at = now() where id = 'fx-a2'`);
        expect(await rev()).toBe(again + 1);
      });
    });

    // With thousands of opportunities, a command must look its opportunity up by key, not
    // scan the table: the planner takes a JSON recordset for 100 rows unless told its size.
    it('loads and moves opportunities by index lookups on a table of thousands', async () => {
      await inRolledBackTransaction(async (tx) => {
        await opportunityFixture(tx);
        await tx.execute(sql`insert into opportunities (id, tenant_id, name, customer_id, owner_id, process_id, process_version, stage_id, stage_entered_at, created_at, updated_at)
          select 'fx-o' || g, 'fx', 'o', 'fx-c', 'u', 'fx-p', 1, 'a', now(), now(), now() from generate_series(1, 3000) g`);
        await tx.execute(sql`analyze opportunities`);
        const plan = async (statement: Parameters<typeof tx.execute>[0]) =>
          JSON.stringify(rowsOf<Record<string, unknown>>(await tx.execute(sql`explain (format json) ${statement}`)));
        const keys = JSON.stringify([
          { t: 'fx', i: 'fx-o7' },
          { t: 'fx', i: 'fx-o8' },
        ]);
        const load = await plan(loadStatement(tx, keys, 2).getSQL());
        expect(load).toContain('opportunities_pkey');
        expect(load).not.toMatch(/"Node Type":\s*"Seq Scan",[^}]*"Relation Name":\s*"opportunities"/);

        const at = new Date().toISOString();
        const move = (id: string): MoveRecord => ({
          id,
          rev: 0,
          new_rev: 1,
          tenant_id: 'fx',
          status: 'open',
          phase: 'presale',
          stage_id: 'b',
          stage_entered_at: at,
          stage_entry: 2,
          max_stage_index: 1,
          closed_at: null,
          lost_reason: null,
          at,
          hook_id: `h-${id}`,
          event: {},
          process_id: 'fx-p',
          process_version: 1,
          from_stage_id: 'a',
          from_status: 'open',
          action: 'complete',
          actor_id: 'u',
          days_spent: 0,
          values: {},
          comment: null,
        });
        let movePlan = '';
        await writeMoves(
          async (statement) => {
            movePlan = await plan(statement);
            return [];
          },
          [move('fx-o7'), move('fx-o8')],
        );
        expect(movePlan).toContain('opportunities_pkey');
        expect(movePlan).not.toMatch(/"Node Type":\s*"Seq Scan",[^}]*"Relation Name":\s*"opportunities"/);
      });
    });

    /** Runs `fn` in a transaction that is then rolled back: the tests share one database. */
    async function inRolledBackTransaction(
      fn: (tx: Parameters<Parameters<Database['db']['transaction']>[0]>[0]) => Promise<void>,
    ) {
      const rolledBack = new Error('rolled back');
      await database.db
        .transaction(async (tx) => {
          await fn(tx);
          throw rolledBack;
        })
        .catch((e) => {
          if (e !== rolledBack) throw e;
        });
    }

    async function opportunityFixture(tx: { execute: Database['db']['execute'] }) {
      await tx.execute(sql`insert into tenants (id, name) values ('fx', 'fx')`);
      await tx.execute(sql`insert into users (tenant_id, id, name) values ('fx', 'u', 'u')`);
      await tx.execute(
        sql`insert into customers (id, tenant_id, name, created_at, updated_at) values ('fx-c', 'fx', 'c', now(), now())`,
      );
      await tx.execute(
        sql`insert into processes (id, tenant_id, name, created_at, updated_at) values ('fx-p', 'fx', 'p', now(), now())`,
      );
      await tx.execute(sql`insert into opportunities (id, tenant_id, name, customer_id, owner_id, process_id, process_version, stage_id, stage_entered_at, created_at, updated_at)
        values ('fx-o', 'fx', 'o', 'fx-c', 'u', 'fx-p', 1, 'a', now(), now(), now())`);
    }
  });
}
