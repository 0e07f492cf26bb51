import { webhookSchema } from '@sales-process/core';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { requireRole } from '../http/auth.js';
import { documented, featureRoutes, idParam, json, principalOf as P, route } from '../http/routes.js';
import { pumpEvents } from '../http/event-pump.js';
import { holding, type UserSlots } from '../http/user-slots.js';
import type { NotificationService } from './notifications.js';
import type { WebhookService } from './webhooks.js';

/** A user's notifications (list, read, stream) and the tenant's webhook (settings, deliveries). */
export function notificationRoutes(s: {
  notifications: NotificationService;
  webhooks: WebhookService;
  /** Shared with the other event streams (http/user-slots.ts `eventStreamSlots`). */
  streamSlots: UserSlots;
}) {
  const api = featureRoutes();
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
    const release = s.streamSlots.take(p);
    return streamSSE(
      c,
      holding(release, async (stream) => {
        stream.onAbort(release);
        await pumpEvents(stream, 'notification', (push) => s.notifications.subscribe(p.tenantId, p.userId, push));
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
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/notifications/stream',
    tags: ['notifications'],
    summary: "Server-sent events: the user's new notifications",
  });
  return api;
}
