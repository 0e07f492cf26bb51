/**
 * The relational truth. Every row belongs to one tenant; directory rows (departments,
 * users) carry the host's ids, so their keys are (tenant_id, id). Generated ids are
 * globally unique, but every query still filters by tenant_id.
 * Self-contained (drizzle-kit reads this file on its own), and so one file past 400 lines:
 * drizzle.config.ts names it as the schema migrations are generated from.
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  smallint,
  bigserial,
  boolean,
  customType,
  date,
  doublePrecision,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBufferLike)),
});

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const money = (name: string) => numeric(name, { precision: 15, scale: 2, mode: 'number' });

export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull().default(''),
  /** `{deleteRequiresStatus: 'enabled' | 'disabled' | 'any'}` */
  settings: jsonb('settings').$type<{ deleteRequiresStatus?: 'enabled' | 'disabled' | 'any' }>().notNull().default({}),
  webhookUrl: text('webhook_url'),
  webhookSecret: text('webhook_secret'),
  /** The currency the funnel and forecast convert amounts into (currency_rates). */
  baseCurrency: text('base_currency').notNull().default('CNY'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** Units of the tenant's base currency one unit of `currency` is worth, as an admin recorded it. */
export const currencyRates = pgTable(
  'currency_rates',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    currency: text('currency').notNull(),
    rate: doublePrecision('rate').notNull(),
    updatedAt: ts('updated_at').notNull(),
    updatedBy: text('updated_by'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.currency] })],
);

/** Every admin change of configuration: who, when, what, and a compact diff. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    at: ts('at').notNull(),
    actorId: text('actor_id'),
    /** `process.publish`, `field.update`, `webhook.update`, … */
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    /** `{key: [before, after]}` for changed keys, or a summary for bulk actions. */
    diff: jsonb('diff').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index('audit_log_tenant').on(t.tenantId, t.id),
    index('audit_log_target').on(t.tenantId, t.targetType, t.targetId, t.id),
  ],
);

export const departments = pgTable(
  'departments',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    parentId: text('parent_id'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('departments_parent').on(t.tenantId, t.parentId)],
);

export const users = pgTable(
  'users',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    departmentId: text('department_id'),
    managerId: text('manager_id'),
    roles: jsonb('roles').$type<string[]>().notNull().default([]),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('users_department').on(t.tenantId, t.departmentId)],
);

