import { isoDateSchema, targetPlanSchema } from '@sales-process/core';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Database } from '../db/open.js';
import { documented, featureRoutes, json, principalOf as P, route } from '../http/routes.js';
import { holding, type UserSlots } from '../http/user-slots.js';
import type { ProcessService } from '../processes/service.js';
import type { AnalyticsBus, AnalyticsService } from './service.js';

const funnelQuery = z.object({
  processId: z.string().min(1).max(128),
  from: isoDateSchema.optional(),
  to: isoDateSchema.optional(),
  departmentId: z.string().max(128).optional(),
  ownerId: z.string().max(128).optional(),
});

/** Analytics (SPEC §7): the funnel, target planning, and a stream of "the figures changed". */
export function analyticsRoutes(s: {
  database: Database;
  processes: ProcessService;
  analytics: AnalyticsService;
  analyticsBus: AnalyticsBus;
  /** Shared with the other event streams (http/user-slots.ts `eventStreamSlots`). */
  streamSlots: UserSlots;
}) {
  const api = featureRoutes();
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
    await s.processes.row(s.database.db, p.tenantId, processId);
    s.analytics.mayRead(p);
    const release = s.streamSlots.take(p);
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
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/analytics/stream',
    tags: ['analytics'],
    summary: 'Server-sent events: `changed` when the funnel figures of a process change',
    request: { query: z.object({ processId: z.string().min(1).max(128) }) },
  });
  return api;
}
