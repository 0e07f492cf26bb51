/**
 * Every failure is the envelope: framework exceptions, a lost database (503 with
 * Retry-After), unknown errors (500, logged with the request id, no details), and requests
 * Node's own parser refuses (a 60 KiB query string or header). API responses carry the
 * safety headers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { processDraftDocName } from '@sales-process/core';
import { HTTPException } from 'hono/http-exception';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CSP } from './static.js';
import { openMigratedPglite, startTestServer, testDatabases, type TestServer } from '../testing/harness.js';
import { isConnectionLost } from './errors.js';

describe('the envelope for every failure', () => {
  let t: TestServer;
  let port: number;
  const logLines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) });
    t = await startTestServer(await openMigratedPglite(), { logger: pino({ level: 'warn' }, sink) });
    // Routes that fail the ways a handler can, added before the first request.
    t.server.app.get('/test/boom', () => {
      throw new Error('password=hunter2 in a driver message');
    });
    t.server.app.get('/test/framework/:status', (c) => {
      throw new HTTPException(Number(c.req.param('status')) as 401);
    });
    t.server.app.get('/test/uri', (c) => c.text(decodeURIComponent(c.req.header('x-name') ?? '')));
    ({ port } = await t.server.listen(0, '127.0.0.1'));
  });
  afterAll(() => t.close());

  const raw = (path: string, init: RequestInit = {}) => t.server.fetch(new Request(`http://test${path}`, init));

  it('answers an unknown error with 500 INTERNAL and no details, and logs it with its request id', async () => {
    const res = await raw('/test/boom', { headers: { 'x-request-id': 'req-boom-1' } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error).toMatchObject({ code: 'INTERNAL', details: [] });
    expect(text).not.toContain('hunter2');
    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.requestId === 'req-boom-1');
    expect(line).toMatchObject({ msg: 'unhandled error', level: 50 });
    expect(line.err.message).toContain('driver message');
  });

  it('maps framework exceptions and bad percent-encoding to the envelope', async () => {
    for (const [status, code] of [
      [401, 'UNAUTHENTICATED'],
      [403, 'FORBIDDEN'],
      [404, 'NOT_FOUND'],
      [429, 'RATE_LIMITED'],
      [503, 'UNAVAILABLE'],
      [418, 'VALIDATION_FAILED'],
    ] as const) {
      const res = await raw(`/test/framework/${status}`);
      expect((await res.json()).error.code, String(status)).toBe(code);
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    const uri = await raw('/test/uri', { headers: { 'x-name': '%E0%A4%A' } });
    expect(uri.status).toBe(400);
    expect((await uri.json()).error.code).toBe('VALIDATION_FAILED');
  });

  it('puts nosniff, no-store and no-referrer on API answers, keeping a cache policy a route set', async () => {
    const token = await t.token('u1', ['admin']);
    for (const res of [
      await raw('/api/v1/processes', { headers: { authorization: `Bearer ${token}` } }),
      await raw('/api/v1/processes'),
      await raw('/api/v1/nothing'),
      await raw('/healthz'),
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
    const stream = await raw('/api/v1/notifications/stream', { headers: { authorization: `Bearer ${token}` } });
    expect(stream.headers.get('cache-control')).toBe('no-cache');
    expect(stream.headers.get('x-content-type-options')).toBe('nosniff');
    await stream.body?.cancel();
  });

  /** A raw request over the socket: status, content type and body text. */
  const send = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; type: string | undefined; text: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            type: res.headers['content-type'],
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      });
      req.on('error', reject);
      req.end();
    });

  it('answers a 60 KiB query string or header with 431 and the envelope, not an empty answer', async () => {
    for (const res of [
      await send(`/api/v1/processes?q=${'x'.repeat(60 * 1024)}`),
      await send('/api/v1/processes', { 'x-big': 'y'.repeat(60 * 1024) }),
    ]) {
      expect(res.status).toBe(431);
      expect(res.type).toBe('application/json');
      expect(JSON.parse(res.text).error).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        details: [expect.objectContaining({ path: 'headers' })],
      });
    }
    // The server still serves normal requests afterwards.
    expect((await send('/healthz')).status).toBe(200);
  });

  /** Bytes straight onto a socket; the status and the body of the answer (the socket is closed after it). */
  const exchange = (head: string) =>
    new Promise<{ status: number; head: string; body: string }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(head));
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', reject);
      socket.setTimeout(5000, () => (socket.destroy(), reject(new Error('no answer'))));
      socket.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
          head: text.slice(0, text.indexOf('\r\n\r\n')),
          body: text.slice(text.indexOf('\r\n\r\n') + 4),
        });
        socket.destroy();
      });
    });
  const ws =
    'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

  it('answers requests that cannot become a Request, and upgrades nobody serves, with the envelope instead of an empty answer or a hang', async () => {
    for (const head of [
      'GET /api/v1/processes HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      `GET /sync/${processDraftDocName('p1')} HTTP/1.1\r\nHost: a b\r\n${ws}\r\n`,
      'GET /api/v1/processes HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n',
    ]) {
      const res = await exchange(head);
      expect(res.status, head).toBe(400);
      expect(JSON.parse(res.body).error.code, head).toBe('VALIDATION_FAILED');
      expect(res.head.toLowerCase(), head).toContain('x-content-type-options: nosniff');
      expect(res.head.toLowerCase(), head).toContain('referrer-policy: no-referrer');
    }
  });

  it('classifies lost database connections', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'CONNECTION_CLOSED',
      'CONNECTION_ENDED',
      'CONNECTION_DESTROYED',
      'CONNECT_TIMEOUT',
      '57P01',
      '57P03',
      '08006',
    ])
      expect(isConnectionLost(Object.assign(new Error('x'), { code })), code).toBe(true);
    // Drizzle wraps the driver's error as its cause; a dual-stack connect fails as an AggregateError.
    expect(
      isConnectionLost(
        Object.assign(new Error('Failed query: select 1'), {
          cause: Object.assign(new Error('terminating connection'), { code: '57P01' }),
        }),
      ),
    ).toBe(true);
    expect(isConnectionLost(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })]))).toBe(true);
    expect(isConnectionLost(new Error('PGlite is closed'))).toBe(true);
    for (const other of [new Error('boom'), Object.assign(new Error('dup'), { code: '23505' }), null, 'ECONNREFUSED'])
      expect(isConnectionLost(other)).toBe(false);
  });
});

