import { z } from 'zod';
import { requireRole } from '../http/auth.js';
import { featureRoutes, principalOf as P, route } from '../http/routes.js';
import type { AuditLog } from './service.js';

const auditQuery = z.object({
  cursor: z.string().max(20).optional(),
  targetType: z.string().min(1).max(40).optional(),
  targetId: z.string().min(1).max(128).optional(),
});

/** `GET /audit`: the configuration trail, for admins. */
export function auditRoutes(s: { audit: AuditLog }) {
  const api = featureRoutes();
  api.openapi(route({ method: 'get', path: '/audit', tags: ['audit'], request: { query: auditQuery } }), async (c) => {
    requireRole(P(c), 'admin');
    return c.json(await s.audit.list(P(c), c.req.valid('query')), 200);
  });
  return api;
}