export const fieldDefinitions = pgTable(
  'field_definitions',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    object: text('object').$type<'customer' | 'opportunity' | 'contact'>().notNull(),
    key: text('key').notNull(),
    label: jsonb('label').$type<{ zh: string; en: string }>().notNull(),
    type: text('type').notNull(),
    options: jsonb('options').$type<{ value: string; label: { zh: string; en: string } }[] | null>(),
    required: boolean('required').notNull().default(false),
    /** Order in pickers and forms (admins reorder). */
    position: integer('position').notNull().default(0),
    /** Archived: hidden from pickers; stored values still show with their label. */
    archivedAt: ts('archived_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.object, t.key] })],
);

export const customers = pgTable(
  'customers',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    fields: jsonb('fields').$type<Record<string, unknown>>().notNull().default({}),
    /** Who created it (a salesperson writes customers they own); null for older rows. */
    ownerId: text('owner_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('customers_tenant').on(t.tenantId)],
);

export const contacts = pgTable(
  'contacts',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    customerId: text('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    title: text('title'),
    phone: text('phone'),
    email: text('email'),
    /** Option values of the contact-role field (直接联系人, 关键决策人, …). */
    roles: jsonb('roles').$type<string[]>().notNull().default([]),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('contacts_customer').on(t.customerId)],
);

export const processes = pgTable(
  'processes',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    status: text('status').$type<'enabled' | 'disabled'>().notNull().default('enabled'),
    departments: jsonb('departments').$type<string[]>().notNull().default([]),
    currentVersion: integer('current_version').notNull().default(1),
    /** Set on a process created by a "new-process" publish. */
    derivedFrom: text('derived_from'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('processes_tenant').on(t.tenantId, t.status)],
);

export const processVersions = pgTable(
  'process_versions',
  {
    processId: text('process_id')
      .notNull()
      .references(() => processes.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    definition: jsonb('definition').notNull(),
    publishedAt: ts('published_at').notNull().defaultNow(),
    publishedBy: text('published_by'),
  },
  (t) => [primaryKey({ columns: [t.processId, t.version] })],
);

export const opportunities = pgTable(
  'opportunities',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    customerId: text('customer_id')
      .notNull()
      .references(() => customers.id),
    ownerId: text('owner_id').notNull(),
    departmentId: text('department_id'),
    amount: money('amount').notNull().default(0),
    currency: text('currency').notNull().default('CNY'),
    expectedCloseDate: date('expected_close_date', { mode: 'string' }),
    processId: text('process_id')
      .notNull()
      .references(() => processes.id),
    processVersion: integer('process_version').notNull(),
    stageId: text('stage_id'),
    status: text('status').$type<'open' | 'won' | 'lost' | 'invalid'>().notNull().default('open'),
    phase: text('phase').$type<'presale' | 'postsale' | 'done'>().notNull().default('presale'),
    stageEnteredAt: ts('stage_entered_at').notNull(),
    /** Bumped on every stage entry; reminders are keyed by it, so a re-entry reminds again. */
    stageEntry: integer('stage_entry').notNull().default(1),
    /** Bumped by every write: moves compare-and-set on it (one statement, no lock held). */
    rev: integer('rev').notNull().default(0),
    /** How far it ever got among pre-sale stages (index): the funnel's "reached". */
    maxStageIndex: integer('max_stage_index').notNull().default(0),
    fields: jsonb('fields').$type<Record<string, unknown>>().notNull().default({}),
    /** Stage-only field values: `{stageId: {key: value}}`. */
    stageValues: jsonb('stage_values').$type<Record<string, Record<string, unknown>>>().notNull().default({}),
    postsaleStaff: jsonb('postsale_staff').$type<string[]>().notNull().default([]),
    lostReason: text('lost_reason'),
    createdAt: ts('created_at').notNull(),
    closedAt: ts('closed_at'),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [
    // Not on status or stage: a move changes only unindexed columns, so PostgreSQL updates
    // the row in place (HOT) instead of adding an entry to every index (drizzle/0006).
    index('opportunities_tenant_process').on(t.tenantId, t.processId),
    index('opportunities_owner').on(t.tenantId, t.ownerId),
    // A customer's change bumps the rev of its opportunities (drizzle/0005).
    index('opportunities_customer').on(t.customerId),
    index('opportunities_list').on(t.tenantId, t.createdAt, t.id),
    foreignKey({ columns: [t.tenantId, t.ownerId], foreignColumns: [users.tenantId, users.id] }),
  ],
);

export const stageHistory = pgTable(
  'stage_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull(),
    opportunityId: text('opportunity_id')
      .notNull()
      .references(() => opportunities.id, { onDelete: 'cascade' }),
    processId: text('process_id').notNull(),
    processVersion: integer('process_version').notNull(),
    fromStageId: text('from_stage_id'),
    toStageId: text('to_stage_id'),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    action: text('action').notNull(),
    actorId: text('actor_id'),
    at: ts('at').notNull(),
    /** Days spent in the stage being left (null when no stage is left). */
    daysSpent: doublePrecision('days_spent'),
    values: jsonb('values').$type<Record<string, unknown>>(),
    comment: text('comment'),
  },
  (t) => [
    index('stage_history_opportunity').on(t.opportunityId, t.id),
    index('stage_history_tenant_process').on(t.tenantId, t.processId, t.fromStageId),
  ],
);

/**
 * Changes to an opportunity that are not stage moves (edits of its fields, a new owner):
 * its history shows them beside the moves; the funnel's rollups never read them.
 */
export const opportunityChanges = pgTable(
  'opportunity_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull(),
    opportunityId: text('opportunity_id')
      .notNull()
      .references(() => opportunities.id, { onDelete: 'cascade' }),
    /** `edit`, `reassign`, `change-staff`, … */
    action: text('action').notNull(),
    actorId: text('actor_id'),
    at: ts('at').notNull(),
    /** `{key: [before, after]}`. */
    changes: jsonb('changes').$type<Record<string, [unknown, unknown]>>().notNull(),
    reason: text('reason'),
  },
  (t) => [index('opportunity_changes_opportunity').on(t.opportunityId, t.id)],
);

/** The key both funnel rollups start with (a builder: each table needs its own column objects). */
const funnelCellKey = () => ({
  tenantId: text('tenant_id').notNull(),
  processId: text('process_id').notNull(),
  processVersion: integer('process_version').notNull(),
  status: text('status').notNull(),
  phase: text('phase').notNull(),
  stageId: text('stage_id').notNull(),
  maxStageIndex: integer('max_stage_index').notNull(),
  /** Expected close month, YYYY-MM. */
  closeMonth: text('close_month').notNull(),
  /** The currency `amount` is in (the opportunities' own). */
  currency: text('currency').notNull(),
  /** Creation month (UTC), YYYY-MM: the period filter at month grain. */
  createdMonth: text('created_month').notNull(),
});
/** What a funnel cell sums. */
const funnelCellSums = () => ({
  n: bigint('n', { mode: 'number' }).notNull(),
  amount: numeric('amount', { mode: 'number' }).notNull(),
  wonDays: numeric('won_days', { mode: 'number' }).notNull(),
});
/**
 * The primary key (then `rest`): the currency right after what the funnel groups by, so its
 * read stays an ordered walk of the key.
 */
const funnelCellPk = (
  t: Record<keyof ReturnType<typeof funnelCellKey>, AnyPgColumn>,
  ...rest: AnyPgColumn[]
): [AnyPgColumn, ...AnyPgColumn[]] => [
  t.tenantId,
  t.processId,
  t.processVersion,
  t.status,
  t.phase,
  t.stageId,
  t.maxStageIndex,
  t.closeMonth,
  t.currency,
  t.createdMonth,
  ...rest,
];

/**
 * The funnel's rollups, kept by triggers (drizzle/0003, 0012) in the same statement as every
 * write to opportunities and stage_history, so they can never drift. One row per cell
 * of what the funnel groups and filters by; '' stands for null in the key columns.
 * Amounts stay in their own currency (a key column): the funnel converts each cell's sum
 * at the rate recorded when it reads, so a new rate needs no rebuild.
 */
export const funnelCells = pgTable(
  'funnel_cells',
  {
    ...funnelCellKey(),
    departmentId: text('department_id').notNull(),
    ownerId: text('owner_id').notNull(),
    ...funnelCellSums(),
  },
  (t) => [
    primaryKey({ name: 'funnel_cells_pk', columns: funnelCellPk(t, t.departmentId, t.ownerId) }),
    // A department's (or a period's) funnel reads only its cells, not the whole process's (drizzle/0013).
    index('funnel_cells_period').on(t.tenantId, t.processId, t.createdMonth, t.departmentId),
  ],
);

/**
 * The funnel's cells without department and owner (drizzle/0014): the whole process's funnel,
 * or one period's, reads a few thousand of these rather than every owner's cells (issue 22:
 * 10 M opportunities). Kept by the same triggers as funnel_cells, in stripes like stay_cells
 * (the writing backend's pid mod 16), since every owner's moves land on these cells.
 */
export const funnelProcessCells = pgTable(
  'funnel_process_cells',
  {
    ...funnelCellKey(),
    shard: smallint('shard').notNull().default(0),
    ...funnelCellSums(),
  },
  (t) => [primaryKey({ name: 'funnel_process_cells_pk', columns: funnelCellPk(t, t.shard) })],
);

/** Completed stays per stage as a histogram of days (to 0.01 day): mean and exact median of it. */
export const stayCells = pgTable(
  'stay_cells',
  {
    tenantId: text('tenant_id').notNull(),
    processId: text('process_id').notNull(),
    stageId: text('stage_id').notNull(),
    days: numeric('days', { precision: 12, scale: 2, mode: 'number' }).notNull(),
    /** Which stripe of the cell (the writing backend's pid mod 16): concurrent moves out of one stage don't queue on one row. */
    shard: smallint('shard').notNull().default(0),
    n: bigint('n', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ name: 'stay_cells_pk', columns: [t.tenantId, t.processId, t.stageId, t.days, t.shard] })],
);

