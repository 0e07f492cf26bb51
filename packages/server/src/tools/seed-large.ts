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
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { createServer } from '../app.js';
import { openDatabase } from '../db/open.js';

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
  await db.execute(sql`select setseed(0.42)`);
  const customers = Math.max(10, Math.floor(n / 10));
  await db.execute(sql`insert into customers (id, tenant_id, name, fields, created_at, updated_at)
    select 'lc_' || ${tenant} || '_' || i, ${tenant}, '客户 ' || i, '{}'::jsonb, now(), now() from generate_series(1, ${customers}) i`);
  log(`directory, processes and ${customers} customers in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // Each opportunity: how far it got (each stage passed with p≈0.62), and its outcome.
  await db.execute(sql`
    insert into opportunities (id, tenant_id, name, customer_id, owner_id, department_id, amount, currency, expected_close_date,
      process_id, process_version, stage_id, status, phase, stage_entered_at, stage_entry, max_stage_index, fields, stage_values,
      postsale_staff, created_at, closed_at, updated_at, rev)
    select 'lo_' || ${tenant} || '_' || g.i, ${tenant}, '商机 ' || g.i, 'lc_' || ${tenant} || '_' || (1 + g.i % ${customers}),
      'rep' || (g.i % 60), (array[${sql.raw(teams.map((t) => `'${t}'`).join(','))}])[1 + (g.i % 60) % ${teams.length}],
      round(((20000 + g.r_amount * g.r_amount * 2000000) * case g.currency when 'USD' then 0.14 when 'JPY' then 20 else 1 end)::numeric, 2), g.currency,
      (g.created + ((30 + g.r_close * 240) || ' days')::interval)::date,
      (array[${sql.raw(processIds.map((p) => `'${p}'`).join(','))}])[1 + g.i % 3], 1,
      case when g.status = 'won' then null else (array['visit','needs', case when g.i % 3 = 1 then 'poc' else 'solution' end,'quote'])[1 + g.top] end,
      g.status, case when g.status = 'open' then 'presale' else 'done' end,
      g.created + (g.top * 12 || ' days')::interval, 1 + g.top, g.top, '{}'::jsonb, '{}'::jsonb, '[]'::jsonb,
      g.created, case when g.status = 'open' then null else g.created + ((g.top + 1) * 15 || ' days')::interval end, now(), 0
    from (
      select i, r_amount, r_close, created, top,
        -- From a hash of i, not random(): every other column draws as it did before.
        case (hashtext('currency' || i) & 1023) % 20 when 0 then 'JPY' when 1 then 'USD' when 2 then 'USD' else 'CNY' end as currency,
        case when top = 4 then 'won'
             when created > now() - interval '60 days' then 'open'
             when r_out < 0.55 then 'lost' when r_out < 0.65 then 'invalid' else 'open' end as status
      from (
        select i, random() as r_amount, random() as r_close, random() as r_out,
          now() - (random() * 365 || ' days')::interval as created,
          least(4, floor(ln(random()) / ln(0.62))::int) as top
        from generate_series(1, ${n}) i
      ) raw
    ) g`);
  log(`${n} opportunities in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await db.execute(sql`
    insert into stage_history (tenant_id, opportunity_id, process_id, process_version, from_stage_id, to_stage_id, from_status, to_status, action, actor_id, at, days_spent)
    select o.tenant_id, o.id, o.process_id, 1,
      (array['visit','needs', case when o.process_id = ${processIds[1]!} then 'poc' else 'solution' end,'quote'])[k],
      (array['needs', case when o.process_id = ${processIds[1]!} then 'poc' else 'solution' end,'quote', null])[k],
      'open', case when k = 4 then 'won' else 'open' end, case when k = 4 then 'win' else 'complete' end, o.owner_id,
      o.created_at + (k * 12 || ' days')::interval, 1 + (hashtext(o.id || k) & 32767) % 30
    from opportunities o, generate_series(1, o.max_stage_index + case when o.status = 'won' then 1 else 0 end) k
    where o.tenant_id = ${tenant}`);
  await db.execute(sql`analyze opportunities`);
  await db.execute(sql`analyze stage_history`);
  await db.execute(sql`analyze funnel_cells`);
  await db.execute(sql`analyze stay_cells`);
  log(`history in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await server.close();
  await database.close();
  return { processIds };
}

if (process.argv[1]?.endsWith('seed-large.ts')) {
  await seedLarge(process.env.DATABASE_URL || undefined, process.env.DATA_DIR ?? './.data', N, TENANT);
}
