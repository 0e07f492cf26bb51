import {
  commandBatchSchema,
  changeProcessPreviewQuery,
  changeProcessSchema,
  completeStageSchema,
  createOpportunitySchema,
  createOrderSchema,
  decisionSchema,
  editOpportunitySchema,
  listOpportunitiesQuery,
  loseSchema,
  moveBackSchema,
  opportunityStreamQuery,
  plainCommandSchema,
  postSaleStaffSchema,
  reassignSchema,
  reopenSchema,
  stageFormSchema,
} from '@sales-process/core';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { preferredLang, validationError, type ApiError } from '../http/errors.js';
import { documented, featureRoutes, idParam, json, principalOf as P, route } from '../http/routes.js';
import { holding, type UserSlots } from '../http/user-slots.js';
import { parseIfMatch, type Expected, type FeedMessage, type OpportunityService } from './service.js';

/** What a command's caller saw: `expectedStageId` in its body, `If-Match` with the ETag of GET /opportunities/{id}. */
const expectedOf = (c: { req: { header(name: string): string | undefined } }, body: unknown): Expected => ({
  stageId: (body as { expectedStageId?: string | null } | undefined)?.expectedStageId,
  revs: parseIfMatch(c.req.header('if-match')),
});

/** A per-item refusal as the envelope's `error` says it, in the caller's language. */
const itemError = (error: ApiError, lang: 'zh' | 'en') => ({
  code: error.code,
  message: error.text[lang],
  messages: error.text,
  details: error.details,
});

/**
 * Opportunities (create, list, stream, view, edit, reassign, stage form, commands one by one
 * and in batches, orders, post-sale staff) and approvals.
 */
