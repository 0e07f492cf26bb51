/**
 * Answers written straight onto a socket, where Hono is not in the path: refused websocket
 * upgrades and requests Node's own parser refuses (it would send an empty 431 or 400). Both
 * carry API.md's envelope.
 */
import {
  createServer as createHttpServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerOptions,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError, serve, type ServerType } from '@hono/node-server';
import { ApiError, envelopeBody } from './errors.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** Node's default header limit (`--max-http-header-size`), which the server keeps. */
const HEADER_LIMIT = 16 * 1024;
const SKIPPED = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade']);

/** Writes a complete HTTP/1.1 response, body included, and ends the socket. */
export function writeRaw(
  socket: Duplex,
  status: number,
  headers: Iterable<[string, string]>,
  body: string | Uint8Array,
): void {
  if (socket.destroyed || !socket.writable) return;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    `Content-Length: ${bytes.length}`,
  ];
  for (const [k, v] of headers) if (!SKIPPED.has(k.toLowerCase()) && !/[\r\n]/.test(k + v)) lines.push(`${k}: ${v}`);
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]));
}

/** Sends a Response (an upgrade the app refused) over a socket that was never handed to the http module's writer. */
export async function writeResponse(socket: Duplex, res: Response): Promise<void> {
  const body = new Uint8Array(await res.arrayBuffer());
  writeRaw(socket, res.status, res.headers.entries(), body);
}

/** The envelope as a Response, where there is no Hono context to build it. */
export function errorResponseOutsideHono(error: ApiError): Response {
  return new Response(envelopeBody(error), { status: error.status, headers: envelopeHeaders() });
}

function envelopeHeaders(): [string, string][] {
  return [['content-type', 'application/json'], ...Object.entries(SECURITY_HEADERS), ['cache-control', 'no-store']];
}

/**
 * Replaces Node's default `clientError` answer (an empty 400/431/408) with the envelope.
 * Limits stay Node's own; only the answer changes.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Mid-response (a keep-alive socket's later garbage) there is no answer to give.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const send = (status: number, error: ApiError) => writeRaw(socket, status, envelopeHeaders(), envelopeBody(error));
    switch (err.code) {
      case 'HPE_HEADER_OVERFLOW':
        return send(
          431,
          new ApiError(
            'PAYLOAD_TOO_LARGE',
            [
              {
                path: 'headers',
                limit: HEADER_LIMIT,
                message: {
                  zh: '请求行与请求头合计不能超过 16 KiB',
                  en: 'The request line and headers may not exceed 16 KiB',
                },
              },
            ],
            { zh: '请求头过大', en: 'The request headers are too large' },
          ),
        );
      case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
        return send(413, new ApiError('PAYLOAD_TOO_LARGE'));
      case 'ERR_HTTP_REQUEST_TIMEOUT':
        return send(408, new ApiError('VALIDATION_FAILED', [], { zh: '请求超时', en: 'The request timed out' }));
      default:
        return send(
          400,
          new ApiError(
            'VALIDATION_FAILED',
            [{ path: 'request', message: { zh: '请求格式不正确', en: 'The request is malformed' } }],
            { zh: '请求格式不正确', en: 'The request is malformed' },
          ),
        );
    }
  });
}

/**
 * The answer to an upgrade the app never sees: anything but a websocket (Node would leave the
 * socket hanging), or a websocket upgrade whose Host or target is malformed.
 */
export function upgradeRefusal(socket: Duplex, why: 'not-websocket' | 'malformed'): void {
  const detail =
    why === 'malformed'
      ? { path: 'request', message: { zh: '请求目标或 Host 不合法', en: 'The request target or Host is malformed' } }
      : { path: 'headers.upgrade', message: { zh: '只支持 WebSocket 升级', en: 'Only websocket upgrades are served' } };
  writeRaw(socket, 400, envelopeHeaders(), envelopeBody(new ApiError('VALIDATION_FAILED', [detail])));
}

/**
 * Serves `fetch` on Node's HTTP server with @hono/node-server's listener and `upgrade` for
 * websocket upgrades (live/websocket-route.ts), plus the envelope for what hono never sees:
 * requests the listener cannot turn into a Request (a malformed Host, a `*` target) and
 * client errors. `started` gets the server at once (before it listens), for closing.
 */
export function listenNode(options: {
  fetch: (req: Request, env: never) => Response | Promise<Response>;
  /** Node's `upgrade` listener: every upgrade request goes there. */
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  port: number;
  host: string;
  started: (server: ServerType) => void;
}): Promise<{ port: number; url: string }> {
  const { port, host } = options;
  return new Promise((resolveListen, reject) => {
    const requestListener = getRequestListener(options.fetch as never, {
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
    const createNodeServer = (opts: ServerOptions) => createHttpServer(opts, requestListener);
    const server = serve(
      {
        fetch: options.fetch as never,
        port,
        hostname: host,
        createServer: createNodeServer as never,
      },
      (info: AddressInfo) => {
        const shown = host === '0.0.0.0' ? 'localhost' : host;
        resolveListen({ port: info.port, url: `http://${shown}:${info.port}` });
      },
    );
    options.started(server);
    server.once('error', reject);
    answerClientErrors(server as Server);
    server.on('upgrade', options.upgrade);
  });
}

/** Stops accepting, lets in-flight requests finish, and closes idle keep-alive connections. */
export function closeNode(server: ServerType): Promise<void> {
  return new Promise<void>((done) => {
    server.close(() => done());
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
