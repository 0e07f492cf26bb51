/**
 * Fills a tenant with realistic opportunities and stage history, in PostgreSQL, fast
 * (set-based SQL, deterministic random):
 *
 *   pnpm seed:large --opportunities 1000000 [--tenant large]   (DATABASE_URL, else PGlite in DATA_DIR)
 *
 * Three processes (the seed's and two variants, one with a second version), a department
 * tree, 60 salespeople, a year of creation dates, outcomes that narrow stage by stage,
 * amounts in three currencies (CNY, and USD and JPY at recorded rates, as the funnel
 * converts them), and a history row for every move with its days in stage.
 */
import { processDefinitionSchema, seedProcessDefinition } from '@sales-process/core';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pino from 'pino';
import { createServer } from '../app.js';
import { openDatabase, rowsOf } from '../db/open.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const N = Number(arg('opportunities', '100000'));
const TENANT = arg('tenant', 'large');

export async function seedLarge(
  url: string | undefined,
  dataDir: string | undefined,
  n: number,
  tenant: string,
  log = console.log,
) {
  const database = await openDatabase({ url, dataDir });
  const server = await createServer({
    database,
    authSecret: 'seed-large-secret-0123456789abcdef',
    logger: pino({ level: 'warn' }),
    schedulerIntervalMs: 0,
  });
  const s = server.services;
  const admin = { tenantId: tenant, userId: 'admin', roles: new Set(['admin'] as const) };
  await s.tenants.ensure(tenant);
  const started = performance.now();
  const departments = [
    { id: 'hq', name: '总部', parentId: null },
    { id: 'sales', name: '销售部', parentId: 'hq' },
    ...['east', 'north', 'south', 'west'].map((r) => ({ id: `sales-${r}`, name: `销售部-${r}`, parentId: 'sales' })),
    ...['east', 'north', 'south', 'west'].flatMap((r) =>
      [1, 2].map((k) => ({ id: `sales-${r}-${k}`, name: `${r} 组 ${k}`, parentId: `sales-${r}` })),
    ),
  ];
  const teams = departments.filter((d) => d.id.split('-').length === 3).map((d) => d.id);
  const users = [
    { id: 'admin', name: '管理员', departmentId: 'hq', managerId: null },
    ...teams.map((t, i) => ({ id: `mgr${i}`, name: `经理${i}`, departmentId: t, managerId: 'admin' })),
    ...Array.from({ length: 60 }, (_, i) => ({
      id: `rep${i}`,
      name: `销售${i}`,
      departmentId: teams[i % teams.length]!,
      managerId: `mgr${i % teams.length}`,
    })),
  ];
  await s.directory.sync(admin as never, { departments, users });
  const variant = processDefinitionSchema.parse({
    ...seedProcessDefinition,
    presale: [
      ...seedProcessDefinition.presale.slice(0, 2),
      { id: 'poc', name: '试点验证', winRate: 60 },
      seedProcessDefinition.presale[3]!,
    ],
    rules: { ...seedProcessDefinition.rules, orderAllowedAfterStage: 'poc' },
  });
  const processIds: string[] = [];
  for (const [name, def] of [
    ['重要客户销售流程', seedProcessDefinition],
    ['中小客户销售流程', variant],
    ['渠道销售流程', seedProcessDefinition],
  ] as const)
    processIds.push(
      (
        await s.processes.create(admin as never, {
          name: `${name} (${tenant})`,
          departments: [],
          definition: def,
          asDraft: false,
        })
      ).id,
    );
  // Most amounts in the base currency, some in two others: the funnel's cells are per currency.
  await s.tenants.currencies.replace(admin as never, {
    rates: [
      { currency: 'USD', rate: 7.1 },
      { currency: 'JPY', rate: 0.048 },
    ],
  });
  const { db } = database;
  // One session for the bulk load (its settings are its own), and one transaction: the
  // tenant appears whole or not at all, and the indexes dropped below come back on failure.
  const conn = database.reserve ? await database.reserve() : null;
  const dialect = new PgDialect();
  const run = async (query: SQL) => {
    if (!conn) return rowsOf<Record<string, unknown>>(await db.execute(query));
    const { sql: text, params } = dialect.sqlToQuery(query);
    return (await conn.unsafe(text, params as never[])) as unknown as Record<string, unknown>[];
  };
  const secs = (t = started) => `${((performance.now() - t) / 1000).toFixed(1)} s`;
  const fmt = (x: number) => x.toLocaleString('en-US');
  const [{ taken }] = await run(sql`select exists (select 1 from opportunities where tenant_id = ${tenant}) as taken`);
  if (taken) throw new Error(`tenant ${tenant} has opportunities already: seed another tenant or a fresh database`);
  // Ids zero-padded, so that each chunk appends to the primary keys' right edge.
  const width = String(n).length;
  const customers = Math.max(10, Math.floor(n / 10));
  const customerWidth = String(customers).length;
  const chunk = Math.min(500_000, Math.max(10_000, Math.ceil(n / 20)));
  // Every draw is a hash of the row's number and a salt, uniform in (0, 1): deterministic
  // whatever the chunking or the connection (random() and setseed() are per session).
  const u = (salt: number) =>
    sql.raw(`((hashint8extended(i, ${salt}) & 9007199254740991)::float8 + 0.5) / 9007199254740992`);
  const [{ t0 }] = await run(sql`select now()::text as t0`);
  const now = sql`${t0}::timestamptz`;
  const poc = (i: SQL) => sql`case when ${i} % 3 = 1 then 'poc' else 'solution' end`;
  await run(sql`begin`);
  try {
    // Bulk load: no per-row work. session_replication_role = replica skips the triggers (the
    // rollups' statement triggers and the foreign keys' per-row checks: the rows are made to
    // reference what exists); the rollups are computed below, set-based, as the triggers
    // would. Secondary indexes are rebuilt after the load (a sort each, not 10 M random
    // inserts); the primary keys stay, and the padded ids append to them.
    await run(sql`set local session_replication_role = replica`);
    await run(sql`set local synchronous_commit = off`);
    await run(sql`set local jit = off`);
    await run(sql`set local work_mem = '1GB'`);
    await run(sql`set local maintenance_work_mem = '1GB'`);
    const indexes = (await run(sql`
      select i.relname as name, pg_get_indexdef(x.indexrelid) as def
      from pg_index x join pg_class i on i.oid = x.indexrelid
      where x.indrelid in ('opportunities'::regclass, 'stage_history'::regclass)
        and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)
      order by 1`)) as { name: string; def: string }[];
    for (const ix of indexes) await run(sql`drop index ${sql.identifier(ix.name)}`);
    await run(sql`insert into customers (id, tenant_id, name, fields, created_at, updated_at)
      select 'lc_' || ${tenant} || '_' || lpad(i::text, ${customerWidth}, '0'), ${tenant}, '客户 ' || i, '{}'::jsonb, ${now}, ${now}
      from generate_series(1, ${customers}) i`);
    log(`directory, processes and ${fmt(customers)} customers in ${secs()}`);
    const loading = performance.now();
    for (let lo = 1; lo <= n; lo += chunk) {
      const hi = Math.min(n, lo + chunk - 1);
      // Each opportunity: how far it got (each stage passed with p≈0.62), its outcome, and a
      // history row for every move it made, with its days in stage.
      await run(sql`
        with g as materialized (
          select i, 'lo_' || ${tenant} || '_' || lpad(i::text, ${width}, '0') as id, 'rep' || (i % 60) as owner_id,
            (array[${sql.raw(teams.map((t) => `'${t}'`).join(','))}])[1 + (i % 60) % ${teams.length}] as department_id,
            (array[${sql.raw(processIds.map((p) => `'${p}'`).join(','))}])[1 + i % 3] as process_id,
            r_amount, r_close, created, top, currency,
            case when top = 4 then 'won'
                 when created > ${now} - interval '60 days' then 'open'
                 when r_out < 0.55 then 'lost' when r_out < 0.65 then 'invalid' else 'open' end as status
          from (
            select i, ${u(1)} as r_amount, ${u(2)} as r_close, ${u(3)} as r_out,
              ${now} - ${u(4)} * interval '365 days' as created,
              least(4, floor(ln(${u(5)}) / ln(0.62))::int) as top,
              case (hashtext('currency' || i) & 1023) % 20 when 0 then 'JPY' when 1 then 'USD' when 2 then 'USD' else 'CNY' end as currency
            from generate_series(${lo}::bigint, ${hi}::bigint) i
          ) raw
        ), o as (
          insert into opportunities (id, tenant_id, name, customer_id, owner_id, department_id, amount, currency, expected_close_date,
            process_id, process_version, stage_id, status, phase, stage_entered_at, stage_entry, max_stage_index, fields, stage_values,
            postsale_staff, created_at, closed_at, updated_at, rev)
          select id, ${tenant}, '商机 ' || i, 'lc_' || ${tenant} || '_' || lpad((1 + i % ${customers})::text, ${customerWidth}, '0'),
            owner_id, department_id,
            round(((20000 + r_amount * r_amount * 2000000) * case currency when 'USD' then 0.14 when 'JPY' then 20 else 1 end)::numeric, 2), currency,
            (created + (30 + r_close * 240) * interval '1 day')::date, process_id, 1,
            case when status = 'won' then null else (array['visit', 'needs', ${poc(sql`i`)}, 'quote'])[1 + top] end,
            status, case when status = 'open' then 'presale' else 'done' end,
            created + top * interval '12 days', 1 + top, top, '{}'::jsonb, '{}'::jsonb, '[]'::jsonb,
            created, case when status = 'open' then null else created + (top + 1) * interval '15 days' end, ${now}, 0
          from g
        )
        insert into stage_history (tenant_id, opportunity_id, process_id, process_version, from_stage_id, to_stage_id, from_status, to_status, action, actor_id, at, days_spent)
        select ${tenant}, g.id, g.process_id, 1,
          (array['visit', 'needs', ${poc(sql`g.i`)}, 'quote'])[k], (array['needs', ${poc(sql`g.i`)}, 'quote', null])[k],
          'open', case when k = 4 then 'won' else 'open' end, case when k = 4 then 'win' else 'complete' end, g.owner_id,
          g.created + k * interval '12 days', 1 + (hashint8extended(g.i * 8 + k, 6) & 32767) % 30
        from g, generate_series(1, g.top + case when g.status = 'won' then 1 else 0 end) k`);
      const done = hi / n;
      log(
        `opportunities with history: ${fmt(hi)} / ${fmt(n)} (${Math.round(done * 100)} %) in ${secs(loading)}` +
          (hi < n ? `, about ${(((performance.now() - loading) / 1000) * (1 / done - 1)).toFixed(0)} s to go` : ''),
      );
    }
    for (const ix of indexes) {
      const t = performance.now();
      await run(sql.raw(ix.def));
      log(`index ${ix.name} in ${secs(t)}`);
    }
    await run(sql`analyze opportunities`);
    await run(sql`analyze stage_history`);
    // The rollups, as the triggers (drizzle/0012, 0013) would have added these rows inserted
    // in one statement: their queries over new_rows, with new_rows the tenant's rows (it had
    // none before), and the stays' lookup of each opportunity as a join on its primary key.
    // Without the triggers' ORDER BY, which only orders row locks against concurrent writers
    // (a new tenant has none) and would sort on a dozen text keys (19 s of 24 at 1 M).
    // Hashed, not sorted on a dozen text keys: at 10 M the planner expects as many groups as
    // rows and would sort (minutes under C.UTF-8 comparisons); the cells are a few hundred
    // thousand, and a hash that outgrows work_mem spills.
    await run(sql`set local enable_sort = off`);
    let t = performance.now();
    await run(sql`
      insert into funnel_cells as c (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
      select tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
      from (
        select r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
          coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at at time zone 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
          1::bigint, r.amount, case when r.status = 'won' and r.closed_at is not null then (extract(epoch from (r.closed_at - r.created_at)) / 86400) else 0 end
        from opportunities r where r.tenant_id = ${tenant}
      ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
      group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
      having sum(n) <> 0 or sum(amount) <> 0 or sum(won_days) <> 0
      on conflict on constraint funnel_cells_pk do update set n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days`);
    // The same cells summed over department and owner (drizzle/0014): what the triggers add
    // there is the same sums grouped by fewer keys.
    await run(sql`
      insert into funnel_process_cells as c (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, shard, n, amount, won_days)
      select tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, pg_backend_pid() % 16, sum(n), sum(amount), sum(won_days)
      from funnel_cells where tenant_id = ${tenant}
      group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
      having sum(n) <> 0 or sum(amount) <> 0 or sum(won_days) <> 0
      on conflict on constraint funnel_process_cells_pk do update set n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days`);
    await run(sql`
      insert into outcome_cells as c (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
      select tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, sum(n), sum(amount)
      from (
        select r.tenant_id, r.process_id, to_char(r.closed_at at time zone 'UTC', 'YYYY-MM'), r.status,
          case when r.status = 'won' then '' else coalesce(r.stage_id, '') end, case when r.status = 'lost' then coalesce(r.lost_reason, '') else '' end,
          r.currency, coalesce(r.department_id, ''), r.owner_id, 1::bigint, r.amount
        from opportunities r where r.tenant_id = ${tenant} and r.status <> 'open' and r.closed_at is not null
      ) d (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
      group by 1, 2, 3, 4, 5, 6, 7, 8, 9
      having sum(n) <> 0 or sum(amount) <> 0
      on conflict on constraint outcome_cells_pk do update set n = c.n + excluded.n, amount = c.amount + excluded.amount`);
    log(`funnel and outcome rollups in ${secs(t)}`);
    t = performance.now();
    await run(sql`
      insert into stay_cells as c (tenant_id, process_id, stage_id, days, shard, n)
      select tenant_id, process_id, from_stage_id, round(days_spent::numeric, 2), pg_backend_pid() % 16, 1 * count(*)
      from stage_history
      where tenant_id = ${tenant} and from_stage_id is not null and days_spent is not null and action <> 'migrate'
      group by 1, 2, 3, 4
      on conflict on constraint stay_cells_pk do update set n = c.n + excluded.n`);
    await run(sql`
      insert into stay_period_cells as c (tenant_id, process_id, created_month, department_id, stage_id, days, shard, n)
      select h.tenant_id, h.process_id, to_char(x.created_at at time zone 'UTC', 'YYYY-MM'), coalesce(x.department_id, ''), h.from_stage_id,
        round(h.days_spent::numeric, 2), pg_backend_pid() % 16, 1 * count(*)
      from stage_history h join opportunities x on x.id = h.opportunity_id
      where h.tenant_id = ${tenant} and h.from_stage_id is not null and h.days_spent is not null and h.action <> 'migrate'
      group by 1, 2, 3, 4, 5, 6
      on conflict on constraint stay_period_cells_pk do update set n = c.n + excluded.n`);
    log(`stay rollups in ${secs(t)}`);
    await run(sql`commit`);
  } catch (e) {
    await run(sql`rollback`).catch(() => {});
    conn?.release();
    throw e;
  }
  // Hint bits and the visibility map set now rather than by the first reads (and by an
  // autovacuum in the middle of a benchmark); the statistics with them.
  const t = performance.now();
  await run(sql`set maintenance_work_mem = '1GB'`);
  for (const table of [
    'opportunities',
    'stage_history',
    'funnel_cells',
    'funnel_process_cells',
    'outcome_cells',
    'stay_cells',
    'stay_period_cells',
  ])
    await run(sql`vacuum (analyze) ${sql.identifier(table)}`);
  await run(sql`reset maintenance_work_mem`);
  log(`vacuum in ${secs(t)}`);
  const [{ size }] = await run(sql`select pg_size_pretty(pg_database_size(current_database())) as size`);
  log(`done in ${secs()}: database ${size}`);
  conn?.release();
  await server.close();
  await database.close();
  return { processIds };
}

if (process.argv[1]?.endsWith('seed-large.ts')) {
  await seedLarge(process.env.DATABASE_URL || undefined, process.env.DATA_DIR ?? './.data', N, TENANT);
}
