import {
  changeProcessSchema,
  completeStageSchema,
  createOpportunitySchema,
  createOrderSchema,
  decisionSchema,
  listOpportunitiesQuery,
  loseSchema,
  moveBackSchema,
  plainCommandSchema,
  postSaleStaffSchema,
  stageFormSchema,
} from '@sales-process/core';
import { z } from 'zod';
import { featureRoutes, idParam, json, principalOf as P, route } from '../http/routes.js';
import { parseIfMatch, type Expected, type OpportunityService } from './service.js';

/** What a command's caller saw: `expectedStageId` in its body, `If-Match` with the ETag of GET /opportunities/{id}. */
const expectedOf = (c: { req: { header(name: string): string | undefined } }, body: unknown): Expected => ({
  stageId: (body as { expectedStageId?: string | null } | undefined)?.expectedStageId,
  revs: parseIfMatch(c.req.header('if-match')),
});

/** Opportunities (create, list, view, stage form, commands, orders, post-sale staff) and approvals. */
export function opportunityRoutes(s: { opportunities: OpportunityService }) {
  const api = featureRoutes();

  api.openapi(
    route({
      method: 'post',
      path: '/opportunities',
      tags: ['opportunities'],
      request: { body: json(createOpportunitySchema) },
    }),
    async (c) => c.json(await s.opportunities.create(P(c), c.req.valid('json')), 201),
  );
  api.openapi(
    route({
      method: 'get',
      path: '/opportunities',
      tags: ['opportunities'],
      request: { query: listOpportunitiesQuery },
    }),
    async (c) => c.json(await s.opportunities.list(P(c), c.req.valid('query')), 200),
  );
  api.openapi(
    route({ method: 'get', path: '/opportunities/{id}', tags: ['opportunities'], request: { params: idParam } }),
    async (c) => {
      const { view, etag } = await s.opportunities.getTagged(P(c), c.req.valid('param').id);
      return c.json(view, 200, { etag });
    },
  );
  api.openapi(
    route({
      method: 'put',
      path: '/opportunities/{id}/stage-form',
      tags: ['opportunities'],
      request: { params: idParam, body: json(stageFormSchema) },
    }),
    async (c) =>
      c.json(
        await s.opportunities.saveStageForm(
          P(c),
          c.req.valid('param').id,
          c.req.valid('json').values,
          expectedOf(c, c.req.valid('json')),
        ),
        200,
      ),
  );
  const command = (
    path: string,
    body: z.ZodType | null,
    toAction: (b: any) => Parameters<OpportunityService['command']>[2],
  ) =>
    api.openapi(
      route({
        method: 'post',
        path: `/opportunities/{id}/${path}`,
        tags: ['opportunities'],
        request: { params: idParam, ...(body ? { body: json(body, false) } : {}) },
        responses: { 202: { description: 'Approval requested' } },
      }),
      async (c) => {
        const b = body ? ((c.req.valid as (t: 'json') => unknown)('json') ?? {}) : {};
        const result = await s.opportunities.command(
          P(c),
          c.req.valid('param').id,
          toAction(b),
          (b as { comment?: string }).comment,
          expectedOf(c, b),
        );
        return c.json(result.body as object, result.status, result.etag ? { etag: result.etag } : {});
      },
    );
  command('complete-stage', completeStageSchema, (b) => ({ type: 'completeStage', toStageId: b.toStageId }));
  command('move-back', moveBackSchema, (b) => ({ type: 'moveBack', stageId: b.stageId }));
  command('win', plainCommandSchema, () => ({ type: 'win' }));
  command('lose', loseSchema, (b) => ({ type: 'lose', reason: b.reason ?? null }));
  command('invalidate', plainCommandSchema, () => ({ type: 'invalidate' }));
  api.openapi(
    route({
      method: 'post',
      path: '/opportunities/{id}/change-process',
      tags: ['opportunities'],
      request: { params: idParam, body: json(changeProcessSchema) },
    }),
    async (c) =>
      c.json(
        await s.opportunities.changeProcess(
          P(c),
          c.req.valid('param').id,
          c.req.valid('json').processId,
          expectedOf(c, c.req.valid('json')),
        ),
        200,
      ),
  );
  api.openapi(
    route({
      method: 'get',
      path: '/opportunities/{id}/history',
      tags: ['opportunities'],
      request: { params: idParam },
    }),
    async (c) => c.json(await s.opportunities.history(P(c), c.req.valid('param').id), 200),
  );
  api.openapi(
    route({ method: 'get', path: '/opportunities/{id}/orders', tags: ['opportunities'], request: { params: idParam } }),
    async (c) => c.json(await s.opportunities.listOrders(P(c), c.req.valid('param').id), 200),
  );
  api.openapi(
    route({
      method: 'post',
      path: '/opportunities/{id}/orders',
      tags: ['opportunities'],
      request: { params: idParam, body: json(createOrderSchema) },
    }),
    async (c) =>
      c.json(
        await s.opportunities.createOrder(
          P(c),
          c.req.valid('param').id,
          c.req.valid('json').amount,
          expectedOf(c, c.req.valid('json')),
        ),
        201,
      ),
  );
  api.openapi(
    route({
      method: 'put',
      path: '/opportunities/{id}/post-sale-staff',
      tags: ['opportunities'],
      request: { params: idParam, body: json(postSaleStaffSchema) },
    }),
    async (c) =>
      c.json(
        await s.opportunities.setPostsaleStaff(
          P(c),
          c.req.valid('param').id,
          c.req.valid('json').userIds,
          expectedOf(c, c.req.valid('json')),
        ),
        200,
      ),
  );

  // ---- approvals -----------------------------------------------------------------------
  api.openapi(
    route({
      method: 'get',
      path: '/approvals',
      tags: ['approvals'],
      request: { query: z.object({ state: z.enum(['pending', 'approved', 'rejected', 'cancelled']).optional() }) },
    }),
    async (c) => c.json(await s.opportunities.listApprovals(P(c), c.req.valid('query').state), 200),
  );
  for (const decision of ['approve', 'reject'] as const) {
    api.openapi(
      route({
        method: 'post',
        path: `/approvals/{id}/${decision}`,
        tags: ['approvals'],
        request: { params: idParam, body: json(decisionSchema, false) },
      }),
      async (c) => {
        const body = (c.req.valid as (t: 'json') => { comment?: string } | undefined)('json') ?? {};
        return c.json(
          await s.opportunities.decideApproval(P(c), c.req.valid('param').id, decision, body.comment ?? ''),
          200,
        );
      },
    );
  }
  return api;
}
