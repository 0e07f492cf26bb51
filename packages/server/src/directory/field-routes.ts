import {
  createFieldSchema,
  FIELD_OBJECTS,
  fieldKeySchema,
  fieldOrderSchema,
  updateFieldSchema,
} from '@sales-process/core';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Database } from '../db/open.js';
import { requireRole } from '../http/auth.js';
import { documented, featureRoutes, json, principalOf as P, route } from '../http/routes.js';
import { pumpEvents } from '../http/event-pump.js';
import { holding, type UserSlots } from '../http/user-slots.js';
import type { FieldChange, FieldService } from './fields.js';

const objectParam = z.object({ object: z.enum(FIELD_OBJECTS) });
const fieldParam = objectParam.extend({ key: fieldKeySchema });

/**
 * Field definitions (字段管理) of customers and opportunities: list, add, edit, reorder,
 * archive (never delete), and a stream of changes for screens that show them.
 */
export function fieldRoutes(s: {
  database: Database;
  fields: FieldService;
  /** Shared with the other event streams (http/user-slots.ts `eventStreamSlots`). */
  streamSlots: UserSlots;
}) {
  const api = featureRoutes();
  // Before `/fields/{object}`, which would take "stream" for an object.
  api.get('/fields/stream', (c) => {
    const p = P(c);
    const release = s.streamSlots.take(p);
    return streamSSE(
      c,
      holding(release, async (stream) => {
        stream.onAbort(release);
        await pumpEvents<FieldChange>(stream, 'fields', (push) => s.fields.subscribe(p.tenantId, push));
      }),
    );
  });
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/fields/stream',
    tags: ['fields'],
    summary:
      "Server-sent events: `fields` with `{object, key?, action}` each time an admin changes the tenant's fields (create, update, archive, reorder; from any instance)",
  });
  api.openapi(
    route({
      method: 'get',
      path: '/fields/{object}',
      tags: ['fields'],
      description:
        'Built-in fields first, then custom ones in their order. Archived fields and archived options are left out unless `includeArchived=true` (the field manager); those carry `archived: true`.',
      request: {
        params: objectParam,
        query: z.object({ includeArchived: z.enum(['true', 'false']).optional() }),
      },
    }),
    async (c) => {
      const { object } = c.req.valid('param');
      const includeArchived = c.req.valid('query').includeArchived === 'true';
      return c.json({ items: await s.fields.list(s.database.db, P(c).tenantId, object, includeArchived) }, 200);
    },
  );
  api.openapi(
    route({
      method: 'post',
      path: '/fields/{object}',
      tags: ['fields'],
      request: { params: objectParam, body: json(createFieldSchema) },
    }),
    async (c) => {
      requireRole(P(c), 'admin');
      return c.json(await s.fields.add(P(c), c.req.valid('param').object, c.req.valid('json')), 201);
    },
  );
  api.openapi(
    route({
      method: 'put',
      path: '/fields/{object}/order',
      tags: ['fields'],
      description:
        "Reorders the object's custom fields: `keys` names every custom field that is not archived, once each, in the new order (409 CONFLICT otherwise: a field was added or archived meanwhile). Answers the fields, archived included.",
      request: { params: objectParam, body: json(fieldOrderSchema) },
    }),
    async (c) => {
      requireRole(P(c), 'admin');
      return c.json({ items: await s.fields.reorder(P(c), c.req.valid('param').object, c.req.valid('json')) }, 200);
    },
  );
  // Archive before edit in the OpenAPI document: tools that replay it in order (api/bad-input.test.ts)
  // then restore what they archived with the edit's `archived: false`.
  api.openapi(
    route({
      method: 'delete',
      path: '/fields/{object}/{key}',
      tags: ['fields'],
      description:
        'Archives the field (never deletes it): pickers stop offering it, stored values keep showing with its label. 409 CONFLICT while a published process uses it: in a stage form, in its conditions (`appliesWhen`), or, for `contact.role`, by a stage requiring contact roles (details: one per process, with `processId`, `processName`, `stages`, `conditions`); and for `opportunity.lostReason` (archive its options instead). An option of `contact.role` may be archived: contacts keep it, and publishing a stage that requires it is refused.',
      request: { params: fieldParam },
    }),
    async (c) => {
      requireRole(P(c), 'admin');
      const { object, key } = c.req.valid('param');
      return c.json(await s.fields.archive(P(c), object, key), 200);
    },
  );
  api.openapi(
    route({
      method: 'patch',
      path: '/fields/{object}/{key}',
      tags: ['fields'],
      description:
        "Changes a custom field's label, options or `required`; `archived: false` restores an archived field. `options` is the whole list in display order: options are renamed, reordered, added or archived (`archived: true`), never removed (an option missing from the list is 409 CONFLICT). A select keeps at least one option that is not archived. Built-in fields are 409.",
      request: { params: fieldParam, body: json(updateFieldSchema) },
    }),
    async (c) => {
      requireRole(P(c), 'admin');
      const { object, key } = c.req.valid('param');
      return c.json(await s.fields.update(P(c), object, key, c.req.valid('json')), 200);
    },
  );
  return api;
}
