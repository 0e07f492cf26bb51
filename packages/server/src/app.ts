import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve, upgradeWebSocket, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { OpenAPIHono } from '@hono/zod-openapi';
import { devTokenSchema } from '@sales-process/core';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { MiddlewareHandler } from 'hono';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { AdjustableClock, defaultIds, type Clock, type IdGenerator, type ServerContext } from './context.js';
import type { Database } from './db/open.js';
import { createVerifier, signToken, tokenFrom, type Principal } from './http/auth.js';
import { ApiError, errorResponse, notFound, validationError } from './http/errors.js';
import { apiRoutes } from './routes/api.js';
import { CustomerService, DirectoryService, FieldService, TenantService } from './services/directory.js';
import { DocStore } from './services/doc-store.js';
import { OpportunityService } from './services/opportunities.js';
import { ProcessService } from './services/processes.js';
import { NotificationService, Scheduler, WebhookService, type WebhookOptions } from './services/notifications.js';
import { SyncServer, type SyncOptions } from './sync/sync-server.js';
import { FileService } from './services/files.js';
import { AnalyticsBus, AnalyticsService } from './services/analytics.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface CreateServerOptions {
  database: Database;
  /** HS256 secret. Without it (and without jwksUrl) the server runs in dev mode. */
  authSecret?: string;
  jwksUrl?: string;
  /** Dev mode: `/api/v1/dev/token` and `/api/v1/dev/clock`. Defaults to "no auth configured". */
  dev?: boolean;
  clock?: Clock;
  ids?: IdGenerator;
  logger?: Logger;
  /** A built web app to serve at `/` (the demo). */
  staticDir?: string;
  /** Live documents: compaction, throttling, unload delays. */
  sync?: SyncOptions;
  /** Largest websocket message, bytes (default 16 MiB). */
  maxWebsocketPayload?: number;
  /** Reminder scan interval (default 60 s; 0 = only when `services.scheduler.tick()` is called). */
  schedulerIntervalMs?: number;
  webhooks?: WebhookOptions;
}

export type AppEnv = { Variables: { principal: Principal; requestId: string; canWrite: boolean } };

export interface Services {
  ctx: ServerContext;
  tenants: TenantService;
  directory: DirectoryService;
  fields: FieldService;
  customers: CustomerService;
  processes: ProcessService;
  opportunities: OpportunityService;
  store: DocStore;
  sync: SyncServer;
  notifications: NotificationService;
  webhooks: WebhookService;
  files: FileService;
  analytics: AnalyticsService;
  analyticsBus: AnalyticsBus;
  scheduler: Scheduler;
  /** A customer's contacts changed: opportunities on it may have new gates. */
  notifyCustomer(tenantId: string, customerId: string): void;
}

export interface SalesProcessServer {
  app: OpenAPIHono<AppEnv>;
  services: Services;
  dev: boolean;
  /** The secret tokens are signed with (dev mode generates one). */
  authSecret: string | undefined;
  clock: Clock;
  fetch: (req: Request) => Response | Promise<Response>;
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
}

