import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerOptions as HttpServerOptions,
} from 'node:http';
import {
  getRequestListener,
  RequestError,
  serve,
  upgradeWebSocket,
  type HttpBindings,
  type ServerType,
} from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { OpenAPIHono } from '@hono/zod-openapi';
import { devTokenSchema, opportunityDocName } from '@sales-process/core';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Context, MiddlewareHandler } from 'hono';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { AdjustableClock, defaultIds, type Clock, type IdGenerator, type ServerContext } from './context.js';
import type { Database } from './db/open.js';
import {
  bearerToken,
  createVerifier,
  DEFAULT_MAX_TOKEN_TTL_SECONDS,
  isFailedVerification,
  signToken,
  SYNC_SUBPROTOCOL,
  websocketToken,
  type Principal,
} from './http/auth.js';
import { apiCors, normalizeOrigins, websocketOriginAllowed } from './http/cors.js';
import {
  ApiError,
  codeForStatus,
  DATABASE_RETRY_AFTER_SECONDS,
  errorResponse,
  isConnectionLost,
  notFound,
  validationError,
} from './http/errors.js';
import { kitAssets } from './http/kit.js';
import { SECURITY_HEADERS } from './http/security-headers.js';
import { answerClientErrors, answerUnhandledUpgrades, errorResponseOutsideHono, writeResponse } from './http/node.js';
import { LinkSigner } from './http/signed-links.js';
import { DEFAULT_AUTH_FAILURE_LIMIT, FailureThrottle, type FailureLimit } from './http/throttle.js';
import { apiRoutes } from './routes/api.js';
import { CustomerService, DirectoryService, FieldService, TenantService } from './directory/service.js';
import { DocStore } from './live/doc-store.js';
import { OpportunityService } from './opportunities/service.js';
import { ProcessService } from './processes/service.js';
import { NotificationService, Scheduler, WebhookService, type WebhookOptions } from './notifications/service.js';
import { SyncServer, type SyncOptions } from './live/sync-server.js';
import { FileService } from './files/service.js';
import { AnalyticsBus, AnalyticsService } from './analytics/service.js';

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

/** With @hono/node-server, `c.env` holds the Node request; `server.fetch` callers pass none. */
export type AppEnv = {
  Bindings: Partial<HttpBindings>;
  Variables: { principal: Principal; requestId: string; canWrite: boolean };
};

/** The client's address from its socket (not from headers a client can write). */
export function clientAddress(c: Context<AppEnv>): string | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.remoteAddress;
}

/** Query values that are secrets (`?token=` on websockets) as logs show them. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return '';
  return url.slice(q).replace(/([?&](?:token|sig)=)[^&#]*/gi, '$1[redacted]');
}

const ACCEPTED_UPGRADE = Symbol('accepted websocket upgrade');

