import { randomBytes } from 'node:crypto';
import type { ServerType } from '@hono/node-server';
import { OpenAPIHono } from '@hono/zod-openapi';
import { opportunityDocName } from '@sales-process/core';
import pino, { type Logger } from 'pino';
import { AdjustableClock, defaultIds, type Clock, type IdGenerator, type ServerContext } from './context.js';
import type { Database } from './db/open.js';
import { bearerAuth, createVerifier, DEFAULT_MAX_TOKEN_TTL_SECONDS, tokenAuthenticator } from './http/auth.js';
import { apiBodyLimit } from './http/body-limit.js';
import { apiCors, normalizeOrigins } from './http/cors.js';
import { devRoutes } from './http/dev.js';
import type { AppEnv } from './http/env.js';
import { errorHandler, errorResponse, notFound } from './http/errors.js';
import { idempotency } from './http/idempotency.js';
import { jsonRequests } from './http/json-body.js';
import { kitAssets } from './http/kit.js';
import { compressJsonReads } from './http/compress.js';
import { closeNode, listenNode } from './http/node.js';
import { requestContext } from './http/request-log.js';
import { featureRoutes, openApiDocument, registerBearerScheme } from './http/routes.js';
import { LinkSigner } from './http/signed-links.js';
import { serveDemo } from './http/static.js';
import { DEFAULT_AUTH_FAILURE_LIMIT, FailureThrottle, type FailureLimit } from './http/throttle.js';
import { eventStreamSlots } from './http/user-slots.js';
import { analyticsRoutes } from './analytics/routes.js';
import { auditRoutes } from './audit/routes.js';
import { AuditLog } from './audit/service.js';
import { directoryRoutes } from './directory/routes.js';
import { currencyRoutes } from './directory/currency-routes.js';
import { fieldRoutes } from './directory/field-routes.js';
import { fileRoutes, isSignedDownload, isUpload } from './files/routes.js';
import { notificationRoutes } from './notifications/routes.js';
import { opportunityRoutes } from './opportunities/routes.js';
import { processRoutes } from './processes/routes.js';
import { CustomerService } from './directory/customers.js';
import { DirectoryService } from './directory/directory.js';
import { FieldService } from './directory/fields.js';
import { TenantService } from './directory/tenants.js';
import { DocStore } from './live/doc-store.js';
import { OpportunityService } from './opportunities/service.js';
import { ProcessService } from './processes/service.js';
import { NotificationService } from './notifications/notifications.js';
import { Scheduler } from './notifications/scheduler.js';
import { WebhookService, type WebhookOptions } from './notifications/webhooks.js';
import { LiveDocs } from './live/live-docs.js';
import type { SyncOptions } from './live/options.js';
import { LiveUpgrades, liveRoute } from './live/websocket-route.js';
import { processDraftKind } from './processes/draft-doc.js';
import { opportunityFormKind } from './opportunities/form-doc.js';
import { FileService } from './files/service.js';
import { AnalyticsBus, AnalyticsService } from './analytics/service.js';

export { MAX_BODY_BYTES } from './http/body-limit.js';

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
  /**
   * Origins (`https://crm.example.com`) whose pages may call the API (CORS on REST and the
   * SSE streams) and open live documents (websocket `Origin` check). No wildcard. Default: none.
   */
  allowedOrigins?: string[];
  /** The built kit (`packages/elements/dist/kit`), served at `GET /kit/*`. */
  kitDir?: string;
  /** Longest token life accepted, `exp − (iat ?? now)`, seconds (default 86400). */
  maxTokenTtlSeconds?: number;
  /** Failed authentications allowed per client address and window before 429 (default 30 per 10 s); `false` turns it off. */
  authFailureLimit?: FailureLimit | false;
  /**
   * Key material for signed download links. Default: derived from `authSecret`; with only
   * `jwksUrl`, a random key per process (links then work only on the instance that made them).
   */
  linkSecret?: string;
}

