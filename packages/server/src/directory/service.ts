import {
  DEFAULT_CUSTOM_FIELDS,
  SYSTEM_FIELDS,
  checkFieldValue,
  isEmptyValue,
  isFileRef,
  type createContactSchema,
  type createCustomerSchema,
  type directorySyncSchema,
  type FieldCatalog,
  type FieldDefinition,
  type FieldObject,
} from '@sales-process/core';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import type { Db, Tx } from '../db/open.js';
import { contacts, customers, departments, fieldDefinitions, tenants, users } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import { checkFileRefs } from '../files/service.js';

type Q = Db | Tx;

/** A `user` or `file` field value that names another record: where it was sent, and the field's value now. */
export interface ValueRef {
  path: string;
  type: 'user' | 'file';
  value: unknown;
  current?: unknown;
}

/**
 * Field values that name other records, checked against them: a `user` value is a user of
 * the tenant, a `file` value a file of the tenant the author may read (`checkFileRefs`);
 * otherwise 400 (403 for a file they may not read) at its path. A value equal to the
 * field's current one passes (what is stored stays storable). Answers what to store for
 * each, in order: files as the files table knows them, never the name or size the client
 * sent.
 */
export async function checkValueRefs(q: Q, p: Principal, refs: readonly ValueRef[]): Promise<unknown[]> {
  const unchanged = (r: ValueRef) => JSON.stringify(r.value) === JSON.stringify(r.current);
  const userRefs = refs.filter((r) => r.type === 'user' && !isEmptyValue(r.value) && !unchanged(r));
  if (userRefs.length) {
    const ids = [...new Set(userRefs.map((r) => String(r.value)))];
    const found = new Set(
      (
        await q
          .select({ id: users.id })
          .from(users)
          .where(and(eq(users.tenantId, p.tenantId), inArray(users.id, ids)))
      ).map((u) => u.id),
    );
    const unknown = userRefs.filter((r) => !found.has(String(r.value)));
    if (unknown.length)
      throw new ApiError(
        'VALIDATION_FAILED',
        unknown.map((r) => ({
          path: r.path,
          message: { zh: `${r.path}：通讯录中没有这个用户`, en: `${r.path}: no such user in the directory` },
        })),
      );
  }
  const fileRefs = refs.flatMap((r) =>
    r.type === 'file' && isFileRef(r.value) ? [{ path: r.path, id: r.value.id, current: r.current }] : [],
  );
  const stored = await checkFileRefs(q, p, fileRefs);
  return refs.map((r) => (r.type === 'file' && isFileRef(r.value) ? stored.get(r.value.id) : r.value));
}

/** Salespeople, their supervisors and admins create and write records; analysts only read. */
export const canSell = (p: Principal) => p.roles.has('admin') || p.roles.has('sales') || p.roles.has('supervisor');

/**
 * The department tree after a sync: every parent exists (in the batch or already), and
 * following parents from any department never comes back to it. 400 at the offending rows.
 */
function checkTree(
  known: { id: string; parentId: string | null }[],
  batch: readonly { id: string; parentId?: string | null }[],
) {
  const parent = new Map(known.map((d) => [d.id, d.parentId]));
  for (const d of batch) parent.set(d.id, d.parentId ?? null);
  const details = [];
  for (const [i, d] of batch.entries())
    if (d.parentId && !parent.has(d.parentId))
      details.push({
        path: `body.departments.${i}.parentId`,
        message: { zh: `上级部门 ${d.parentId} 不存在`, en: `No department ${d.parentId}` },
      });
  if (details.length) throw new ApiError('VALIDATION_FAILED', details);
  // Walk up from each department; a department seen on the current walk is a cycle. Ones
  // already proven to reach a root are not walked again (linear overall).
  const rooted = new Set<string>();
  for (const [i, d] of batch.entries()) {
    const walk = new Set<string>();
    let at: string | null | undefined = d.id;
    let cycle = false;
    while (at && !rooted.has(at)) {
      if (walk.has(at)) {
        cycle = true;
        break;
      }
      walk.add(at);
      at = parent.get(at);
    }
    if (cycle)
      details.push({
        path: `body.departments.${i}.parentId`,
        message: { zh: `部门 ${d.id} 的上级关系成环`, en: `The parents of department ${d.id} form a cycle` },
      });
    else for (const w of walk) rooted.add(w);
  }
  if (details.length) throw new ApiError('VALIDATION_FAILED', details.slice(0, 50));
}

/** Tenants come into being with their first token: the row and default field definitions. */
export class TenantService {
  private readonly known = new Set<string>();
  constructor(private readonly ctx: ServerContext) {}