for (const kind of testDatabases()) {
  describe(`a lost database on ${kind.name}`, () => {
    it('answers 503 UNAVAILABLE with Retry-After', async () => {
      const database = await kind.open();
      const t = await startTestServer(database);
      const token = await t.token('u1', ['admin']);
      expect((await t.as('u1', ['admin']).get('/customers')).status).toBe(200);
      // The connection goes away under the running server.
      const close = database.close;
      await (kind.name === 'postgres' ? close.call(database) : database.close());
      database.close = async () => {};
      try {
        const res = await t.server.fetch(
          new Request('http://test/api/v1/customers', { headers: { authorization: `Bearer ${token}` } }),
        );
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect((await res.json()).error.code).toBe('UNAVAILABLE');
      } finally {
        await t.server.close().catch(() => {});
      }
    });
  });
}

describe('the demo pages', () => {
  it('carry a Content-Security-Policy that allows only their own origin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-demo-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>demo</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const t = await startTestServer(await openMigratedPglite(), { staticDir: dir });
    try {
      for (const path of ['/', '/index.html', '/some/app/route']) {
        const res = await t.server.fetch(new Request(`http://test${path}`));
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-security-policy'), path).toBe(DEMO_CSP);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      }
      expect(DEMO_CSP).toContain("script-src 'self'");
      expect(DEMO_CSP).not.toContain('unsafe-eval');
      const script = await t.server.fetch(new Request('http://test/app.js'));
      expect(script.headers.get('content-security-policy')).toBeNull();
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