export function opportunityRoutes(s: {
  opportunities: OpportunityService;
  /** Shared with the other event streams (http/user-slots.ts `eventStreamSlots`). */
  streamSlots: UserSlots;
}) {
  const api = featureRoutes();

  api.openapi(
    route({
      method: 'post',
      path: '/opportunities',
      tags: ['opportunities'],
      description:
        "Creates an opportunity at its process's first stage. The process must be enabled (422 PROCESS_DISABLED) and usable by the owner's department (422 PROCESS_NOT_APPLICABLE), and its field conditions (`appliesWhen`) must hold for the customer's values and the opportunity's `fields` (422 PROCESS_NOT_APPLICABLE, one detail per unmet condition `{source, key, values, message}` naming the field and values by label). Without `processId`: the one enabled process usable by the owner whose conditions hold, when exactly one does; none or several is 400 at `body.processId` (`details[0].candidates`: the ids that apply). `GET /processes?usableBy=&customerId=&fields=` answers the same choice beforehand (`suggestedId`). Editing the opportunity later (`PATCH`) does not check the conditions again.",
      request: { body: json(createOpportunitySchema) },
    }),
    async (c) => c.json(await s.opportunities.create(P(c), c.req.valid('json')), 201),
  );
  api.openapi(
    route({
      method: 'get',
      path: '/opportunities',
      tags: ['opportunities'],
      description:
        "The opportunities the caller may read (admins and analysts: all; others their own, their direct reports' and those they work post-sale), newest first, filtered by `processId`, `status` (`open` for a board), `ownerId` and `stageId`; pages of `limit` (default 50, at most 500) with `nextCursor` (null on the last page). Each item is the opportunity's view as `GET /opportunities/{id}` answers it (`id, name, customerId, customerName, amount, currency, ownerId, ownerName, departmentId, processId, processVersion, stageId, stageName, stageEnteredAt, daysInStage, status, phase, winRate, weightedAmount, overdue` (post-sale, past its stage's `overdueAfterDays`), gates, actions, …) and also `rev` (the revision its ETag names), `remindAfterDays` (of its current stage; null when it has none) and `stale` (open and in its stage at least `remindAfterDays` days).",
      request: { query: listOpportunitiesQuery },
    }),
    async (c) => c.json(await s.opportunities.list(P(c), c.req.valid('query')), 200),
  );
  // Before `/opportunities/{id}`, which would take "stream" for an id.
  api.get('/opportunities/stream', async (c) => {
    const p = P(c);
    const query = opportunityStreamQuery.safeParse({ processId: c.req.query('processId') });
    if (!query.success) throw validationError(query.error, 'query');
    const release = s.streamSlots.take(p);
    let stop: (() => void) | undefined;
    const queue: FeedMessage[] = [];
    let wake: (() => void) | null = null;
    try {
      // Listening before the stream's `ready`: nothing committed after it is missed.
      stop = await s.opportunities.follow(p, query.data.processId, (m) => {
        queue.push(m);
        wake?.();
      });
    } catch (error) {
      release();
      throw error;
    }
    return streamSSE(
      c,
      holding(release, async (stream) => {
        stream.onAbort(() => {
          stop?.();
          release();
          wake?.();
        });
        try {
          await stream.writeSSE({ event: 'ready', data: '{}' });
          while (!stream.aborted && !stream.closed) {
            while (queue.length) {
              const m = queue.shift()!;
              await stream.writeSSE({ event: m.event, data: JSON.stringify(m.data) });
            }
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 25_000); // keep-alive
            });
            wake = null;
            if (!queue.length && !stream.aborted) await stream.writeSSE({ event: 'ping', data: '{}' });
          }
        } finally {
          stop?.();
        }
      }),
    );
  });
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/opportunities/stream',
    tags: ['opportunities'],
    summary: 'Server-sent events: changes to the opportunities the caller may read (a board follows them)',
    description:
      'Server-sent events, authenticated as every request (`Authorization: Bearer`); at most 10 event streams per user across kinds (429 RATE_LIMITED past it). `ready` once listening, then for each committed change (a move, an approval requested or decided, an edit, a stage form, a reassignment, a reopen, a change of process, a new opportunity), on whichever instance: `opportunity` with `{id, rev, processId, stageId, status, phase, ownerId}` when the caller may read it (and it is of `processId`, when given); `removed` with `{id}` when the change took it out of what this stream shows (reassigned away from the caller, post-sale staff changed, moved to another process). `ping` after 25 s of quiet. Events are at-least-once and may repeat a `rev`: keep the highest. An unknown `processId` is 404.',
    request: { query: opportunityStreamQuery },
  });
  api.openapi(
    route({ method: 'get', path: '/opportunities/{id}', tags: ['opportunities'], request: { params: idParam } }),
    async (c) => {
      const { view, etag } = await s.opportunities.getTagged(P(c), c.req.valid('param').id);
      return c.json(view, 200, { etag });
    },
  );
  api.openapi(
    route({
      method: 'patch',
      path: '/opportunities/{id}',
      tags: ['opportunities'],
      description:
        'Edits the record: name, amount, currency, expected close date and custom `fields` (merged; each value checked against its field definition, null empties it). Its owner, the owner\'s supervisor and admins may, in any status. Takes `expectedStageId` and `If-Match`; bumps the ETag; recorded in the history as a change (`action: "edit"`, `changes: {key: [before, after]}`, `reason`).',
      request: { params: idParam, body: json(editOpportunitySchema) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { view, etag } = await s.opportunities.edit(P(c), c.req.valid('param').id, body, expectedOf(c, body));
      return c.json(view, 200, { etag });
    },
  );
  api.openapi(
    route({
      method: 'post',
      path: '/opportunities/reassign',
      tags: ['opportunities'],
      description:
        'Gives opportunities to `toOwnerId` (a user of the tenant, else 400): those named in `opportunityIds`, or every open one of `fromOwnerId` (post-sale ones still moving included). Admins and the current owner\'s direct supervisor may (403 when the caller may move none of them). The department follows the new owner. Answered per opportunity: `moved` (with its new ETag) or `refused` with its error (NOT_FOUND, FORBIDDEN, INVALID_TRANSITION for a closed one or one the new owner has). Each move is recorded in its history (`action: "reassign"`, `reason`).',
      request: { body: json(reassignSchema) },
    }),
    async (c) => {
      const lang = preferredLang(c);
      const items = (await s.opportunities.reassign(P(c), c.req.valid('json'))).map((r) =>
        r.result === 'moved'
          ? r
          : {
              opportunityId: r.opportunityId,
              result: r.result,
              error: itemError(r.error, lang),
            },
      );
      return c.json(
        {
          toOwnerId: c.req.valid('json').toOwnerId,
          moved: items.filter((r) => r.result === 'moved').length,
          refused: items.filter((r) => r.result === 'refused').length,
          items,
        },
        200,
      );
    },
  );
  api.openapi(
    route({
      method: 'post',
      path: '/opportunities/commands',
      tags: ['opportunities'],
      description:
        'Up to 500 stage commands in one request (a board\'s drag or bulk action): `{commands: [{opportunityId, type: "completeStage" | "moveBack" | "win" | "lose" | "invalidate" | "reopen", expectedStageId?, toStageId?, stageId?, reason?, comment?}]}`, each with the keys of its single endpoint\'s body (`toStageId` for completeStage; `stageId`, required, for moveBack and reopen; `reason` and `comment` for lose; `comment` for reopen; another key is 400 at its path), each opportunity at most once (400 at `body.commands.N.opportunityId`). Each is decided exactly as `POST /opportunities/{id}/complete-stage`, `/move-back`, `/win`, `/lose`, `/invalidate` or `/reopen` decides it (who may act, `expectedStageId`, the lost reason, the gates, the approval a stage needs, the order rules, the post-sale team a win assigns; its history row, cancelled approval, webhook event, notifications and live refresh alike) and answered in order: `200 {items: [{opportunityId, result, status?, phase?, stageId?, rev?, error?}]}` with `result` `moved` (where it is now), `approvalRequested` (the supervisor\'s approval is pending, as a 202 of the single endpoint), `stale` (`expectedStageId` is no longer its stage: `error` STALE_STATE with its stage, status and ETag) or `refused` (`error` `{code, message, messages, details}` as the single endpoint would answer: STAGE_GATES_UNMET with one detail per unmet gate, INVALID_TRANSITION, ORDER_REQUIRED, FORBIDDEN, NOT_FOUND, VALIDATION_FAILED at `body.commands.N.reason` for a reason that is not offered, …). `status`, `phase`, `stageId` and `rev` are given for opportunities the caller may read. One transaction: the batch\'s opportunities are locked in id order, decided together, and the moves, history rows and approval requests written in a few statements; a refused or stale item writes nothing and holds back no other. Takes `Idempotency-Key`; no `If-Match` (each item has its `expectedStageId`).',
      request: { body: json(commandBatchSchema) },
    }),
    async (c) => {
      const lang = preferredLang(c);
      const results = await s.opportunities.commands(P(c), c.req.valid('json').commands);
      return c.json(
        {
          items: results.map(({ error, ...r }) => (error ? { ...r, error: itemError(error, lang) } : r)),
        },
        200,
      );
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
    /** Reopen: a body it cannot do without, no approval, and a word in the reference. */
    opts: { description?: string; bodyRequired?: boolean; approval?: boolean } = {},
  ) =>
    api.openapi(
      route({
        method: 'post',
        path: `/opportunities/{id}/${path}`,
        tags: ['opportunities'],
        ...(opts.description ? { description: opts.description } : {}),
        request: { params: idParam, ...(body ? { body: json(body, !!opts.bodyRequired) } : {}) },
        responses: opts.approval === false ? {} : { 202: { description: 'Approval requested' } },
      }),
      async (c) => {
        const b = body ? ((c.req.valid as (t: 'json') => unknown)('json') ?? {}) : {};
        const result = await s.opportunities.command(
          P(c),
          (c.req.valid as (t: 'param') => { id: string })('param').id,
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
  command('reopen', reopenSchema, (b) => ({ type: 'reopen', stageId: b.stageId }), {
    bodyRequired: true,
    approval: false,
    description:
      'Back into a pre-sale stage (`stageId`) of its version: a lost or invalid one by whoever may act on it, a won one by admins only (403; it leaves post-sale, its post-sale staff kept). 422 INVALID_TRANSITION when it is open, the stage is not a pre-sale stage of its version, or the process\'s `rules.allowReopen` is false. Recorded in the stage history (`action: "reopen"`); its lost reason and close date are cleared.',
  });
  api.openapi(
    route({
      method: 'get',
      path: '/opportunities/{id}/change-process',
      tags: ['opportunities'],
      description:
        'Previews changing the process (writes nothing): what `POST` with the same `processId` and `stageId` would do, refused exactly as it would be (the same codes). Answers `{processId, processName, version, landing: {stageId, stageName, reason: "chosen" | "sameId" | "first"}, stages: [{id, name}], gates}`: where it would land (the `stageId` given; else the stage with the id it is in now when the target\'s current version has one; else the target\'s first stage), the target\'s pre-sale stages to choose from, and the landing stage\'s gates for this opportunity as its view shows gates (`{gate, …, met, message}`).',
      request: { params: idParam, query: changeProcessPreviewQuery },
    }),
    async (c) => {
      const { processId, stageId } = c.req.valid('query');
      return c.json(await s.opportunities.previewChangeProcess(P(c), c.req.valid('param').id, processId, stageId), 200);
    },
  );
  api.openapi(
    route({
      method: 'post',
      path: '/opportunities/{id}/change-process',
      tags: ['opportunities'],
      description:
        "Moves an open pre-sale opportunity onto another process's current version, landing at `stageId` (a pre-sale stage of it), else at the stage with the id it is in now when the target has one, else at the target's first stage (`GET` previews it). Who: the owner, their supervisor and admins. Refused: closed or post-sale, or the same process (422 INVALID_TRANSITION); no such process (404); disabled (422 PROCESS_DISABLED); outside the owner's department, or its field conditions (`appliesWhen`) not holding for the customer's and the opportunity's values (422 PROCESS_NOT_APPLICABLE, one detail per unmet condition `{source, key, values, message}`); a `stageId` that is not a pre-sale stage of the target (422 INVALID_TRANSITION). A pending approval is cancelled. Recorded in the stage history (`action: \"change-process\"`, `comment: \"from <process name> (<process id>)\"`).",
      request: { params: idParam, body: json(changeProcessSchema) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      return c.json(
        await s.opportunities.changeProcess(
          P(c),
          c.req.valid('param').id,
          body.processId,
          expectedOf(c, body),
          body.stageId,
        ),
        200,
      );
    },
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
      description:
        "Sets the opportunity's post-sale staff (users of the tenant, else 400), who read it and work its post-sale stages. On a win they are filled in from the process's post-sale team (a post-sale stage's own team is added when it is entered); this replaces the list at any time. Who: the owner, their supervisor and admins.",
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