  async ensure(tenantId: string): Promise<void> {
    if (this.known.has(tenantId)) return;
    const { db } = this.ctx.database;
    await db.transaction(async (tx) => {
      const inserted = await tx
        .insert(tenants)
        .values({ id: tenantId })
        .onConflictDoNothing()
        .returning({ id: tenants.id });
      if (inserted.length) {
        const rows = (['customer', 'opportunity'] as const).flatMap((object) =>
          DEFAULT_CUSTOM_FIELDS[object].map((f) => ({
            tenantId,
            object,
            key: f.key,
            label: f.label,
            type: f.type,
            options: f.options ?? null,
            required: !!f.required,
          })),
        );
        await tx.insert(fieldDefinitions).values(rows).onConflictDoNothing();
      }
    });
    this.known.add(tenantId);
  }

  async settings(tenantId: string) {
    const [row] = await this.ctx.database.db
      .select({ settings: tenants.settings })
      .from(tenants)
      .where(eq(tenants.id, tenantId));
    return { deleteRequiresStatus: row?.settings.deleteRequiresStatus ?? ('enabled' as const) };
  }

  async updateSettings(tenantId: string, settings: { deleteRequiresStatus: 'enabled' | 'disabled' | 'any' }) {
    await this.ctx.database.db.update(tenants).set({ settings }).where(eq(tenants.id, tenantId));
    return settings;
  }
}

export class DirectoryService {
  constructor(private readonly ctx: ServerContext) {}

  /**
   * Upserts departments and users, set-based: one statement per table (and one more for
   * users whose roles the host leaves alone), however many rows. Refused with 400, before
   * anything is written, when a department names a parent that is neither in the batch
   * nor already synced, or when the tree would have a cycle. A row named twice: the last wins.
   */
  async sync(p: Principal, input: z.infer<typeof directorySyncSchema>) {
    const { db } = this.ctx.database;
    const departmentsIn = [
      ...new Map(
        input.departments.map((d) => [d.id, { id: d.id, name: d.name, parent_id: d.parentId ?? null }]),
      ).values(),
    ];
    const usersIn = [...new Map(input.users.map((u) => [u.id, u])).values()];
    await db.transaction(async (tx) => {
      if (departmentsIn.length) {
        const known = await tx
          .select({ id: departments.id, parentId: departments.parentId })
          .from(departments)
          .where(eq(departments.tenantId, p.tenantId));
        checkTree(known, input.departments);
        await tx.execute(sql`insert into departments (tenant_id, id, name, parent_id)
          select ${p.tenantId}, d.id, d.name, d.parent_id from jsonb_to_recordset(${JSON.stringify(departmentsIn)}::jsonb) as d(id text, name text, parent_id text)
          on conflict (tenant_id, id) do update set name = excluded.name, parent_id = excluded.parent_id`);
      }
      // Users with roles given set them; the others keep theirs (new ones start with none).
      for (const withRoles of [true, false]) {
        const rows = usersIn
          .filter((u) => !!u.roles === withRoles)
          .map((u) => ({
            id: u.id,
            name: u.name,
            department_id: u.departmentId ?? null,
            manager_id: u.managerId ?? null,
            roles: u.roles ?? [],
          }));
        if (!rows.length) continue;
        await tx.execute(sql`insert into users (tenant_id, id, name, department_id, manager_id, roles)
          select ${p.tenantId}, u.id, u.name, u.department_id, u.manager_id, u.roles
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u(id text, name text, department_id text, manager_id text, roles jsonb)
          on conflict (tenant_id, id) do update set name = excluded.name, department_id = excluded.department_id, manager_id = excluded.manager_id
          ${withRoles ? sql`, roles = excluded.roles` : sql``}`);
      }
    });
    return { departments: input.departments.length, users: input.users.length };
  }

  async listDepartments(tenantId: string) {
    return this.ctx.database.db
      .select({ id: departments.id, name: departments.name, parentId: departments.parentId })
      .from(departments)
      .where(eq(departments.tenantId, tenantId))
      .orderBy(asc(departments.name));
  }

  async listUsers(tenantId: string) {
    return this.ctx.database.db
      .select({
        id: users.id,
        name: users.name,
        departmentId: users.departmentId,
        managerId: users.managerId,
        roles: users.roles,
      })
      .from(users)
      .where(eq(users.tenantId, tenantId))
      .orderBy(asc(users.name));
  }