/**
 * The same stays per creation month and department of their opportunity (drizzle/0013): days
 * in stage under the funnel's department and whole-month period filters, without joining
 * the history to the opportunities. Kept by the stay triggers, and by the opportunity
 * triggers when an opportunity changes department or is deleted.
 */
export const stayPeriodCells = pgTable(
  'stay_period_cells',
  {
    tenantId: text('tenant_id').notNull(),
    processId: text('process_id').notNull(),
    /** The opportunity's creation month (UTC), YYYY-MM, as in funnel_cells. */
    createdMonth: text('created_month').notNull(),
    departmentId: text('department_id').notNull(),
    stageId: text('stage_id').notNull(),
    days: numeric('days', { precision: 12, scale: 2, mode: 'number' }).notNull(),
    shard: smallint('shard').notNull().default(0),
    n: bigint('n', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({
      name: 'stay_period_cells_pk',
      columns: [t.tenantId, t.processId, t.createdMonth, t.departmentId, t.stageId, t.days, t.shard],
    }),
  ],
);

/**
 * Closed opportunities (drizzle/0013): win/loss by close month, outcome, the stage lost (or
 * invalidated) from ('' for won ones), the lost reason ('' unless lost with one), currency,
 * department and owner. Kept by the funnel's opportunity triggers.
 */
export const outcomeCells = pgTable(
  'outcome_cells',
  {
    tenantId: text('tenant_id').notNull(),
    processId: text('process_id').notNull(),
    /** The month closed in (UTC), YYYY-MM. */
    closedMonth: text('closed_month').notNull(),
    status: text('status').notNull(),
    stageId: text('stage_id').notNull(),
    lostReason: text('lost_reason').notNull(),
    currency: text('currency').notNull(),
    departmentId: text('department_id').notNull(),
    ownerId: text('owner_id').notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
    amount: numeric('amount', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({
      name: 'outcome_cells_pk',
      columns: [
        t.tenantId,
        t.processId,
        t.closedMonth,
        t.status,
        t.stageId,
        t.lostReason,
        t.currency,
        t.departmentId,
        t.ownerId,
      ],
    }),
  ],
);

export const approvals = pgTable(
  'approvals',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    opportunityId: text('opportunity_id')
      .notNull()
      .references(() => opportunities.id, { onDelete: 'cascade' }),
    stageId: text('stage_id').notNull(),
    stageEntry: integer('stage_entry').notNull(),
    action: text('action').$type<'complete' | 'win'>().notNull(),
    requestedBy: text('requested_by').notNull(),
    approverId: text('approver_id').notNull(),
    state: text('state').$type<'pending' | 'approved' | 'rejected' | 'cancelled'>().notNull().default('pending'),
    comment: text('comment'),
    values: jsonb('values').$type<Record<string, unknown>>(),
    requestedAt: ts('requested_at').notNull(),
    decidedAt: ts('decided_at'),
  },
  (t) => [
    index('approvals_approver').on(t.tenantId, t.approverId, t.state),
    index('approvals_opportunity').on(t.opportunityId, t.stageEntry),
    // At most one pending approval per opportunity.
    uniqueIndex('approvals_one_pending').on(t.opportunityId).where(sql`state = 'pending'`),
  ],
);

export const orders = pgTable(
  'orders',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    opportunityId: text('opportunity_id')
      .notNull()
      .references(() => opportunities.id, { onDelete: 'cascade' }),
    amount: money('amount').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('orders_opportunity').on(t.opportunityId)],
);

