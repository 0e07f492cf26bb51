import {
  createContactSchema,
  createCustomerSchema,
  directorySyncSchema,
  editCustomerSchema,
  updateContactSchema,
} from '@sales-process/core';
import { z } from 'zod';
import type { Database } from '../db/open.js';
import { requireRole } from '../http/auth.js';
import { featureRoutes, idParam, json, principalOf as P, route } from '../http/routes.js';
import type { CustomerService } from './customers.js';
import type { DirectoryService } from './directory.js';
import type { TenantService } from './tenants.js';

/** The directory (users, departments, sync), tenant settings, customers and contacts (fields: field-routes.ts). */
export function directoryRoutes(s: {
  database: Database;
  tenants: TenantService;
  directory: DirectoryService;
  customers: CustomerService;
  /** A customer's contacts changed: opportunities on it may have new gates. */
  notifyCustomer(tenantId: string, customerId: string): void;
}) {
  const api = featureRoutes();

  // ---- directory and settings -------------------------------------------------------
  api.openapi(
    route({
      method: 'post',
      path: '/directory/sync',
      tags: ['directory'],
      request: { body: json(directorySyncSchema) },
    }),
    async (c) => {
      requireRole(P(c), 'admin');
      return c.json(await s.directory.sync(P(c), c.req.valid('json')), 200);
    },
  );
  api.openapi(route({ method: 'get', path: '/directory', tags: ['directory'] }), async (c) => {
    const p = P(c);
    return c.json(
      { departments: await s.directory.listDepartments(p.tenantId), users: await s.directory.listUsers(p.tenantId) },
      200,
    );
  });
  api.openapi(route({ method: 'get', path: '/me', tags: ['directory'] }), async (c) => {
    const p = P(c);
    const user = await s.directory.user(s.database.db, p.tenantId, p.userId);
    return c.json(
      {
        id: p.userId,
        tenantId: p.tenantId,
        roles: [...p.roles],
        name: user?.name ?? p.name ?? p.userId,
        departmentId: user?.departmentId ?? null,
        managerId: user?.managerId ?? null,
      },
      200,
    );
  });
  api.openapi(route({ method: 'get', path: '/settings', tags: ['settings'] }), async (c) =>
    c.json(await s.tenants.settings(P(c).tenantId), 200),
  );
  api.openapi(
    route({
      method: 'put',
      path: '/settings',
      tags: ['settings'],
      request: { body: json(z.object({ deleteRequiresStatus: z.enum(['enabled', 'disabled', 'any']) })) },
    }),
    async (c) => {
      requireRole(P(c), 'admin');
      return c.json(await s.tenants.updateSettings(P(c), c.req.valid('json')), 200);
    },
  );

  // ---- customers -----------------------------------------------------------------------
  api.openapi(route({ method: 'get', path: '/customers', tags: ['customers'] }), async (c) =>
    c.json({ items: await s.customers.list(P(c).tenantId) }, 200),
  );
  api.openapi(
    route({ method: 'post', path: '/customers', tags: ['customers'], request: { body: json(createCustomerSchema) } }),
    async (c) => c.json(await s.customers.create(P(c), c.req.valid('json')), 201),
  );
  api.openapi(
    route({ method: 'get', path: '/customers/{id}', tags: ['customers'], request: { params: idParam } }),
    async (c) => c.json(await s.customers.get(s.database.db, P(c).tenantId, c.req.valid('param').id), 200),
  );
  api.openapi(
    route({
      method: 'patch',
      path: '/customers/{id}',
      tags: ['customers'],
      description:
        "Edits the customer's name and custom `fields` (merged; each value checked against its field definition, null empties it). Admins, its owner, the owner's supervisor, and whoever owns or supervises the owner of an opportunity on it may. Its opportunities' ETags change with it.",
      request: { params: idParam, body: json(editCustomerSchema) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { changed, customer } = await s.customers.update(P(c), id, c.req.valid('json'));
      if (changed) s.notifyCustomer(P(c).tenantId, id);
      return c.json(customer, 200);
    },
  );
  api.openapi(
    route({
      method: 'post',
      path: '/customers/{id}/contacts',
      tags: ['customers'],
      description:
        "Adds a contact. `roles` are values of the `contact.role` field's options (直接联系人 `direct`, 关键决策人 `decisionMaker`, …; field management edits them): an unknown or archived one is 400 at `body.roles.N`. Who: as for `PATCH /customers/{id}`. The customer's opportunities' ETags and live gates (`minContacts`, `requiredContactRoles`) follow.",
      request: { params: idParam, body: json(createContactSchema) },
    }),
    async (c) => {
      const contact = await s.customers.addContact(P(c), c.req.valid('param').id, c.req.valid('json'));
      s.notifyCustomer(P(c).tenantId, c.req.valid('param').id);
      return c.json(contact, 201);
    },
  );
  api.openapi(
    route({
      method: 'patch',
      path: '/customers/{id}/contacts/{cid}',
      tags: ['customers'],
      description:
        "Edits a contact: `name`, `title`, `phone`, `email` (null empties one) and `roles` (the whole list; values of the `contact.role` field's options: an unknown one, or an archived one the contact does not hold already, is 400 at `body.roles.N`). Who: as for adding a contact. A change of roles changes the ETags of the customer's opportunities and refreshes their live gates (a stage's `requiredContactRoles`).",
      request: { params: idParam.extend({ cid: z.string().min(1).max(128) }), body: json(updateContactSchema) },
    }),
    async (c) => {
      const { id, cid } = c.req.valid('param');
      const { rolesChanged, contact } = await s.customers.updateContact(P(c), id, cid, c.req.valid('json'));
      if (rolesChanged) s.notifyCustomer(P(c).tenantId, id);
      return c.json(contact, 200);
    },
  );
  api.openapi(
    route({
      method: 'delete',
      path: '/customers/{id}/contacts/{cid}',
      tags: ['customers'],
      request: { params: idParam.extend({ cid: z.string().min(1).max(128) }) },
    }),
    async (c) => {
      const { id, cid } = c.req.valid('param');
      await s.customers.removeContact(P(c), id, cid);
      s.notifyCustomer(P(c).tenantId, id);
      return c.body(null, 204);
    },
  );
  return api;
}