export interface Services {
  ctx: ServerContext;
  tenants: TenantService;
  directory: DirectoryService;
  fields: FieldService;
  customers: CustomerService;
  processes: ProcessService;
  opportunities: OpportunityService;
  store: DocStore;
  sync: LiveDocs;
  notifications: NotificationService;
  webhooks: WebhookService;
  files: FileService;
  analytics: AnalyticsService;
  /** The configuration audit trail (admin changes). */
  audit: AuditLog;
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

  const audit = new AuditLog(ctx);
  const store = new DocStore(ctx.database, options.sync?.commitDelayMs);
  const tenants = new TenantService(ctx, audit);
  const directory = new DirectoryService(ctx, audit);
  const fields = new FieldService(ctx, audit);
  const customers = new CustomerService(ctx, fields);
  const webhooks = new WebhookService(ctx, audit, options.webhooks);
  const notifications = new NotificationService(ctx, webhooks);
  const analyticsBus = new AnalyticsBus(ctx);
  // The live layer is built from the services and the services call into it: these ports
  // forward to it once it exists (nothing calls them before createServer returns).
  let sync: LiveDocs | undefined;
  const live = () => sync!;
  const processes = new ProcessService(ctx, audit, store, directory, fields, tenants, {
    edit: (doc, fn, author) => live().edit(doc, fn, author),
    read: (doc) => live().read(doc),
    reset: (doc) => live().reset(doc),
  });
  const opportunities = new OpportunityService(ctx, processes, directory, fields, customers, {
    beforeCommand: (id) => live().flush(opportunityDocName(id)),
    events: [
      { changed: (_tenantId, id) => void live().refresh(opportunityDocName(id)) },
      notifications.events(),
      {
        changed: (tenantId, id, processId) => void analyticsBus.touch(tenantId, id, processId).catch(() => {}),
        transition: (t) => t.webhook && webhooks.kick(),
      },
    ],
  });
  // The kinds of live doc, each from its feature (live/doc-kind.ts).
  sync = new LiveDocs(
    ctx,
    store,
    [processDraftKind(processes, ctx.database), opportunityFormKind(opportunities)],
    options.sync,
  );
  await sync.start();
  const stopNotifications = await notifications.start();
  const stopFields = await fields.start();
  const scheduler = new Scheduler(ctx, processes, notifications, options.schedulerIntervalMs ?? 60_000);
  const stopAnalytics = await analyticsBus.start();
  webhooks.start();
  scheduler.start();
  if (!options.linkSecret && !authSecret)
    logger.warn('no AUTH_SECRET or LINK_SECRET: signed download links work only on this instance');
  const linkSigner = new LinkSigner(options.linkSecret ?? authSecret ?? randomBytes(32));
  const services: Services = {
    ctx,
    tenants,
    directory,
    fields,
    customers,
    processes,
    opportunities,
    store,
    sync,
    notifications,
    webhooks,
    scheduler,
    audit,
    files: new FileService(ctx, linkSigner),
    analytics: new AnalyticsService(ctx, processes, directory),
    analyticsBus,
    notifyCustomer: (tenantId, customerId) => void opportunities.customerChanged(tenantId, customerId),
  };

  const maxTokenTtl = options.maxTokenTtlSeconds ?? DEFAULT_MAX_TOKEN_TTL_SECONDS;
  const verify = createVerifier({ secret: authSecret, jwksUrl: options.jwksUrl, maxTtlSeconds: maxTokenTtl }, () =>
    clock.now(),
  );
  const allowedOrigins = normalizeOrigins(options.allowedOrigins ?? []);
  const allowedOriginSet = new Set(allowedOrigins);
  const failureLimit =
    options.authFailureLimit === false ? null : (options.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT);
  const throttle = failureLimit ? new FailureThrottle(failureLimit, () => clock.now().getTime()) : null;
  const app = new OpenAPIHono<AppEnv>();
  /** Verifies a token and provisions its tenant, for REST and the websocket upgrade alike (http/auth.ts). */
  const authenticate = tokenAuthenticator({ verify, throttle, ensureTenant: (id) => tenants.ensure(id) });