  async user(q: Q, tenantId: string, id: string) {
    const [u] = await q
      .select()
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.id, id)));
    return u ?? null;
  }

  /** A department and all its ancestors (a process scoped to a parent applies to children). */
  async ancestry(q: Q, tenantId: string, departmentId: string | null): Promise<string[]> {
    if (!departmentId) return [];
    const rows = await q
      .select({ id: departments.id, parentId: departments.parentId })
      .from(departments)
      .where(eq(departments.tenantId, tenantId));
    const parent = new Map(rows.map((r) => [r.id, r.parentId]));
    const out: string[] = [];
    let at: string | null | undefined = departmentId;
    while (at && !out.includes(at)) {
      out.push(at);
      at = parent.get(at);
    }
    return out;
  }

  /** All sub-departments of one (itself included). */
  async subtree(tenantId: string, departmentId: string): Promise<string[]> {
    const rows = await this.ctx.database.db
      .select({ id: departments.id, parentId: departments.parentId })
      .from(departments)
      .where(eq(departments.tenantId, tenantId));
    // An unknown department is a 404, not an empty (and misleading) set of figures.
    if (!rows.some((r) => r.id === departmentId)) throw notFound('department');
    const out = [departmentId];
    for (let i = 0; i < out.length; i++)
      for (const r of rows) if (r.parentId === out[i] && !out.includes(r.id)) out.push(r.id);
    return out;
  }
}

export class FieldService {
  /**
   * Field definitions change rarely and every view needs them: cached per tenant for a
   * few seconds (dropped at once on this instance when a field is added).
   */
  private readonly cache = new Map<string, { at: number; catalog: FieldCatalog }>();
  static readonly CACHE_MS = 5000;

  constructor(private readonly ctx: ServerContext) {}

  async list(q: Q, tenantId: string, object: FieldObject): Promise<FieldDefinition[]> {
    const rows = await q
      .select()
      .from(fieldDefinitions)
      .where(and(eq(fieldDefinitions.tenantId, tenantId), eq(fieldDefinitions.object, object)))
      .orderBy(asc(fieldDefinitions.createdAt), asc(fieldDefinitions.key));
    const custom = rows.map((r) => ({
      key: r.key,
      label: r.label,
      type: r.type as FieldDefinition['type'],
      options: r.options ?? undefined,
      required: r.required,
      system: false,
    }));
    return [...SYSTEM_FIELDS[object], ...custom];
  }

  async catalog(q: Q, tenantId: string): Promise<FieldCatalog> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.at < FieldService.CACHE_MS) return hit.catalog;
    const catalog = {
      customer: await this.list(q, tenantId, 'customer'),
      opportunity: await this.list(q, tenantId, 'opportunity'),
    };
    this.cache.set(tenantId, { at: Date.now(), catalog });
    return catalog;
  }

  async add(tenantId: string, object: FieldObject, f: FieldDefinition) {
    if (SYSTEM_FIELDS[object].some((s) => s.key === f.key))
      throw new ApiError('CONFLICT', [
        { path: 'body.key', message: { zh: `${f.key} 是系统字段`, en: `${f.key} is a system field` } },
      ]);
    if ((f.type === 'select' || f.type === 'multiselect') && !f.options?.length)
      throw new ApiError('VALIDATION_FAILED', [
        { path: 'body.options', message: { zh: '选项字段需要选项', en: 'A select field needs options' } },
      ]);
    const inserted = await this.ctx.database.db
      .insert(fieldDefinitions)
      .values({
        tenantId,
        object,
        key: f.key,
        label: f.label,
        type: f.type,
        options: f.options ?? null,
        required: !!f.required,
      })
      .onConflictDoNothing()
      .returning();
    if (!inserted.length)
      throw new ApiError('CONFLICT', [
        { path: 'body.key', message: { zh: `字段 ${f.key} 已存在`, en: `Field ${f.key} exists already` } },
      ]);
    this.cache.delete(tenantId);
    return { ...f, system: false };
  }
}

export class CustomerService {
  constructor(
    private readonly ctx: ServerContext,
    private readonly fields: FieldService,
  ) {}

  /**
   * Checks custom field values against their definitions (unknown keys are refused) and
   * the records they name (`checkValueRefs`); answers the values to store.
   */
  async checkValues(
    q: Q,
    p: Principal,
    object: FieldObject,
    values: Record<string, unknown>,
    pathPrefix: string,
  ): Promise<Record<string, unknown>> {
    const defs = await this.fields.list(q, p.tenantId, object);
    const details = [];
    const refs: (ValueRef & { key: string })[] = [];
    for (const [key, value] of Object.entries(values)) {
      const def = defs.find((d) => d.key === key && !d.system);
      if (!def)
        details.push({ path: `${pathPrefix}.${key}`, message: { zh: `未知字段 ${key}`, en: `Unknown field ${key}` } });
      else {
        const problem = checkFieldValue(def.type, value, def.options);
        if (problem)
          details.push({
            path: `${pathPrefix}.${key}`,
            message: { zh: `${key}：${problem.message.zh}`, en: `${key}: ${problem.message.en}` },
          });
        else if (def.type === 'file' || def.type === 'user')
          refs.push({ path: `${pathPrefix}.${key}`, type: def.type, value, key });
      }
    }
    if (details.length) throw new ApiError('VALIDATION_FAILED', details);
    const stored = await checkValueRefs(q, p, refs);
    const out = { ...values };
    refs.forEach((r, i) => (out[r.key] = stored[i]));
    return out;
  }

