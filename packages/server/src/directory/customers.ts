import {
  CONTACT_ROLE_KEY,
  checkFieldValue,
  offeredOptions,
  type createContactSchema,
  type createCustomerSchema,
  type editCustomerSchema,
  type FieldObject,
  type updateContactSchema,
} from '@sales-process/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import type { Db, Tx } from '../db/open.js';
import { contacts, customers, opportunities } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import { canSell } from '../opportunities/access.js';
import { checkValueRefs, type FieldService, type ValueRef } from './fields.js';

type Q = Db | Tx;

export class CustomerService {
  constructor(
    private readonly ctx: ServerContext,
    private readonly fields: FieldService,
  ) {}

  /**
   * Checks custom field values against their definitions (unknown keys are refused) and
   * the records they name (`checkValueRefs`); answers the values to store. Against
   * `current` (the record's values now): a new value may not go to an archived field or
   * take an archived option; a value left as it is stays valid.
   */
  async checkValues(
    q: Q,
    p: Principal,
    object: FieldObject,
    values: Record<string, unknown>,
    pathPrefix: string,
    current: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    const defs = (await this.fields.catalog(q, p.tenantId))[object];
    const details = [];
    const refs: (ValueRef & { key: string })[] = [];
    for (const [key, value] of Object.entries(values)) {
      const def = defs.find((d) => d.key === key && !d.system);
      if (!def)
        details.push({ path: `${pathPrefix}.${key}`, message: { zh: `未知字段 ${key}`, en: `Unknown field ${key}` } });
      else if (def.archived && JSON.stringify(value ?? null) !== JSON.stringify(current[key] ?? null))
        details.push({
          path: `${pathPrefix}.${key}`,
          message: { zh: `字段 ${key} 已归档`, en: `The field ${key} is archived` },
        });
      else {
        const problem = checkFieldValue(def.type, value, offeredOptions(def.options, current[key]));
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
    return { ...this.view(row), contacts: list.map(contactView) };
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
   * on customers they own or whose owner they supervise, or on which they own, or supervise
   * the owner of, an opportunity.
   * 404 outside the tenant comes first. "Own or supervise the owner of an opportunity" is the
   * pre-sale writer side of `opportunityAccess` (opportunities/access.ts) in SQL: keep them alike.
   */
  async mayWrite(q: Q, p: Principal, customerId: string): Promise<void> {
    const ownerManager = sql<string | null>`(select u.manager_id from users u
      where u.tenant_id = ${p.tenantId} and u.id = ${customers.ownerId})`;
    const [row] = await q
      .select({
        ownerId: customers.ownerId,
        ownerManager,
        related: sql<boolean>`exists (select 1 from opportunities o where o.tenant_id = ${p.tenantId} and o.customer_id = ${customerId}
          and (o.owner_id = ${p.userId} or o.owner_id in (select u.id from users u where u.tenant_id = ${p.tenantId} and u.manager_id = ${p.userId})))`,
      })
      .from(customers)
      .where(and(eq(customers.tenantId, p.tenantId), eq(customers.id, customerId)));
    if (!row) throw notFound('customer');
    if (p.roles.has('admin')) return;
    if (canSell(p) && (row.ownerId === p.userId || row.ownerManager === p.userId || row.related)) return;
    throw new ApiError('FORBIDDEN', [
      {
        message: {
          zh: '只能修改自己负责或下属负责的客户',
          en: 'You may change only customers you or your reports work on',
        },
      },
    ]);
  }

  /**
   * `PATCH /customers/{id}`: its name and custom fields (merged, null empties one; each value
   * checked against its definition as on creation), by whoever may write it (`mayWrite`).
   * A change bumps the rev of its opportunities (drizzle/0005): `changed` says whether the
   * caller should tell their live docs.
   */
  async update(p: Principal, id: string, input: z.infer<typeof editCustomerSchema>) {
    const { db } = this.ctx.database;
    const changed = await db.transaction(async (tx) => {
      await this.mayWrite(tx, p, id);
      const [row] = await tx
        .select()
        .from(customers)
        .where(and(eq(customers.tenantId, p.tenantId), eq(customers.id, id)))
        .for('update');
      if (!row) throw notFound('customer');
      const checked = input.fields
        ? await this.checkValues(tx, p, 'customer', input.fields, 'body.fields', row.fields)
        : {};
      const fields = { ...row.fields, ...checked };
      const renamed = input.name !== undefined && input.name !== row.name;
      const refilled = JSON.stringify(fields) !== JSON.stringify(row.fields);
      if (!renamed && !refilled) return false;
      await tx
        .update(customers)
        .set({
          ...(renamed ? { name: input.name } : {}),
          ...(refilled ? { fields } : {}),
          updatedAt: this.ctx.clock.now(),
        })
        .where(and(eq(customers.tenantId, p.tenantId), eq(customers.id, id)));
      return true;
    });
    return { changed, customer: await this.get(db, p.tenantId, id) };
  }

  /**
   * Checks a contact's roles against the options of the `contact.role` field: each must be
   * an option; an archived option (or any role of an archived field) only if the contact
   * holds it already (`current`). 400 at `body.roles.N`.
   */
  async checkRoles(q: Q, tenantId: string, roles: readonly string[], current: readonly string[] = []) {
    const field = (await this.fields.catalog(q, tenantId)).contact.find((d) => d.key === CONTACT_ROLE_KEY);
    const details = [];
    for (const [i, role] of roles.entries()) {
      if (current.includes(role)) continue;
      const option = field?.options?.find((o) => o.value === role);
      if (!option)
        details.push({
          path: `body.roles.${i}`,
          message: { zh: `没有联系人角色 ${role}`, en: `No contact role ${role}` },
        });
      else if (option.archived || field?.archived)
        details.push({
          path: `body.roles.${i}`,
          message: {
            zh: `联系人角色“${option.label.zh}”已归档`,
            en: `The contact role "${option.label.en}" is archived`,
          },
        });
    }
    if (details.length) throw new ApiError('VALIDATION_FAILED', details);
  }

  async addContact(p: Principal, customerId: string, input: z.infer<typeof createContactSchema>) {
    const { db } = this.ctx.database;
    await this.mayWrite(db, p, customerId);
    const roles = input.roles ?? [];
    await this.checkRoles(db, p.tenantId, roles);
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
        roles,
        createdAt: this.ctx.clock.now(),
      })
      .returning();
    return contactView(row!);
  }

  /**
   * `PATCH /customers/{id}/contacts/{cid}`: name, title, phone, email and roles (only what is
   * given; null empties title, phone or email), by whoever may add a contact. A change of
   * roles bumps the rev of the customer's opportunities (their gates read the roles; the
   * database's triggers do this for contacts added and removed): `rolesChanged` says whether
   * the caller should tell their live docs.
   */
  async updateContact(p: Principal, customerId: string, contactId: string, input: z.infer<typeof updateContactSchema>) {
    const { db } = this.ctx.database;
    return db.transaction(async (tx) => {
      await this.mayWrite(tx, p, customerId);
      const where = and(
        eq(contacts.tenantId, p.tenantId),
        eq(contacts.customerId, customerId),
        eq(contacts.id, contactId),
      );
      const [row] = await tx.select().from(contacts).where(where).for('update');
      if (!row) throw notFound('contact');
      if (input.roles) await this.checkRoles(tx, p.tenantId, input.roles, row.roles);
      const set = {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.title !== undefined ? { title: input.title } : {}),
        ...(input.phone !== undefined ? { phone: input.phone } : {}),
        ...(input.email !== undefined ? { email: input.email } : {}),
        ...(input.roles !== undefined ? { roles: input.roles } : {}),
      };
      const rolesChanged = input.roles !== undefined && JSON.stringify(input.roles) !== JSON.stringify(row.roles);
      const [updated] = Object.keys(set).length ? await tx.update(contacts).set(set).where(where).returning() : [row];
      if (rolesChanged)
        await tx
          .update(opportunities)
          .set({ rev: sql`${opportunities.rev} + 1` })
          .where(and(eq(opportunities.tenantId, p.tenantId), eq(opportunities.customerId, customerId)));
      return { rolesChanged, contact: contactView(updated!) };
    });
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

/** A contact as the API shows it (its roles: values of the `contact.role` field's options). */
function contactView({ tenantId: _t, ...c }: typeof contacts.$inferSelect) {
  return { ...c, roles: c.roles ?? [], createdAt: c.createdAt.toISOString() };
}
