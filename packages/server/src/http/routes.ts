/**
 * What every feature's routes share: the sub-app (schema failures as 400 at their place),
 * `route()` (a createRoute with the standard errors, headers and bearer security
 * documented), JSON bodies, common params, the principal, and the OpenAPI document.
 */
import { createRoute, OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import { strictBody } from '@sales-process/core';
import { z } from 'zod';
import type { Principal } from './auth.js';
import type { AppEnv } from './env.js';
import { validationError } from './errors.js';

/** A feature's routes: an OpenAPI sub-app, mounted at `/api/v1`. */
export function featureRoutes() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success)
        throw validationError(
          result.error as z.ZodError,
          result.target === 'json' ? 'body' : result.target === 'param' ? 'param' : 'query',
        );
    },
  });
}

/** The authenticated caller (set by http/auth.ts `bearerAuth`). */
export const principalOf = (c: { get(key: 'principal'): Principal }) => c.get('principal');

export const idParam = z.object({ id: z.string().min(1).max(128) });
const ok = { 200: { description: 'OK' } } as const;
/** A JSON request body: strict however deep (unknown keys are 400 at their path, API.md). */
export const json = <T extends z.ZodType>(schema: T, required = true) => ({
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

/** A write to one opportunity (or below it): it takes If-Match. */
const onOpportunity = (path: string) => path === '/opportunities/{id}' || path.startsWith('/opportunities/{id}/');

/** A route with the standard error responses documented. */
export function route<R extends Omit<RouteConfig, 'responses'> & { responses?: RouteConfig['responses'] }>(config: R) {
  return createRoute({
    ...config,
    // A write without a body schema still refuses a body it would ignore.
    ...(WRITE_METHODS.has(config.method) && !config.request?.body
      ? { request: { ...config.request, body: noBody } }
      : {}),
    security: [{ bearer: [] }],
    // Documented, not validated here: http/idempotency.ts and the commands read them.
    ...(config.method === 'post' || (WRITE_METHODS.has(config.method) && onOpportunity(config.path))
      ? {
          parameters: [
            ...(config.method === 'post' ? [IDEMPOTENCY_KEY] : []),
            ...(onOpportunity(config.path) ? [IF_MATCH] : []),
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

/** Routes served by plain handlers (raw bodies, downloads, event streams), as their registerPath documents them. */
export const documented = {
  security: [{ bearer: [] }],
  responses: {
    200: { description: 'OK' },
    400: { description: 'VALIDATION_FAILED' },
    401: { description: 'UNAUTHENTICATED' },
    404: { description: 'NOT_FOUND' },
  },
};

/** The security scheme every route names. */
export function registerBearerScheme(api: OpenAPIHono<AppEnv>) {
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
}

/** `GET /api/v1/openapi.json`: the document of every route mounted on `api`. */
export function openApiDocument(api: OpenAPIHono<AppEnv>) {
  return api.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Sales process kit',
      version: '1.0.0',
      description: 'The public contract of API.md. Errors: {"error": {"code", "message", "details"}}.',
    },
    servers: [{ url: '/api/v1' }],
  });
}
