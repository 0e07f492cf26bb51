import { createProcessSchema, listProcessesQuery, publishSchema, wholeDraftSchema } from '@sales-process/core';
import type { Database } from '../db/open.js';
import { requireRole } from '../http/auth.js';
import { featureRoutes, idParam, json, principalOf as P, route } from '../http/routes.js';
import type { Principal } from '../http/auth.js';
import type { ProcessService } from './service.js';

/** Processes: list, create, the draft (REST side of the designer), publishing, status, removal. */
export function processRoutes(s: { database: Database; processes: ProcessService }) {
  const api = featureRoutes();
  /** Admin work on one process: 404 for ids outside the tenant comes before 403. */
  const adminOnProcess = async (c: { get(key: 'principal'): Principal }, id: string) => {
    await s.processes.row(s.database.db, P(c).tenantId, id);
    requireRole(P(c), 'admin');
  };

  api.openapi(
    route({
      method: 'get',
      path: '/processes',
      tags: ['processes'],
      description:
        'Lists the processes, each with its conditions (`appliesWhen`: `[{source: "customer" | "opportunity", key, values}]`). `status` filters; `usableBy` keeps the enabled ones the user\'s department (or an ancestor) may use (404 for no such user). `customerId` (404 for no such customer) and/or `fields` (the opportunity\'s custom field values as a JSON object, e.g. `{"productLine":"hardware"}`; 400 at `query.fields` when not an object) judge each process: `applies` (no condition fails), `unmet` (the conditions that fail) and `undecided` (conditions on customer values without `customerId`, on opportunity values without `fields`: not judged, not hidden), and the answer gains `suggestedId`: the one enabled process that applies when exactly one does, else null (what `POST /opportunities` without `processId` would take, given the same values).',
      request: { query: listProcessesQuery },
    }),
    async (c) => c.json(await s.processes.list(P(c).tenantId, c.req.valid('query')), 200),
  );
  api.openapi(
    route({ method: 'post', path: '/processes', tags: ['processes'], request: { body: json(createProcessSchema) } }),
    async (c) => {
      requireRole(P(c), 'admin');
      return c.json(await s.processes.create(P(c), c.req.valid('json')), 201);
    },
  );
  api.openapi(
    route({ method: 'get', path: '/processes/{id}', tags: ['processes'], request: { params: idParam } }),
    async (c) => c.json(await s.processes.get(P(c).tenantId, c.req.valid('param').id), 200),
  );
  api.openapi(
    route({ method: 'get', path: '/processes/{id}/draft', tags: ['processes'], request: { params: idParam } }),
    async (c) => {
      await adminOnProcess(c, c.req.valid('param').id);
      return c.json(await s.processes.getDraft(P(c).tenantId, c.req.valid('param').id), 200);
    },
  );
  api.openapi(
    route({
      method: 'put',
      path: '/processes/{id}/draft',
      tags: ['processes'],
      request: { params: idParam, body: json(wholeDraftSchema) },
      description:
        'Replaces the draft with the body, which is the whole draft as `GET` answers it: every key of the definition, its stages, fields, terminal states and rules is required (400 at each missing path, never reset to empty), and a stage id repeated in a phase, a field repeated in a stage or a repeated department is 400. There is no partial update.',
    }),
    async (c) => {
      await adminOnProcess(c, c.req.valid('param').id);
      return c.json(await s.processes.putDraft(P(c), c.req.valid('param').id, c.req.valid('json')), 200);
    },
  );
  api.openapi(
    route({
      method: 'post',
      path: '/processes/{id}/publish/preview',
      tags: ['processes'],
      request: { params: idParam, body: json(publishSchema) },
    }),
    async (c) => {
      await adminOnProcess(c, c.req.valid('param').id);
      return c.json(await s.processes.preview(P(c), c.req.valid('param').id, c.req.valid('json')), 200);
    },
  );
  api.openapi(
    route({
      method: 'post',
      path: '/processes/{id}/publish',
      tags: ['processes'],
      request: { params: idParam, body: json(publishSchema) },
    }),
    async (c) => {
      await adminOnProcess(c, c.req.valid('param').id);
      return c.json(await s.processes.publish(P(c), c.req.valid('param').id, c.req.valid('json')), 200);
    },
  );
  for (const status of ['enable', 'disable'] as const) {
    api.openapi(
      route({ method: 'post', path: `/processes/{id}/${status}`, tags: ['processes'], request: { params: idParam } }),
      async (c) => {
        await adminOnProcess(c, c.req.valid('param').id);
        return c.json(
          await s.processes.setStatus(P(c), c.req.valid('param').id, status === 'enable' ? 'enabled' : 'disabled'),
          200,
        );
      },
    );
  }
  api.openapi(
    route({ method: 'delete', path: '/processes/{id}', tags: ['processes'], request: { params: idParam } }),
    async (c) => {
      await adminOnProcess(c, c.req.valid('param').id);
      await s.processes.remove(P(c), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  return api;
}
