/**
 * How a live doc's socket is opened (Hocuspocus' Server): `GET /sync/:doc` checks the
 * Origin, the token (http/auth.ts, as REST does) and the right to open the doc before the
 * upgrade, so a refusal is a plain HTTP answer with the envelope; then hands the socket to
 * LiveDocs. `LiveUpgrades` is the Node side: the websocket server, and writing refused
 * upgrades back (@hono/node-server would send the status with an empty body).
 */
import type { IncomingMessage } from 'node:http';
import { upgradeWebSocket, type HttpBindings } from '@hono/node-server';
import { LIVE_SUBPROTOCOL } from '@sales-process/core';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { websocketToken, type Authenticate } from '../http/auth.js';
import { websocketOriginAllowed } from '../http/cors.js';
import type { AppEnv } from '../http/env.js';
import { ApiError } from '../http/errors.js';
import { errorResponseOutsideHono, writeResponse } from '../http/node.js';
import type { LiveDocs } from './live-docs.js';

/** Set on the Node request's env by the route when the upgrade goes ahead. */
const ACCEPTED_UPGRADE = Symbol('accepted websocket upgrade');

export interface LiveRouteDeps {
  live: LiveDocs;
  /** Verifies a token and provisions its tenant: the same as REST's (http/auth.ts). */
  authenticate: Authenticate;
  /** Origins whose pages may open live documents (besides the server's own). */
  allowedOrigins: ReadonlySet<string>;
}

/** The route, to mount at `/sync`: `app.route('/sync', liveRoute(…))`. */
export function liveRoute({ live, authenticate, allowedOrigins }: LiveRouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get(
    '/:doc',
    async (c, next) => {
      const origin = c.req.header('origin');
      if (!websocketOriginAllowed(origin, c.req.header('host'), allowedOrigins))
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
      const { canWrite } = await live.authorize(principal, c.req.param('doc'));
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
        throw new ApiError('VALIDATION_FAILED', [
          { message: { zh: '需要 WebSocket 升级', en: 'Expected a websocket upgrade' } },
        ]);
      live.admit(principal); // at most maxConnectionsPerUser of one user's sockets: 429 past it
      c.set('principal', principal);
      c.set('canWrite', canWrite);
      await next();
      // Tells LiveUpgrades' fetch that this upgrade goes ahead (anything else is written back as a refusal).
      if (c.res.status === 200 && c.env) (c.env as Record<symbol, unknown>)[ACCEPTED_UPGRADE] = true;
    },
    upgradeWebSocket((c) => live.events(c.get('principal'), c.req.param('doc')!, c.get('canWrite')) as never),
  );
}

type NodeEnv = HttpBindings & Record<symbol, unknown>;

/** The Node side of live sockets, for `serve({ fetch: upgrades.fetch, websocket: { server: upgrades.wss } })`. */
export class LiveUpgrades {
  readonly wss: WebSocketServer;
  private readonly reachedUpgrades = new WeakSet<IncomingMessage>();

  constructor(
    private readonly appFetch: (req: Request, env: NodeEnv) => Response | Promise<Response>,
    private readonly logger: Logger,
    maxPayload: number,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload,
      // The kit's client offers `sales-process` and `bearer.<jwt>`: answer the former, never
      // echo the token. Clients that offer no subprotocol (stock y-websocket) get none.
      handleProtocols: (protocols) => (protocols.has(LIVE_SUBPROTOCOL) ? LIVE_SUBPROTOCOL : false),
    });
  }

  /**
   * Node requests go through here: a websocket upgrade that the app refused is written back
   * with its envelope. Plain requests go straight to the app (a synchronous answer keeps its
   * fast path).
   */
  readonly fetch = (req: Request, env: NodeEnv): Response | Promise<Response> =>
    env.outgoing === undefined && env.incoming !== undefined ? this.upgrade(req, env) : this.appFetch(req, env);

  /** Whether an upgrade request reached the app (http/node.ts answers those that did not). */
  readonly reached = (req: IncomingMessage): boolean => this.reachedUpgrades.has(req);

  private async upgrade(req: Request, env: NodeEnv): Promise<Response> {
    this.reachedUpgrades.add(env.incoming);
    let res: Response;
    try {
      res = await this.appFetch(req, env);
    } catch (error) {
      this.logger.error({ err: error, path: new URL(req.url).pathname }, 'websocket upgrade failed');
      res = errorResponseOutsideHono(new ApiError('INTERNAL'));
    }
    if (!env[ACCEPTED_UPGRADE])
      await writeResponse(env.incoming.socket, res).catch(() => env.incoming.socket.destroy());
    // Accepted: @hono/node-server's upgradeWebSocket has taken the request already, but its
    // closure keeps this env (and the Context) for the socket's whole life. The Node request
    // (headers, raw headers, its URL with the token) is not needed any more: not kept for
    // every connection (bench:scale --heap: about 2 KB of heap each).
    else delete (env as Partial<NodeEnv>).incoming;
    return res;
  }

  /** Drops every socket still open (after LiveDocs closed them and saved their docs). */
  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}