/** Builds the whole server from explicit options; no module-level state. */
export async function createServer(options: CreateServerOptions): Promise<SalesProcessServer> {
  const dev = options.dev ?? (!options.authSecret && !options.jwksUrl);
  const authSecret = options.authSecret ?? (dev && !options.jwksUrl ? randomBytes(32).toString('hex') : undefined);
  const clock = options.clock ?? new AdjustableClock();
  const logger = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const ctx: ServerContext = { database: options.database, clock, ids: options.ids ?? defaultIds, logger };

  const store = new DocStore(ctx.database, options.sync?.commitDelayMs);
  const tenants = new TenantService(ctx);
  const directory = new DirectoryService(ctx);
  const fields = new FieldService(ctx);
  const customers = new CustomerService(ctx, fields);
  const processes = new ProcessService(ctx, store, directory, fields, tenants);
  const opportunities = new OpportunityService(ctx, processes, directory, fields, customers);
  const sync = new SyncServer(ctx, store, processes, opportunities, options.sync);
  await sync.start();
  const webhooks = new WebhookService(ctx, options.webhooks);
  const notifications = new NotificationService(ctx, webhooks);
  const stopNotifications = await notifications.start();
  const scheduler = new Scheduler(ctx, processes, notifications, options.schedulerIntervalMs ?? 60_000);
  const analyticsBus = new AnalyticsBus(ctx);
  const stopAnalytics = await analyticsBus.start();
  opportunities.events.push(notifications.events(), { changed: (tenantId, id, processId) => void analyticsBus.touch(tenantId, id, processId).catch(() => {}), transition: (t) => t.webhook && webhooks.kick() });
  webhooks.start();
  scheduler.start();
  const services: Services = {
    ctx, tenants, directory, fields, customers, processes, opportunities, store, sync, notifications, webhooks, scheduler, files: new FileService(ctx), analytics: new AnalyticsService(ctx, processes, directory), analyticsBus,
    notifyCustomer: (tenantId, customerId) => void opportunities.customerChanged(tenantId, customerId),
  };

  const verify = createVerifier({ secret: authSecret, jwksUrl: options.jwksUrl }, () => clock.now());
  const app = new OpenAPIHono<AppEnv>();

  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof z.ZodError) return errorResponse(c, validationError(error));
    if (error instanceof HTTPException) {
      if (error.status === 413) return errorResponse(c, new ApiError('PAYLOAD_TOO_LARGE', [{ limit: MAX_BODY_BYTES, message: { zh: '请求体不能超过 1 MiB', en: 'The body may not exceed 1 MiB' } }]));
      if (error.status === 400) return errorResponse(c, new ApiError('VALIDATION_FAILED', [{ path: 'body', message: { zh: '请求体不是合法的 JSON', en: 'The body is not valid JSON' } }]));
    }
    if (error instanceof SyntaxError) return errorResponse(c, new ApiError('VALIDATION_FAILED', [{ path: 'body', message: { zh: '请求体不是合法的 JSON', en: 'The body is not valid JSON' } }]));
    logger.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
    return errorResponse(c, new ApiError('INTERNAL'));
  });
  app.notFound((c) => errorResponse(c, notFound('route')));

  // Request ids and one log line per request.
  const logRequests = logger.isLevelEnabled('info');
  app.use('*', async (c, next) => {
    const requestId = c.req.header('x-request-id')?.slice(0, 64) || randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    await next();
    // On the response's own headers: c.header() after the handler would rebuild the
    // response around a web stream and lose @hono/node-server's direct write.
    try {
      c.res.headers.set('x-request-id', requestId);
    } catch {
      // a response with immutable headers (none of ours) goes out without it
    }
    if (logRequests && c.req.path.startsWith('/api/'))
      logger.info({ requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }, 'request');
  });

  app.get('/healthz', async (c) => {
    await ctx.database.db.execute('select 1' as never);
    return c.json({ ok: true, database: ctx.database.kind, dev });
  });

  const streamedLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw new HTTPException(413); } });
  // A declared length is checked from the header (Node's parser holds the body to it), so
  // the body is read once, directly, by the route; hono's bodyLimit would first turn every
  // request into a full fetch Request with a web stream. Only chunked bodies go through it.
  const jsonLimit: MiddlewareHandler = (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamedLimit(c, next);
    if (!(Number(length) <= MAX_BODY_BYTES)) throw new HTTPException(413);
    return next();
  };
  // Uploads have their own, larger limit (routes/api.ts).
  app.use('/api/*', (c, next) => (c.req.method === 'POST' && c.req.path === '/api/v1/files' ? next() : jsonLimit(c, next)));

  // Dev mode: tokens and a movable clock. Absent (404) otherwise.
  if (dev && authSecret) {
    app.post('/api/v1/dev/token', async (c) => {
      const body = devTokenSchema.safeParse(await c.req.json().catch(() => null));
      if (!body.success) throw validationError(body.error);
      const token = await signToken(authSecret, body.data, clock.now(), body.data.expiresIn);
      return c.json({ token });
    });
    app.post('/api/v1/dev/clock', async (c) => {
      const body = z.object({ now: z.iso.datetime({ offset: true }).optional(), advanceDays: z.number().min(0).max(3650).optional() }).safeParse(await c.req.json().catch(() => null));
      if (!body.success) throw validationError(body.error);
      if (!(clock instanceof AdjustableClock)) throw new ApiError('CONFLICT', [{ message: { zh: '时钟不可调', en: 'This clock cannot be moved' } }]);
      if (body.data.now) clock.set(new Date(body.data.now));
      if (body.data.advanceDays) clock.advance(body.data.advanceDays * 86_400_000);
      // Show the effect at once: reminders that are now due go out.
      const created = await scheduler.tick();
      return c.json({ now: clock.now().toISOString(), notificationsCreated: created });
    });
    app.get('/api/v1/dev/clock', (c) => c.json({ now: clock.now().toISOString() }));
  }

  // Live documents: y-websocket protocol; the token and the right to open the doc are
  // checked before the upgrade, so a refusal is a plain HTTP answer with the envelope.
  app.get(
    '/sync/:doc',
    async (c, next) => {
      const token = tokenFrom(c.req.header('authorization'), c.req.query('token'));
      if (!token) throw new ApiError('UNAUTHENTICATED', [], { zh: '缺少令牌', en: 'No token' });
      const principal = await verify(token);
      await tenants.ensure(principal.tenantId);
      const { canWrite } = await sync.authorize(principal, c.req.param('doc'));
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') throw new ApiError('VALIDATION_FAILED', [{ message: { zh: '需要 WebSocket 升级', en: 'Expected a websocket upgrade' } }]);
      c.set('principal', principal);
      c.set('canWrite', canWrite);
      await next();
    },
    upgradeWebSocket((c) => sync.events(c.get('principal'), c.req.param('doc')!, c.get('canWrite')) as never),
  );

  const api = apiRoutes(services);
  app.get('/api/v1/openapi.json', (c) =>
    c.json(
      api.getOpenAPI31Document({
        openapi: '3.1.0',
        info: { title: 'Sales process kit', version: '1.0.0', description: 'The public contract of API.md. Errors: {"error": {"code", "message", "details"}}.' },
        servers: [{ url: '/api/v1' }],
      }),
    ),
  );
  // Everything else under /api/v1 needs a token.
  app.use('/api/v1/*', async (c, next) => {
    const token = tokenFrom(c.req.header('authorization'), c.req.query('token'));
    if (!token) throw new ApiError('UNAUTHENTICATED', [], { zh: '缺少令牌', en: 'No bearer token' });
    const principal = await verify(token);
    await tenants.ensure(principal.tenantId);
    c.set('principal', principal);
    await next();
  });
  app.route('/api/v1', api);

  if (options.staticDir && existsSync(join(options.staticDir, 'index.html'))) {
    const root = resolve(options.staticDir);
    const index = readFileSync(join(root, 'index.html'), 'utf8');
    app.use('/*', serveStatic({ root }));
    app.get('*', (c) => (c.req.path.startsWith('/api/') ? c.notFound() : c.html(index)));
  }

  let server: ServerType | null = null;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxWebsocketPayload ?? 16 * 1024 * 1024 });

  return {
    app,
    services,
    dev,
    authSecret,
    clock,
    fetch: (req) => app.fetch(req),
    listen(port = 8787, host = '0.0.0.0') {
      return new Promise((resolveListen, reject) => {
        server = serve({ fetch: app.fetch, port, hostname: host, websocket: { server: wss } }, (info: AddressInfo) => {
          const shown = host === '0.0.0.0' ? 'localhost' : host;
          resolveListen({ port: info.port, url: `http://${shown}:${info.port}` });
        });
        server.once('error', reject);
      });
    },
    async close() {
      // Save every live doc first, then stop accepting and finish in-flight requests.
      scheduler.stop();
      await webhooks.stop();
      await stopNotifications().catch(() => {});
      analyticsBus.stop();
      await stopAnalytics().catch(() => {});
      await sync.close();
      if (server) {
        const s = server;
        await new Promise<void>((done) => {
          s.close(() => done());
          (s as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        });
      }
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
