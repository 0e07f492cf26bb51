/**
 * Cross-origin hosts: CORS on REST and SSE, the websocket Origin check, the token in the
 * websocket subprotocol, and the kit's assets served to pages on any origin.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  LIVE_SUBPROTOCOL,
  processDraftDocName,
  seedProcessDefinition,
} from '@sales-process/core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openMigratedPglite, startTestServer, type TestServer } from '../testing/harness.js';
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS } from './cors.js';

const HOST_ORIGIN = 'https://crm.example.com';
const FOREIGN_ORIGIN = 'https://evil.example.net';
const ENTRY = 'export const kit = "sales process kit";\n'.repeat(20);
const CHUNK = 'export const chunk = 1;\n';

describe('cross-origin hosts', () => {
  let t: TestServer;
  let kitDir: string;
  let port: number;
  let processId: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    kitDir = mkdtempSync(join(tmpdir(), 'sp-kit-'));
    mkdirSync(join(kitDir, 'chunks'));
    writeFileSync(join(kitDir, 'sales-process-kit.js'), ENTRY);
    writeFileSync(join(kitDir, 'sales-process-kit.js.br'), brotliCompressSync(ENTRY));
    writeFileSync(join(kitDir, 'sales-process-kit.js.gz'), gzipSync(ENTRY));
    writeFileSync(join(kitDir, 'chunks', 'foo-AbC123xy.js'), CHUNK);
    writeFileSync(join(kitDir, 'chunks', 'foo-AbC123xy.js.map'), '{"version":3,"sources":[],"mappings":""}');
    writeFileSync(join(kitDir, 'chunks', 'bar-abcdefgh.js'), CHUNK);
    writeFileSync(join(kitDir, 'stage-form.js'), CHUNK);
    writeFileSync(join(tmpdir(), 'sp-kit-outside.js'), 'secret');
    const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) });
    t = await startTestServer(await openMigratedPglite(), {
      allowedOrigins: [HOST_ORIGIN, 'http://localhost:5173/'],
      kitDir,
      logger: pino({ level: 'info' }, sink),
    });
    ({ port } = await t.server.listen(0, '127.0.0.1'));
    processId = (
      await t
        .as('admin', ['admin'])
        .post('/processes', { name: '流程', departments: [], definition: seedProcessDefinition })
    ).body.id;
  });
  afterAll(async () => {
    await t.close();
    rmSync(kitDir, { recursive: true, force: true });
  });

  const raw = (path: string, init: RequestInit = {}) => t.server.fetch(new Request(`http://test${path}`, init));
  const list = (header: string | null) => (header ?? '').split(',').map((h) => h.trim().toLowerCase());

  describe('CORS on the API', () => {
    it('answers a preflight from an allowed origin with 204, before auth, naming the allowed headers and no credentials', async () => {
      const res = await raw('/api/v1/opportunities/o1/complete-stage', {
        method: 'OPTIONS',
        headers: {
          origin: HOST_ORIGIN,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, idempotency-key, if-match',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(HOST_ORIGIN);
      expect(list(res.headers.get('access-control-allow-headers'))).toEqual(
        CORS_ALLOW_HEADERS.map((h) => h.toLowerCase()),
      );
      expect(list(res.headers.get('access-control-allow-methods'))).toEqual(
        expect.arrayContaining(['get', 'post', 'put', 'patch', 'delete']),
      );
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(list(res.headers.get('vary'))).toContain('origin');
      // A configured origin with a trailing slash matches what browsers send.
      const dev = await raw('/api/v1/processes', {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' },
      });
      expect(dev.status).toBe(204);
      expect(dev.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    });

    it('gives a preflight from any other origin no Access-Control-Allow-Origin (the browser refuses), and never 401', async () => {
      for (const origin of [FOREIGN_ORIGIN, 'null', 'https://crm.example.com.evil.net', 'http://crm.example.com']) {
        const res = await raw('/api/v1/processes', {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        });
        expect(res.status).not.toBe(401);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      }
    });

    it('lets an allowed origin read answers (errors included) and exposes the headers the kit reads; another origin gets none', async () => {
      const token = await t.token('admin', ['admin']);
      const ok = await raw('/api/v1/processes', { headers: { origin: HOST_ORIGIN, authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe(HOST_ORIGIN);
      expect(list(ok.headers.get('access-control-expose-headers'))).toEqual(
        CORS_EXPOSE_HEADERS.map((h) => h.toLowerCase()),
      );
      expect(ok.headers.get('access-control-allow-origin')).not.toBe('*');
      const refused = await raw('/api/v1/processes', { headers: { origin: HOST_ORIGIN } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(HOST_ORIGIN);
      expect((await refused.json()).error.code).toBe('UNAUTHENTICATED');

      const foreign = await raw('/api/v1/processes', {
        headers: { origin: FOREIGN_ORIGIN, authorization: `Bearer ${token}` },
      });
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
      expect(foreign.headers.get('access-control-expose-headers')).toBeNull();
    });

    it('covers the SSE streams', async () => {
      const token = await t.token('admin', ['admin']);
      const controller = new AbortController();
      const res = await raw('/api/v1/notifications/stream', {
        headers: { origin: HOST_ORIGIN, authorization: `Bearer ${token}` },
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      expect(res.headers.get('access-control-allow-origin')).toBe(HOST_ORIGIN);
      await res.body?.cancel();
      controller.abort();
    });
  });

  describe('websocket Origin check and subprotocol token', () => {
    const doc = () => processDraftDocName(processId);
    /** The status and body an upgrade is answered with, and the subprotocol of an accepted one. */
    const upgrade = (
      path: string,
      opts: { origin?: string; protocols?: string[]; headers?: Record<string, string> } = {},
    ) =>
      new Promise<{
        status: number;
        body: any;
        protocol?: string;
        headers?: Record<string, string | string[] | undefined>;
      }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, opts.protocols ?? [], {
          origin: opts.origin,
          headers: opts.headers,
        });
        let headers: Record<string, string | string[] | undefined> | undefined;
        ws.once('upgrade', (res) => (headers = res.headers));
        ws.once('unexpected-response', (_req, res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null, headers: res.headers });
          });
        });
        ws.once('open', () => {
          const protocol = ws.protocol;
          ws.close();
          resolve({ status: 101, body: null, protocol, headers });
        });
        ws.once('error', (e) => reject(e));
      });

    it('refuses an upgrade from a foreign origin with 403 and the envelope, before looking at the token', async () => {
      const token = await t.token('admin', ['admin']);
      const res = await upgrade(`/sync/${doc()}?token=${token}`, { origin: FOREIGN_ORIGIN });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({
        code: 'FORBIDDEN',
        details: [expect.objectContaining({ origin: FOREIGN_ORIGIN })],
      });
      expect(res.headers?.['content-type']).toContain('application/json');
      const anonymous = await upgrade(`/sync/${doc()}`, { origin: FOREIGN_ORIGIN });
      expect(anonymous.status).toBe(403);
    });

    it('accepts no Origin (Node clients), the server’s own origin, and an allowed one', async () => {
      const token = await t.token('admin', ['admin']);
      expect((await upgrade(`/sync/${doc()}?token=${token}`)).status).toBe(101);
      expect((await upgrade(`/sync/${doc()}?token=${token}`, { origin: `http://127.0.0.1:${port}` })).status).toBe(101);
      expect((await upgrade(`/sync/${doc()}?token=${token}`, { origin: HOST_ORIGIN })).status).toBe(101);
    });

    it('takes the token from a `bearer.<jwt>` subprotocol, answers `sales-process` and never echoes the token', async () => {
      const token = await t.token('admin', ['admin']);
      const res = await upgrade(`/sync/${doc()}`, {
        origin: HOST_ORIGIN,
        protocols: [LIVE_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`],
      });
      expect(res.status).toBe(101);
      expect(res.protocol).toBe(LIVE_SUBPROTOCOL);
      expect(res.headers?.['sec-websocket-protocol']).toBe(LIVE_SUBPROTOCOL);
      expect(JSON.stringify(res.headers)).not.toContain(token);
      // Offered token first, the answer is still `sales-process` (ws would pick the first offer).
      const tokenFirst = await upgrade(`/sync/${doc()}`, {
        protocols: [`${BEARER_SUBPROTOCOL_PREFIX}${token}`, LIVE_SUBPROTOCOL],
      });
      expect(tokenFirst.status).toBe(101);
      expect(tokenFirst.protocol).toBe(LIVE_SUBPROTOCOL);
      expect(JSON.stringify(tokenFirst.headers)).not.toContain(token);
      // The subprotocol token wins over a bad ?token= and a bad header.
      const first = await upgrade(`/sync/${doc()}?token=garbage`, {
        protocols: [LIVE_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`],
        headers: { authorization: 'Bearer garbage' },
      });
      expect(first.status).toBe(101);
      // A refused one is refused with the envelope.
      const bad = await upgrade(`/sync/${doc()}`, {
        protocols: [LIVE_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}garbage`],
      });
      expect(bad.status).toBe(401);
      expect(bad.body.error.code).toBe('UNAUTHENTICATED');
      // The Authorization header, for Node clients.
      expect((await upgrade(`/sync/${doc()}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(101);
    });

    it('answers refused upgrades with the envelope body (no token, unknown route)', async () => {
      const none = await upgrade(`/sync/${doc()}`);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('UNAUTHENTICATED');
      const elsewhere = await upgrade('/api/v1/processes');
      expect(elsewhere.status).toBe(401);
      expect(elsewhere.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('keeps ?token= values out of the logs', async () => {
      const token = await t.token('admin', ['admin']);
      await upgrade(`/sync/${doc()}?token=${token}&x=1`);
      await upgrade(`/sync/${doc()}?token=not-a-real-token-xyz`);
      const lines = logLines.filter((l) => l.includes('/sync/'));
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.join('\n')).not.toContain(token);
      expect(lines.join('\n')).not.toContain('not-a-real-token-xyz');
      expect(lines.some((l) => JSON.parse(l).query === '?token=[redacted]&x=1')).toBe(true);
    });
  });

  describe('kit assets', () => {
    it('serves the entry with a short cache, an ETag and 304, to any origin', async () => {
      const res = await raw('/kit/sales-process-kit.js', { headers: { origin: FOREIGN_ORIGIN } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      expect(res.headers.get('cache-control')).toBe('public, max-age=300');
      const etag = res.headers.get('etag');
      expect(etag).toMatch(/^"[^"]+"$/);
      expect(await res.text()).toBe(ENTRY);
      const again = await raw('/kit/sales-process-kit.js', { headers: { 'if-none-match': etag! } });
      expect(again.status).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      expect(await again.text()).toBe('');
      expect((await raw('/kit/sales-process-kit.js', { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    });

    it('marks content-hashed chunks and their maps immutable for a year', async () => {
      const chunk = await raw('/kit/chunks/foo-AbC123xy.js');
      expect(chunk.status).toBe(200);
      expect(chunk.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(chunk.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(chunk.headers.get('access-control-allow-origin')).toBe('*');
      expect(await chunk.text()).toBe(CHUNK);
      const map = await raw('/kit/chunks/foo-AbC123xy.js.map');
      expect(map.status).toBe(200);
      expect(map.headers.get('content-type')).toContain('application/json');
      expect(map.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      // A chunk whose hash drew only small letters is still a chunk; a plain name is not hashed.
      expect((await raw('/kit/chunks/bar-abcdefgh.js')).headers.get('cache-control')).toBe(
        'public, max-age=31536000, immutable',
      );
      const plain = await raw('/kit/stage-form.js');
      expect(plain.headers.get('cache-control')).toBe('public, max-age=300');
      expect(plain.headers.get('etag')).toBeTruthy();
    });

    it('sends the brotli or gzip file beside a file by Accept-Encoding, with Vary', async () => {
      const br = await raw('/kit/sales-process-kit.js', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
      expect(br.headers.get('content-encoding')).toBe('br');
      expect(br.headers.get('vary')).toBe('Accept-Encoding');
      expect(Buffer.from(await br.arrayBuffer())).toEqual(brotliCompressSync(ENTRY));
      const gz = await raw('/kit/sales-process-kit.js', { headers: { 'accept-encoding': 'gzip' } });
      expect(gz.headers.get('content-encoding')).toBe('gzip');
      expect(gz.headers.get('vary')).toBe('Accept-Encoding');
      expect(gz.headers.get('etag')).not.toBe(br.headers.get('etag'));
      const refusedBr = await raw('/kit/sales-process-kit.js', { headers: { 'accept-encoding': 'br;q=0, gzip' } });
      expect(refusedBr.headers.get('content-encoding')).toBe('gzip');
      const identity = await raw('/kit/sales-process-kit.js');
      expect(identity.headers.get('content-encoding')).toBeNull();
      expect(identity.headers.get('vary')).toBe('Accept-Encoding');
      expect(await identity.text()).toBe(ENTRY);
      // A file with no compressed sibling varies on nothing.
      expect(
        (await raw('/kit/chunks/foo-AbC123xy.js', { headers: { 'accept-encoding': 'br' } })).headers.get(
          'content-encoding',
        ),
      ).toBeNull();
    });

    it('answers a missing file and any path out of the folder with the 404 envelope', async () => {
      for (const path of [
        '/kit/nope.js',
        '/kit/',
        '/kit/chunks',
        '/kit/%2e%2e/sp-kit-outside.js',
        '/kit/chunks/..%2f..%2fsp-kit-outside.js',
        '/kit/..%5csp-kit-outside.js',
        '/kit/%252e%252e/sp-kit-outside.js',
        '/kit/.hidden',
        '/kit/a%00.js',
      ]) {
        const res = await raw(path);
        expect(res.status, path).toBe(404);
        expect((await res.json()).error.code, path).toBe('NOT_FOUND');
      }
    });
  });
});