/**
 * The Content-Security-Policy of the demo's pages (the static app). Styles allow inline
 * attributes (elements set `style=` for widths and colours); everything else is this origin.
 */
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

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
  const webhooks = new WebhookService(ctx, options.webhooks);
  const notifications = new NotificationService(ctx, webhooks);
  const analyticsBus = new AnalyticsBus(ctx);
  // The live layer is built from the services and the services call into it: these ports
  // forward to it once it exists (nothing calls them before createServer returns).
  let sync: SyncServer | undefined;
  const live = () => sync!;
  const processes = new ProcessService(ctx, store, directory, fields, tenants, {
    edit: (doc, fn, author) => live().edit(doc, fn, author),
    read: (doc) => live().read(doc),
    reset: (doc) => live().reset(doc),
  });
  const opportunities = new OpportunityService(ctx, processes, directory, fields, customers, {
    beforeCommand: (id) => live().flushForm(opportunityDocName(id)),
    events: [
      { changed: (tenantId, id) => void live().refreshOpportunity(tenantId, id) },
      notifications.events(),
      {
        changed: (tenantId, id, processId) => void analyticsBus.touch(tenantId, id, processId).catch(() => {}),
        transition: (t) => t.webhook && webhooks.kick(),
      },
    ],
  });
  sync = new SyncServer(ctx, store, processes, opportunities, options.sync);
  await sync.start();
  const stopNotifications = await notifications.start();
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

  /** Verifies a token; addresses that keep sending tokens that fail get 429 for them (http/throttle.ts). */
  const authenticate = (c: Context<AppEnv>, token: string): Promise<Principal> =>
    throttle ? throttle.guard(clientAddress(c), () => verify(token), isFailedVerification) : verify(token);

  const badJson = () =>
    new ApiError('VALIDATION_FAILED', [
      { path: 'body', message: { zh: '请求体不是合法的 JSON', en: 'The body is not valid JSON' } },
    ]);
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof z.ZodError) return errorResponse(c, validationError(error));
    if (error instanceof HTTPException) {
      if (error.status === 413)
        return errorResponse(
          c,
          new ApiError('PAYLOAD_TOO_LARGE', [
            { limit: MAX_BODY_BYTES, message: { zh: '请求体不能超过 1 MiB', en: 'The body may not exceed 1 MiB' } },
          ]),
        );
      if (error.status === 400) return errorResponse(c, badJson());
      // Any other framework refusal: its status as the envelope's code.
      const code = codeForStatus(error.status);
      if (code !== 'INTERNAL') return errorResponse(c, new ApiError(code));
    }
    if (error instanceof SyntaxError) return errorResponse(c, badJson());
    if (error instanceof URIError)
      return errorResponse(
        c,
        new ApiError('VALIDATION_FAILED', [
          { path: 'request', message: { zh: '百分号编码不合法', en: 'Malformed percent-encoding' } },
        ]),
      );
    if (isConnectionLost(error)) {
      logger.warn({ err: error, requestId: c.get('requestId') }, 'database unavailable');
      return errorResponse(c, new ApiError('UNAVAILABLE').withRetryAfter(DATABASE_RETRY_AFTER_SECONDS));
    }
    logger.error(
      { err: error, requestId: c.get('requestId'), method: c.req.method, path: c.req.path },
      'unhandled error',
    );
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
    const path = c.req.path;
    const api = path.startsWith('/api/') || path.startsWith('/sync/') || path === '/healthz';
    // On the response's own headers: c.header() after the handler would rebuild the
    // response around a web stream and lose @hono/node-server's direct write.
    try {
      const h = c.res.headers;
      h.set('x-request-id', requestId);
      if (api) {
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) h.set(name, value);
        if (!h.has('cache-control')) h.set('cache-control', 'no-store');
      }
    } catch {
      // a response with immutable headers (none of ours) goes out without them
    }
    if (logRequests && (path.startsWith('/api/') || path.startsWith('/sync/')))
      logger.info(
        {
          requestId,
          method: c.req.method,
          path,
          query: redactQuery(c.req.url) || undefined,
          status: c.res.status,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
  });
  // Cross-origin hosts: preflights are answered here, before the body limit and auth.
  app.use('/api/*', apiCors(allowedOrigins));

  app.get('/healthz', async (c) => {
    await ctx.database.db.execute('select 1' as never);
    return c.json({ ok: true, database: ctx.database.kind, dev });
  });

  const streamedLimit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new HTTPException(413);
    },
  });
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
  app.use('/api/*', (c, next) =>
    c.req.method === 'POST' && c.req.path === '/api/v1/files' ? next() : jsonLimit(c, next),
  );

  // Dev mode: tokens and a movable clock. Absent (404) otherwise.
  if (dev && authSecret) {
    app.post('/api/v1/dev/token', async (c) => {
      const body = devTokenSchema.safeParse(await c.req.json().catch(() => null));
      if (!body.success) throw validationError(body.error);
      const token = await signToken(
        authSecret,
        body.data,
        clock.now(),
        Math.min(body.data.expiresIn ?? 12 * 3600, maxTokenTtl),
      );
      return c.json({ token });
    });
    app.post('/api/v1/dev/clock', async (c) => {
      const body = z
        .object({
          now: z.iso.datetime({ offset: true }).optional(),
          advanceDays: z.number().min(0).max(3650).optional(),
        })
        .safeParse(await c.req.json().catch(() => null));
      if (!body.success) throw validationError(body.error);
      if (!(clock instanceof AdjustableClock))
        throw new ApiError('CONFLICT', [{ message: { zh: '时钟不可调', en: 'This clock cannot be moved' } }]);
      if (body.data.now) clock.set(new Date(body.data.now));
      if (body.data.advanceDays) clock.advance(body.data.advanceDays * 86_400_000);
      // Show the effect at once: reminders that are now due go out.
      const created = await scheduler.tick();
      return c.json({ now: clock.now().toISOString(), notificationsCreated: created });
    });
    app.get('/api/v1/dev/clock', (c) => c.json({ now: clock.now().toISOString() }));
  }

  // The built kit, for pages on any origin.
  app.get('/kit/*', kitAssets(options.kitDir));

  // Live documents: y-websocket protocol; the origin, the token and the right to open the
  // doc are checked before the upgrade, so a refusal is a plain HTTP answer with the envelope.
  app.get(
    '/sync/:doc',
    async (c, next) => {
      const origin = c.req.header('origin');
      if (!websocketOriginAllowed(origin, c.req.header('host'), allowedOriginSet))
        throw new ApiError(
          'FORBIDDEN',
          [{ origin, message: { zh: '此来源不在 ALLOWED_ORIGINS 中', en: 'This origin is not in ALLOWED_ORIGINS' } }],
          { zh: '不允许此来源连接', en: 'This origin may not connect' },
        );
      const token = websocketToken(
        c.req.header('sec-websocket-protocol'),
        c.req.query('token'),
        c.req.header('authorization'),
      );
      if (!token) throw new ApiError('UNAUTHENTICATED', [], { zh: '缺少令牌', en: 'No token' });
      const principal = await authenticate(c, token);
      await tenants.ensure(principal.tenantId);
      const { canWrite } = await sync.authorize(principal, c.req.param('doc'));
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
        throw new ApiError('VALIDATION_FAILED', [
          { message: { zh: '需要 WebSocket 升级', en: 'Expected a websocket upgrade' } },
        ]);
      sync.admit(principal); // at most maxConnectionsPerUser of one user's sockets: 429 past it
      c.set('principal', principal);
      c.set('canWrite', canWrite);
      await next();
      // Tells listen()'s fetch that this upgrade goes ahead (anything else is written back as a refusal).
      if (c.res.status === 200 && c.env) (c.env as Record<symbol, unknown>)[ACCEPTED_UPGRADE] = true;
    },
    upgradeWebSocket((c) => sync.events(c.get('principal'), c.req.param('doc')!, c.get('canWrite')) as never),
  );

  const api = apiRoutes(services);
  app.get('/api/v1/openapi.json', (c) =>
    c.json(
      api.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'Sales process kit',
          version: '1.0.0',
          description: 'The public contract of API.md. Errors: {"error": {"code", "message", "details"}}.',
        },
        servers: [{ url: '/api/v1' }],
      }),
    ),
  );
  // Everything else under /api/v1 needs a bearer token, except a signed download link,
  // which carries its own proof (routes/api.ts checks it).
  const signedContent = /^\/api\/v1\/files\/[^/]+\/content$/;
  app.use('/api/v1/*', async (c, next) => {
    if ((c.req.method === 'GET' || c.req.method === 'HEAD') && signedContent.test(c.req.path)) return next();
    const token = bearerToken(c.req.header('authorization'));
    if (!token) {
      const hint = c.req.query('token') !== undefined;
      throw new ApiError(
        'UNAUTHENTICATED',
        [],
        hint
          ? {
              zh: '令牌须放在 Authorization 请求头中（?token= 只用于 WebSocket）',
              en: 'Send the token in the Authorization header (?token= is for websockets only)',
            }
          : { zh: '缺少令牌', en: 'No bearer token' },
      );
    }
    const principal = await authenticate(c, token);
    await tenants.ensure(principal.tenantId);
    c.set('principal', principal);
    await next();
  });
  app.route('/api/v1', api);

  if (options.staticDir && existsSync(join(options.staticDir, 'index.html'))) {
    const root = resolve(options.staticDir);
    const index = readFileSync(join(root, 'index.html'), 'utf8');
    // The demo's pages run only their own code: scripts, styles, data and sockets from this origin.
    app.use('/*', async (c, next) => {
      await next();
      if (c.res.headers.get('content-type')?.startsWith('text/html')) {
        c.res.headers.set('content-security-policy', DEMO_CSP);
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
      }
    });
    app.use('/*', serveStatic({ root }));
    app.get('*', (c) => (c.req.path.startsWith('/api/') ? c.notFound() : c.html(index)));
  }

  let server: ServerType | null = null;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxWebsocketPayload ?? 16 * 1024 * 1024,
    // The kit's client offers `sales-process` and `bearer.<jwt>`: answer the former, never
    // echo the token. Clients that offer no subprotocol (stock y-websocket) get none.
    handleProtocols: (protocols) => (protocols.has(SYNC_SUBPROTOCOL) ? SYNC_SUBPROTOCOL : false),
  });
  // Node requests go through here: a websocket upgrade that the app refused is written back
  // with its envelope (@hono/node-server would send the status with an empty body).
  // Plain requests go straight to app.fetch (a synchronous answer keeps its fast path).
  const nodeFetch = (req: Request, env: HttpBindings & Record<symbol, unknown>) =>
    env.outgoing === undefined && env.incoming !== undefined ? upgradeFetch(req, env) : app.fetch(req, env);
  const reachedUpgrades = new WeakSet<IncomingMessage>();
  const upgradeFetch = async (req: Request, env: HttpBindings & Record<symbol, unknown>) => {
    reachedUpgrades.add(env.incoming);
    let res: Response;
    try {
      res = await app.fetch(req, env);
    } catch (error) {
      logger.error({ err: error, path: new URL(req.url).pathname }, 'websocket upgrade failed');
      res = errorResponseOutsideHono(new ApiError('INTERNAL'));
    }
    if (!env[ACCEPTED_UPGRADE])
      await writeResponse(env.incoming.socket, res).catch(() => env.incoming.socket.destroy());
    return res;
  };

  return {
    app,
    services,
    dev,
    authSecret,
    clock,
    fetch: (req) => app.fetch(req),
    listen(port = 8787, host = '0.0.0.0') {
      return new Promise((resolveListen, reject) => {
        // Node's server with @hono/node-server's listener, plus an error handler: requests it
        // cannot turn into a Request (a malformed Host, a `*` target) get the envelope too.
        const requestListener = getRequestListener(nodeFetch as never, {
          hostname: host,
          errorHandler: (e) =>
            errorResponseOutsideHono(
              e instanceof RequestError
                ? new ApiError(
                    'VALIDATION_FAILED',
                    [
                      {
                        path: 'request',
                        message: { zh: '请求目标或 Host 不合法', en: 'The request target or Host is malformed' },
                      },
                    ],
                    { zh: '请求格式不正确', en: 'The request is malformed' },
                  )
                : new ApiError('INTERNAL'),
            ),
        });
        const createNodeServer = (opts: HttpServerOptions) => createHttpServer(opts, requestListener);
        server = serve(
          {
            fetch: nodeFetch as never,
            port,
            hostname: host,
            websocket: { server: wss },
            createServer: createNodeServer as never,
          },
          (info: AddressInfo) => {
            const shown = host === '0.0.0.0' ? 'localhost' : host;
            resolveListen({ port: info.port, url: `http://${shown}:${info.port}` });
          },
        );
        server.once('error', reject);
        answerClientErrors(server as HttpServer);
        answerUnhandledUpgrades(server as HttpServer, (req) => reachedUpgrades.has(req));
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