export const notifications = pgTable(
  'notifications',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    userId: text('user_id').notNull(),
    kind: text('kind').notNull(),
    opportunityId: text('opportunity_id'),
    stageId: text('stage_id'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    dedupeKey: text('dedupe_key').notNull(),
    createdAt: ts('created_at').notNull(),
    readAt: ts('read_at'),
  },
  (t) => [
    uniqueIndex('notifications_dedupe').on(t.tenantId, t.dedupeKey, t.userId),
    index('notifications_user').on(t.tenantId, t.userId, t.createdAt),
  ],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    event: jsonb('event').$type<Record<string, unknown>>().notNull(),
    state: text('state').$type<'pending' | 'delivered' | 'failed'>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull(),
    /** A worker's lease while it POSTs; an expired lease means the worker died: retry. */
    lockedUntil: ts('locked_until'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull(),
    deliveredAt: ts('delivered_at'),
  },
  (t) => [index('webhook_deliveries_due').on(t.state, t.nextAttemptAt)],
);

export const webhookAttempts = pgTable('webhook_attempts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  deliveryId: text('delivery_id')
    .notNull()
    .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
  at: ts('at').notNull(),
  status: integer('status'),
  error: text('error'),
});

export const files = pgTable('files', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  name: text('name').notNull(),
  mime: text('mime').notNull(),
  size: integer('size').notNull(),
  data: bytea('data').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: ts('created_at').notNull(),
});

/** Live documents: append-only update log plus a compacted snapshot. */
export const docUpdates = pgTable(
  'doc_updates',
  {
    doc: text('doc').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    update: bytea('update').notNull(),
    author: text('author'),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.doc, t.seq] })],
);

export const docSnapshots = pgTable('doc_snapshots', {
  doc: text('doc').primaryKey(),
  state: bytea('state').notNull(),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
  at: ts('at').notNull().defaultNow(),
});

/**
 * POST answers kept for `Idempotency-Key` retries (http/idempotency.ts): one row per key of
 * a user on one method and path, inserted before the request acts (so a concurrent twin
 * finds it), completed with the answer, deleted by the scheduler once expired.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: text('tenant_id').notNull(),
    userId: text('user_id').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    key: text('key').notNull(),
    /** sha256 of the request body: the same key with another body is refused. */
    fingerprint: text('fingerprint').notNull(),
    /** null while the first request is still acting. */
    status: integer('status'),
    headers: jsonb('headers').$type<Record<string, string>>(),
    body: text('body'),
    createdAt: ts('created_at').notNull(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId, t.method, t.path, t.key] }),
    index('idempotency_keys_expiry').on(t.expiresAt),
  ],
);
