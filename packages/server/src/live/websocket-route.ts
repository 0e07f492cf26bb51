/**
 * How a live doc's socket is opened (Hocuspocus' Server): `GET /sync/:doc` checks the
 * Origin, the token (http/auth.ts, as REST does) and the right to open the doc before the
 * upgrade, so a refusal is a plain HTTP answer with the envelope. `LiveUpgrades` is the Node
 * side: Node's `upgrade` listener runs the request through the app, writes a refusal back
 * (envelope and all), and completes an accepted handshake with `ws`, handing the socket to
 * LiveDocs with only what its life needs (who, which doc, may write): no Hono Context,
 * Request or URL is kept for the socket's life, as `@hono/node-server`'s `upgradeWebSocket`
 * did (about 8 KB a connection).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { LIVE_SUBPROTOCOL } from '@sales-process/core';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { websocketToken, type Authenticate, type Principal } from '../http/auth.js';
import { websocketOriginAllowed } from '../http/cors.js';
import type { AppEnv } from '../http/env.js';
import { ApiError } from '../http/errors.js';
import { errorResponseOutsideHono, upgradeRefusal, writeResponse } from '../http/node.js';
import type { LiveDocs } from './live-docs.js';

/** What the route decided for an upgrade it accepts; LiveUpgrades completes the handshake. */
interface AcceptedUpgrade {
  principal: Principal;
  doc: string;
  canWrite: boolean;
}

/** Where the route leaves its decision, on the env LiveUpgrades hands the app. */
const ACCEPTED_UPGRADE = Symbol('accepted websocket upgrade');
type UpgradeEnv = { incoming: IncomingMessage; outgoing: undefined; [ACCEPTED_UPGRADE]?: AcceptedUpgrade };

export interface LiveRouteDeps {
  live: LiveDocs;
  /** Verifies a token and provisions its tenant: the same as REST's (http/auth.ts). */
  authenticate: Authenticate;
  /** Origins whose pages may open live documents (besides the server's own). */
  allowedOrigins: ReadonlySet<string>;
}

/** The route, to mount at `/sync`: `app.route('/sync', liveRoute(…))`. */
export function liveRoute({ live, authenticate, allowedOrigins }: LiveRouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/:doc', async (c) => {
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
    const doc = c.req.param('doc');
    const { canWrite } = await live.authorize(principal, doc);
    // Only Node's upgrade listener (LiveUpgrades) can complete a handshake; a plain GET cannot.
    const env = c.env as Partial<UpgradeEnv> | undefined;
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket' || !env?.incoming || env.outgoing !== undefined)
      throw new ApiError('VALIDATION_FAILED', [
        { message: { zh: '需要 WebSocket 升级', en: 'Expected a websocket upgrade' } },
      ]);
    live.admit(principal); // at most maxConnectionsPerUser of one user's sockets: 429 past it
    env[ACCEPTED_UPGRADE] = { principal, doc, canWrite };
    return c.body(null, 200);
  });
}

/** The Node side of live sockets: `server.on('upgrade', upgrades.handle)`. */
export class LiveUpgrades {
  readonly wss: WebSocketServer;

  constructor(
    private readonly appFetch: (req: Request, env: UpgradeEnv) => Response | Promise<Response>,
    private readonly live: LiveDocs,
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
   * Node's `upgrade` listener. Anything but a websocket, and a request that cannot be made a
   * Request (a malformed Host or target), is answered 400; the rest go through the app, whose
   * refusal is written back with its envelope, and whose acceptance is completed here.
   */
  readonly handle = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A client that resets mid-handshake must not become an unhandled 'error'.
    socket.on('error', ignore);
    this.upgrade(req, socket, head).catch((error) => {
      this.logger.error({ err: error }, 'websocket upgrade failed');
      socket.destroy();
    });
  };

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') return upgradeRefusal(socket, 'not-websocket');
    const request = upgradeRequest(req);
    if (!request) return upgradeRefusal(socket, 'malformed');
    const env: UpgradeEnv = { incoming: req, outgoing: undefined };
    let res: Response;
    try {
      res = await this.appFetch(request, env);
    } catch (error) {
      this.logger.error({ err: error, path: req.url }, 'websocket upgrade failed');
      res = errorResponseOutsideHono(new ApiError('INTERNAL'));
    }
    const accepted = env[ACCEPTED_UPGRADE];
    if (!accepted || res.status !== 200) return writeResponse(socket, res);
    if (socket.destroyed) return; // gone while it was checked: the place `admit` held lapses
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', ignore);
      this.live.connect(ws, accepted.principal, accepted.doc, accepted.canWrite);
    });
  }

  /** Drops every socket still open (after LiveDocs closed them and saved their docs). */
  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}

const ignore = () => {};

/** The upgrade as a fetch Request (headers and URL only), or null when its Host or target is malformed. */
function upgradeRequest(req: IncomingMessage): Request | null {
  try {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    if (!/^https?:$/.test(url.protocol)) return null;
    const headers = new Headers();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.append(key, Array.isArray(value) ? value.join(', ') : value);
    }
    return new Request(url, { headers });
  } catch {
    return null;
  }
}
