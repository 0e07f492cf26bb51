import { createFieldSchema, FIELD_OBJECTS } from '@sales-process/core';
import { z } from 'zod';
import type { Database } from '../db/open.js';
import { requireRole } from '../http/auth.js';
import { featureRoutes, json, principalOf as P, route } from '../http/routes.js';
import type { FieldService } from './fields.js';

const objectParam = z.object({ object: z.enum(FIELD_OBJECTS) });

/** Field definitions (字段管理) of customers and opportunities. */
export function fieldRoutes(s: { database: Database; fields: FieldService }) {
  const api = featureRoutes();
  api.openapi(
    route({ method: 'get', path: '/fields/{object}', tags: ['fields'], request: { params: objectParam } }),
    async (c) => {
      const { object } = c.req.valid('param');
      return c.json({ items: await s.fields.list(s.database.db, P(c).tenantId, object) }, 200);
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
      return c.json(await s.fields.add(P(c).tenantId, c.req.valid('param').object, c.req.valid('json')), 201);
    },
  );
  return api;
}