  app.onError(errorHandler(logger));
  app.notFound((c) => errorResponse(c, notFound('route')));
  app.use('*', requestContext(logger));
  // Cross-origin hosts: preflights are answered here, before the body limit and auth.
  app.use('/api/*', apiCors(allowedOrigins));
  // JSON reads in brotli or gzip for clients that accept them.
  app.use('/api/*', compressJsonReads());

  app.get('/healthz', async (c) => {
    await ctx.database.db.execute('select 1' as never);
    return c.json({ ok: true, database: ctx.database.kind, dev });
  });

  // Uploads have their own, larger limit (files/routes.ts).
  app.use('/api/*', apiBodyLimit(isUpload));
  // Dev mode: tokens and a movable clock. Absent (404) otherwise.
  if (dev && authSecret)
    app.route('/api/v1', devRoutes({ authSecret, clock, maxTokenTtl, tick: () => scheduler.tick() }));

  // The built kit, for pages on any origin.
  app.get('/kit/*', kitAssets(options.kitDir));

  // Live documents (y-websocket protocol): origin, token and right to open the doc are checked before the upgrade.
  app.route('/sync', liveRoute({ live: sync, authenticate, allowedOrigins: allowedOriginSet }));

  // The REST API: each feature's routes with the services it needs, under one OpenAPI document.
  const streamSlots = eventStreamSlots();
  const { database } = ctx;
  const api = featureRoutes();
  // Any POST may carry an Idempotency-Key: a retry answers the first answer again.
  api.use('*', idempotency(ctx));
  // Content types, JSON depth and text rules on every request, before any schema (http/json-body.ts).
  api.use('*', jsonRequests({ rawBody: (method, path) => method === 'POST' && path.endsWith('/v1/files') }));
  api.route('/', directoryRoutes({ database, tenants, directory, customers, notifyCustomer: services.notifyCustomer }));
  api.route('/', fieldRoutes({ database, fields, streamSlots }));
  api.route('/', currencyRoutes({ currencies: tenants.currencies }));
  api.route('/', processRoutes({ database, processes }));
  api.route('/', opportunityRoutes({ opportunities, streamSlots }));
  api.route('/', auditRoutes({ audit }));
  api.route('/', analyticsRoutes({ database, processes, analytics: services.analytics, analyticsBus, streamSlots }));
  api.route('/', fileRoutes({ files: services.files }));
  api.route('/', notificationRoutes({ notifications, webhooks, streamSlots }));
  registerBearerScheme(api);
  app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(api)));
  // Everything else under /api/v1 needs a bearer token, except a signed download link,
  // which carries its own proof (files/routes.ts checks it).
  app.use(
    '/api/v1/*',
    bearerAuth(authenticate, (c) => isSignedDownload(c.req.method, c.req.path)),
  );
  app.route('/api/v1', api);
  serveDemo(app, options.staticDir);

  let server: ServerType | null = null;
  // Websocket upgrades: the socket server, and refused upgrades written back with their envelope.
  const upgrades = new LiveUpgrades(
    (req, env) => app.fetch(req, env),
    live(),
    logger,
    options.maxWebsocketPayload ?? 16 * 1024 * 1024,
  );

  return {
    app,
    services,
    dev,
    authSecret,
    clock,
    fetch: (req) => app.fetch(req),
    listen(port = 8787, host = '0.0.0.0') {
      return listenNode({
        fetch: (req, env) => app.fetch(req, env),
        upgrade: upgrades.handle,
        port,
        host,
        started: (s) => {
          server = s;
        },
      });
    },
    async close() {
      // Save every live doc first, then stop accepting and finish in-flight requests.
      scheduler.stop();
      await webhooks.stop();
      await stopNotifications().catch(() => {});
      await stopFields().catch(() => {});
      analyticsBus.stop();
      await stopAnalytics().catch(() => {});
      await sync.close();
      if (server) await closeNode(server);
      upgrades.close();
    },
  };
}
