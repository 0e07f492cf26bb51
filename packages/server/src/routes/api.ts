import { createRoute, OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import {
  changeProcessSchema,
  completeStageSchema,
  createContactSchema,
  createCustomerSchema,
  createFieldSchema,
  createOpportunitySchema,
  createOrderSchema,
  createProcessSchema,
  decisionSchema,
  directorySyncSchema,
  FIELD_OBJECTS,
  isoDateSchema,
  listOpportunitiesQuery,
  loseSchema,
  moveBackSchema,
  plainCommandSchema,
  postSaleStaffSchema,
  wholeDraftSchema,
  publishSchema,
  stageFormSchema,
  strictBody,
  webhookSchema,
  targetPlanSchema,
} from '@sales-process/core';
import { streamSSE } from 'hono/streaming';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../http/errors.js';
import { MAX_FILE_BYTES } from '../files/service.js';
import { z } from 'zod';
import { requireRole } from '../http/auth.js';
import { idempotency } from '../http/idempotency.js';
import { jsonRequests } from '../http/json-body.js';
import { NOSNIFF } from '../http/security-headers.js';
import { holding, UserSlots } from '../http/user-slots.js';
import { parseIfMatch, type Expected } from '../opportunities/service.js';
import { validationError } from '../http/errors.js';
import type { AppEnv, Services } from '../app.js';

const idParam = z.object({ id: z.string().min(1).max(128) });
const objectParam = z.object({ object: z.enum(FIELD_OBJECTS) });
const ok = { 200: { description: 'OK' } } as const;
/** A JSON request body: strict however deep (unknown keys are 400 at their path, API.md). */
const json = <T extends z.ZodType>(schema: T, required = true) => ({
  content: { 'application/json': { schema: strictBody(schema) } },
  required,
});
/** What a write with no body of its own accepts: nothing, or an empty object. */
const noBody = json(z.object({}), false);
const WRITE_METHODS = new Set(['post', 'put', 'patch', 'delete']);

const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  schema: { type: 'string', maxLength: 255 },
  description:
    'The same key from the same user on the same method and path within 24 h answers the first answer again (Idempotent-Replayed: true) without acting; the same key with another body, query, If-Match or roles is 409 CONFLICT (idempotency-key-reused).',
} as const;
const IF_MATCH = {
  name: 'If-Match',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'The ETag of GET /opportunities/{id}: if the opportunity changed since, 409 STALE_STATE.',
} as const;

/** A route with the standard error responses documented. */
function route<R extends Omit<RouteConfig, 'responses'> & { responses?: RouteConfig['responses'] }>(config: R) {
  return createRoute({
    ...config,
    // A write without a body schema still refuses a body it would ignore.
    ...(WRITE_METHODS.has(config.method) && !config.request?.body
      ? { request: { ...config.request, body: noBody } }
      : {}),
    security: [{ bearer: [] }],
    // Documented, not validated here: http/idempotency.ts and the commands read them.
    ...(config.method === 'post' || (WRITE_METHODS.has(config.method) && config.path.startsWith('/opportunities/{id}/'))
      ? {
          parameters: [
            ...(config.method === 'post' ? [IDEMPOTENCY_KEY] : []),
            ...(config.path.startsWith('/opportunities/{id}/') ? [IF_MATCH] : []),
          ],
        }
      : {}),
    responses: {
      ...ok,
      ...config.responses,
      ...(WRITE_METHODS.has(config.method)
        ? {
            409: {
              description:
                'CONFLICT (among others: an Idempotency-Key reused with another body, or still in progress) · STALE_STATE (expectedStageId or If-Match no longer true)',
            },
          }
        : {}),
      400: { description: 'VALIDATION_FAILED' },
      401: { description: 'UNAUTHENTICATED' },
      403: { description: 'FORBIDDEN' },
      404: { description: 'NOT_FOUND' },
      422: { description: 'A rule refused it (STAGE_GATES_UNMET, ORDER_REQUIRED, …)' },
    },
  } as RouteConfig) as unknown as R & { responses: RouteConfig['responses'] };
}