  async create(p: Principal, input: z.infer<typeof createCustomerSchema>) {
    const { db } = this.ctx.database;
    if (!canSell(p))
      throw new ApiError('FORBIDDEN', [
        { message: { zh: '只有销售人员和管理员可以新建客户', en: 'Only salespeople and admins create customers' } },
      ]);
    const fields = await this.checkValues(db, p, 'customer', input.fields, 'body.fields');
    const now = this.ctx.clock.now();
    const [row] = await db
      .insert(customers)
      .values({
        id: this.ctx.ids('cus'),
        tenantId: p.tenantId,
        name: input.name,
        fields,
        ownerId: p.userId,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    return { ...this.view(row!), contacts: [] };
  }

  view(row: typeof customers.$inferSelect) {
    return {
      id: row.id,
      name: row.name,
      fields: row.fields,
      ownerId: row.ownerId,
      createdAt: row.createdAt.toISOString(),
    };
  }

  async get(q: Q, tenantId: string, id: string) {
    const [row] = await q
      .select()
      .from(customers)
      .where(and(eq(customers.tenantId, tenantId), eq(customers.id, id)));
    if (!row) throw notFound('customer');
    const list = await q
      .select()
      .from(contacts)
      .where(eq(contacts.customerId, id))
      .orderBy(asc(contacts.createdAt), asc(contacts.id));
    return {
      ...this.view(row),
      contacts: list.map(({ tenantId: _t, customerId: _c, ...c }) => ({ ...c, createdAt: c.createdAt.toISOString() })),
    };
  }

  async list(tenantId: string) {
    const rows = await this.ctx.database.db
      .select({
        id: customers.id,
        name: customers.name,
        fields: customers.fields,
        contactCount: sql<number>`(select count(*) from contacts where contacts.customer_id = ${customers.id})`.mapWith(
          Number,
        ),
      })
      .from(customers)
      .where(eq(customers.tenantId, tenantId))
      .orderBy(asc(customers.name))
      .limit(500);
    return rows;
  }

  /**
   * Who may write a customer and its contacts (SPEC §9): admins; salespeople and supervisors
   * on customers they own or on which they own, or supervise the owner of, an opportunity.
   * 404 outside the tenant comes first. "Own or supervise the owner of an opportunity" is the
   * pre-sale writer side of `opportunityAccess` (services/opportunities.ts) in SQL: keep them alike.
   */
  async mayWrite(q: Q, p: Principal, customerId: string): Promise<void> {
    const [row] = await q
      .select({
        ownerId: customers.ownerId,
        related: sql<boolean>`exists (select 1 from opportunities o where o.tenant_id = ${p.tenantId} and o.customer_id = ${customerId}
          and (o.owner_id = ${p.userId} or o.owner_id in (select u.id from users u where u.tenant_id = ${p.tenantId} and u.manager_id = ${p.userId})))`,
      })
      .from(customers)
      .where(and(eq(customers.tenantId, p.tenantId), eq(customers.id, customerId)));
    if (!row) throw notFound('customer');
    if (p.roles.has('admin')) return;
    if (canSell(p) && (row.ownerId === p.userId || row.related)) return;
    throw new ApiError('FORBIDDEN', [
      {
        message: {
          zh: '只能修改自己负责或下属负责的客户',
          en: 'You may change only customers you or your reports work on',
        },
      },
    ]);
  }

  async addContact(p: Principal, customerId: string, input: z.infer<typeof createContactSchema>) {
    const { db } = this.ctx.database;
    await this.mayWrite(db, p, customerId);
    const [row] = await db
      .insert(contacts)
      .values({
        id: this.ctx.ids('con'),
        tenantId: p.tenantId,
        customerId,
        name: input.name,
        title: input.title ?? null,
        phone: input.phone ?? null,
        email: input.email ?? null,
        createdAt: this.ctx.clock.now(),
      })
      .returning();
    const { tenantId: _t, ...c } = row!;
    return { ...c, createdAt: c.createdAt.toISOString() };
  }

  async removeContact(p: Principal, customerId: string, contactId: string) {
    const { db } = this.ctx.database;
    await this.mayWrite(db, p, customerId);
    const deleted = await db
      .delete(contacts)
      .where(and(eq(contacts.tenantId, p.tenantId), eq(contacts.customerId, customerId), eq(contacts.id, contactId)))
      .returning({ id: contacts.id });
    if (!deleted.length) throw notFound('contact');
  }

  async contactCount(q: Q, customerId: string): Promise<number> {
    const [row] = await q
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(contacts)
      .where(eq(contacts.customerId, customerId));
    return row?.n ?? 0;
  }
}