/** A file as a download: never rendered in place, never sniffed into something runnable. */
function downloadHeaders(f: { mime: string; name: string }): Record<string, string> {
  const ascii = f.name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(f.name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return {
    'content-type': f.mime,
    'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`,
    ...NOSNIFF,
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, no-store',
  };
}

export function apiRoutes(s: Services) {
  const api = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success)
        throw validationError(
          result.error as z.ZodError,
          result.target === 'json' ? 'body' : result.target === 'param' ? 'param' : 'query',
        );
    },
  });
  const P = (c: { get(key: 'principal'): AppEnv['Variables']['principal'] }) => c.get('principal');
  /** Event streams one user may hold open at once (each is a socket and a subscription): 429 past it. */
  const streamSlots = new UserSlots(10, { zh: '事件流', en: 'event streams' });
  /** What a command's caller saw: `expectedStageId` in its body, `If-Match` with the ETag of GET /opportunities/{id}. */
  const expectedOf = (c: { req: { header(name: string): string | undefined } }, body: unknown): Expected => ({
    stageId: (body as { expectedStageId?: string | null } | undefined)?.expectedStageId,
    revs: parseIfMatch(c.req.header('if-match')),
  });
  // Any POST may carry an Idempotency-Key: a retry answers the first answer again.
  api.use('*', idempotency(s.ctx));
  // Content types, JSON depth and text rules on every request, before any schema (http/json-body.ts).
  api.use('*', jsonRequests({ rawBody: (method, path) => method === 'POST' && path.endsWith('/v1/files') }));
  /** Admin work on one process: 404 for ids outside the tenant comes before 403. */
  const adminOnProcess = async (c: { get(key: 'principal'): AppEnv['Variables']['principal'] }, id: string) => {
    await s.processes.row(s.ctx.database.db, P(c).tenantId, id);
    requireRole(P(c), 'admin');
  };

  // ---- directory and fields ----------------------------------------------------------
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
    const user = await s.directory.user(s.ctx.database.db, p.tenantId, p.userId);
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
  api.openapi(
    route({ method: 'get', path: '/fields/{object}', tags: ['fields'], request: { params: objectParam } }),
    async (c) => {
      const { object } = c.req.valid('param');
      return c.json({ items: await s.fields.list(s.ctx.database.db, P(c).tenantId, object) }, 200);
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
      return c.json(await s.tenants.updateSettings(P(c).tenantId, c.req.valid('json')), 200);
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
    async (c) => c.json(await s.customers.get(s.ctx.database.db, P(c).tenantId, c.req.valid('param').id), 200),
  );
  api.openapi(
    route({
      method: 'post',
      path: '/customers/{id}/contacts',
      tags: ['customers'],
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

  // ---- processes -----------------------------------------------------------------------
  api.openapi(
    route({
      method: 'get',
      path: '/processes',
      tags: ['processes'],
      request: {
        query: z.object({
          status: z.enum(['enabled', 'disabled']).optional(),
          usableBy: z.string().max(128).optional(),
        }),
      },
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

  // ---- opportunities -------------------------------------------------------------------
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
    toAction: (b: any) => Parameters<Services['opportunities']['command']>[2],
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

  // ---- analytics (SPEC §7) ---------------------------------------------------------------
  const funnelQuery = z.object({
    processId: z.string().min(1).max(128),
    from: isoDateSchema.optional(),
    to: isoDateSchema.optional(),
    departmentId: z.string().max(128).optional(),
    ownerId: z.string().max(128).optional(),
  });
  api.openapi(
    route({ method: 'get', path: '/analytics/funnel', tags: ['analytics'], request: { query: funnelQuery } }),
    async (c) => c.json(await s.analytics.funnel(P(c), c.req.valid('query')), 200),
  );
  api.openapi(
    route({
      method: 'post',
      path: '/analytics/target-plan',
      tags: ['analytics'],
      request: { body: json(targetPlanSchema) },
    }),
    async (c) => c.json(await s.analytics.targetPlan(P(c), c.req.valid('json')), 200),
  );
  api.get('/analytics/stream', async (c) => {
    const p = P(c);
    const processId = c.req.query('processId') ?? '';
    await s.processes.row(s.ctx.database.db, p.tenantId, processId);
    s.analytics.mayRead(p);
    const release = streamSlots.take(p);
    return streamSSE(
      c,
      holding(release, async (stream) => {
        stream.onAbort(release);
        let wake: (() => void) | null = null;
        let changed = false;
        const off = s.analyticsBus.subscribe(p.tenantId, processId, () => {
          changed = true;
          wake?.();
        });
        stream.onAbort(() => wake?.());
        await stream.writeSSE({ event: 'ready', data: '{}' });
        while (!stream.aborted && !stream.closed) {
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 25_000);
          });
          wake = null;
          if (stream.aborted) break;
          await stream.writeSSE({ event: changed ? 'changed' : 'ping', data: '{}' });
          changed = false;
        }
        off();
      }),
    );
  });

  // ---- files (stage form attachments) ------------------------------------------------------
  api.post(
    '/files',
    bodyLimit({
      maxSize: MAX_FILE_BYTES + 4096,
      onError: () => {
        throw new ApiError('PAYLOAD_TOO_LARGE', [
          { limit: MAX_FILE_BYTES, message: { zh: '文件不能超过 10 MiB', en: 'Files may not exceed 10 MiB' } },
        ]);
      },
    }),
    async (c) => {
      const header = c.req.header('x-file-name');
      const name =
        header !== undefined
          ? decodeFileName(header, 'header.x-file-name')
          : decodeFileName(c.req.query('name') ?? 'file', 'query.name');
      const data = new Uint8Array(await c.req.arrayBuffer());
      return c.json(
        await s.files.upload(P(c), name, c.req.header('content-type') ?? 'application/octet-stream', data),
        201,
      );
    },
  );
  api.get('/files/:id', async (c) => {
    const f = await s.files.get(P(c), c.req.param('id'));
    return c.body(f.data as Uint8Array<ArrayBuffer>, 200, downloadHeaders(f));
  });
  // Signed links: a URL that downloads one file for 5 minutes without a token, for `<a href>`
  // and `window.open` (which cannot send Authorization) with no token in the URL.
  api.openapi(
    route({
      method: 'post',
      path: '/files/{id}/link',
      tags: ['files'],
      request: { params: idParam },
      description:
        'A download link for the file, valid 5 minutes, that needs no Authorization: `{url, expiresAt}`; `url` is relative to the server.',
    }),
    async (c) => c.json(await s.files.link(P(c), c.req.valid('param').id), 200),
  );
  api.openapi(
    createRoute({
      method: 'get',
      path: '/files/{id}/content',
      tags: ['files'],
      security: [],
      description:
        'The bytes of a file by a signed link from `POST /files/{id}/link` (no Authorization). 403 FORBIDDEN for a wrong, tampered or expired link.',
      request: {
        params: idParam,
        query: z.object({ exp: z.string().max(20).optional(), sig: z.string().max(128).optional() }),
      },
      responses: {
        200: { description: 'The file, as an attachment' },
        403: { description: 'FORBIDDEN: the link is not valid or has expired' },
      },
    }),
    async (c) => {
      const { exp, sig } = c.req.valid('query');
      const f = await s.files.content(c.req.valid('param').id, exp, sig);
      return c.body(f.data as Uint8Array<ArrayBuffer>, 200, downloadHeaders(f)) as never;
    },
  );

  // ---- notifications and the host webhook ------------------------------------------------
  api.openapi(
    route({
      method: 'get',
      path: '/notifications',
      tags: ['notifications'],
      request: {
        query: z.object({
          unread: z.enum(['true', 'false']).optional(),
          cursor: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json(
        await s.notifications.list(P(c), { unread: q.unread === 'true', cursor: q.cursor, limit: q.limit }),
        200,
      );
    },
  );
  api.openapi(
    route({ method: 'post', path: '/notifications/{id}/read', tags: ['notifications'], request: { params: idParam } }),
    async (c) => c.json(await s.notifications.markRead(P(c), c.req.valid('param').id), 200),
  );
  api.get('/notifications/stream', (c) => {
    const p = P(c);
    const release = streamSlots.take(p);
    return streamSSE(
      c,
      holding(release, async (stream) => {
        stream.onAbort(release);
        const queue: Record<string, unknown>[] = [];
        let wake: (() => void) | null = null;
        const off = s.notifications.subscribe(p.tenantId, p.userId, (n) => {
          queue.push(n);
          wake?.();
        });
        stream.onAbort(() => {
          off();
          wake?.();
        });
        await stream.writeSSE({ event: 'ready', data: '{}' });
        while (!stream.aborted && !stream.closed) {
          while (queue.length) await stream.writeSSE({ event: 'notification', data: JSON.stringify(queue.shift()) });
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 25_000); // keep-alive
          });
          wake = null;
          if (!queue.length && !stream.aborted) await stream.writeSSE({ event: 'ping', data: '{}' });
        }
        off();
      }),
    );
  });
  api.openapi(route({ method: 'get', path: '/webhook', tags: ['notifications'] }), async (c) => {
    requireRole(P(c), 'admin');
    return c.json(await s.webhooks.get(P(c)), 200);
  });
  api.openapi(
    route({ method: 'put', path: '/webhook', tags: ['notifications'], request: { body: json(webhookSchema) } }),
    async (c) => {
      requireRole(P(c), 'admin');
      return c.json(await s.webhooks.configure(P(c), c.req.valid('json')), 200);
    },
  );
  api.openapi(route({ method: 'delete', path: '/webhook', tags: ['notifications'] }), async (c) => {
    requireRole(P(c), 'admin');
    await s.webhooks.configure(P(c), null);
    return c.body(null, 204);
  });
  api.openapi(route({ method: 'get', path: '/webhook/deliveries', tags: ['notifications'] }), async (c) => {
    requireRole(P(c), 'admin');
    return c.json(await s.webhooks.deliveries(P(c)), 200);
  });

  // Routes served by plain handlers (raw bodies, downloads, event streams), documented here.
  const documented = {
    security: [{ bearer: [] }],
    responses: {
      200: { description: 'OK' },
      400: { description: 'VALIDATION_FAILED' },
      401: { description: 'UNAUTHENTICATED' },
      404: { description: 'NOT_FOUND' },
    },
  };
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'post',
    path: '/files',
    tags: ['files'],
    summary: 'Upload a stage form attachment (the raw file as the body, any media type)',
    request: {
      headers: z.object({
        'x-file-name': z.string().optional().describe('The file name, percent-encoded (encodeURIComponent)'),
      }),
      query: z.object({
        name: z.string().optional().describe('The file name when there is no X-File-Name, percent-encoded'),
      }),
      body: { content: { '*/*': { schema: z.string().describe('binary') } }, required: true },
    },
    responses: {
      ...documented.responses,
      201: { description: '{id, name, size}: the value a `file` field takes' },
      413: { description: 'PAYLOAD_TOO_LARGE' },
    },
  });
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/files/{id}',
    tags: ['files'],
    summary: 'Download an attachment',
    request: { params: idParam },
  });
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/analytics/stream',
    tags: ['analytics'],
    summary: 'Server-sent events: `changed` when the funnel figures of a process change',
    request: { query: z.object({ processId: z.string().min(1).max(128) }) },
  });
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/notifications/stream',
    tags: ['notifications'],
    summary: "Server-sent events: the user's new notifications",
  });

  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  return api;
}

/** A percent-encoded file name (encodeURIComponent); a malformed escape is 400 at `where`. */
function decodeFileName(raw: string, where: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError('VALIDATION_FAILED', [
      { path: where, message: { zh: '文件名的百分号编码不正确', en: 'The file name is not validly percent-encoded' } },
    ]);
  }
}
