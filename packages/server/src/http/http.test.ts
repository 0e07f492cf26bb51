import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/open.js';
import { startTestServer, TEST_SECRET, testDatabases, type TestServer } from '../testing/harness.js';

for (const kind of testDatabases()) {
  describe(`HTTP basics on ${kind.name}`, () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
    });
    afterAll(() => t.close());

    const raw = (path: string, init: RequestInit = {}) => t.server.fetch(new Request(`http://test${path}`, init));

    it('answers /healthz', async () => {
      const res = await raw('/healthz');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, database: kind.name });
    });

    it('refuses a request with no token with 401 and the envelope', async () => {
      const res = await raw('/api/v1/processes');
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body.error).toMatchObject({ code: 'UNAUTHENTICATED', details: [] });
      expect(typeof body.error.message).toBe('string');
    });

    it('refuses an expired token', async () => {
      const past = Math.floor(t.clock.now().getTime() / 1000) - 7200;
      const token = await new SignJWT({ tenant: 't1', roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u')
        .setIssuedAt(past)
        .setExpirationTime(past + 60)
        .sign(new TextEncoder().encode(TEST_SECRET));
      const res = await raw('/api/v1/processes', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('UNAUTHENTICATED');
    });

    it('refuses a token signed with another secret, and an unsigned one', async () => {
      const other = await new SignJWT({ tenant: 't1', roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('another-secret-another-secret-xx'));
      const unsigned = `${btoa(JSON.stringify({ alg: 'none' }))}.${btoa(JSON.stringify({ sub: 'u', tenant: 't1' }))}.`;
      for (const token of [other, unsigned, 'garbage']) {
        const res = await raw('/api/v1/processes', { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(401);
        expect((await res.json()).error.code).toBe('UNAUTHENTICATED');
      }
    });

    it('refuses a token that expired after it was first accepted (cached verification)', async () => {
      const iat = Math.floor(t.clock.now().getTime() / 1000);
      const token = await new SignJWT({ tenant: 't1', roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u')
        .setIssuedAt(iat)
        .setExpirationTime(iat + 60)
        .sign(new TextEncoder().encode(TEST_SECRET));
      expect((await raw('/api/v1/processes', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      t.clock.advance(61_000);
      try {
        expect((await raw('/api/v1/processes', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
      } finally {
        t.clock.advance(-61_000);
      }
    });

    it('accepts a valid token', async () => {
      const res = await t.as('u1', ['admin']).get('/processes');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [] });
    });

    it('answers an unknown route with 404 and the envelope', async () => {
      const res = await t.as('u1').get('/no/such/route');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
      const anon = await raw('/nothing-here');
      expect(anon.status).toBe(404);
      expect((await anon.json()).error.code).toBe('NOT_FOUND');
    });

    it('refuses a body over 1 MiB with 413, and stores nothing', async () => {
      const token = await t.token('u1', ['admin']);
      const big = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10), fields: {} });
      const res = await raw('/api/v1/customers', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: big,
      });
      expect(res.status).toBe(413);
      expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
      expect((await t.as('u1', ['admin']).get('/customers')).body.items).toEqual([]);
    });

    it('over a real socket: reads a declared-length body, refuses an oversized one by its header or its stream, and tags every response with its request id', async () => {
      const { port } = await t.server.listen(0, '127.0.0.1');
      const token = await t.token('u1', ['admin']);
      const send = (
        path: string,
        init: { method?: string; headers?: Record<string, string>; body?: string | string[] } = {},
      ) =>
        new Promise<{ status: number; headers: IncomingHttpHeaders; body: any }>((done, fail) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port,
              path,
              method: init.method ?? 'GET',
              headers: { authorization: `Bearer ${token}`, ...init.headers },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () =>
                done({
                  status: res.statusCode!,
                  headers: res.headers,
                  body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'),
                }),
              );
            },
          );
          req.on('error', fail);
          // An array is sent as chunks with no declared length (Transfer-Encoding: chunked).
          for (const part of Array.isArray(init.body) ? init.body : []) req.write(part);
          req.end(typeof init.body === 'string' ? init.body : undefined);
        });
      const json = { 'content-type': 'application/json' };

      const body = JSON.stringify({ name: '量子科技', fields: {} });
      const created = await send('/api/v1/customers', {
        method: 'POST',
        headers: { ...json, 'content-length': String(Buffer.byteLength(body)), 'x-request-id': 'req-42' },
        body,
      });
      expect(created.status).toBe(201);
      expect(created.body.name).toBe('量子科技');
      expect(created.headers['x-request-id']).toBe('req-42');
      const chunked = await send('/api/v1/customers', {
        method: 'POST',
        headers: json,
        body: ['{"name": "分块', '客户", "fields": {}}'],
      });
      expect(chunked.status).toBe(201);
      expect(chunked.body.name).toBe('分块客户');
      expect(chunked.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

      const big = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10), fields: {} });
      const declared = await send('/api/v1/customers', {
        method: 'POST',
        headers: { ...json, 'content-length': String(big.length) },
        body: big,
      });
      expect(declared.status).toBe(413);
      expect(declared.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(declared.headers['x-request-id']).toBeTruthy();
      const streamed = await send('/api/v1/customers', {
        method: 'POST',
        headers: json,
        body: [big.slice(0, 600_000), big.slice(600_000)],
      });
      expect(streamed.status).toBe(413);
      const missing = await send('/api/v1/no/such/route');
      expect(missing.status).toBe(404);
      expect(missing.headers['x-request-id']).toBeTruthy();
      expect(
        (await t.as('u1', ['admin']).get('/customers')).body.items.map((c: { name: string }) => c.name).sort(),
      ).toEqual(['分块客户', '量子科技']);
    });

    it('refuses malformed JSON and wrong types with VALIDATION_FAILED listing each path', async () => {
      const token = await t.token('u1', ['admin']);
      const res = await raw('/api/v1/customers', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{"name": ',
      });
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('VALIDATION_FAILED');
      const typed = await t
        .as('u1', ['admin'])
        .post('/processes', { name: 5, definition: { presale: [{ id: 'a', winRate: 250 }] } });
      expect(typed.status).toBe(400);
      const paths = typed.body.error.details.map((d: { path: string }) => d.path);
      expect(paths).toEqual(expect.arrayContaining(['body.name', 'body.definition.presale.0.winRate']));
    });

    it('serves the OpenAPI document without a token', async () => {
      const res = await raw('/api/v1/openapi.json');
      expect(res.status).toBe(200);
      const doc = await res.json();
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/opportunities/{id}/complete-stage', '/processes/{id}/publish']),
      );
    });

    it('has no dev endpoints outside dev mode', async () => {
      const res = await raw('/api/v1/dev/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"sub":"a","tenant":"b"}',
      });
      expect(res.status).toBe(401); // behind auth like any unknown route
      const authed = await t.as('u1', ['admin']).post('/dev/token', { sub: 'a', tenant: 'b' });
      expect(authed.status).toBe(404);
    });
  });
}

describe('PGlite data folder', () => {
  it('keeps data across a close and reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-pglite-'));
    try {
      const first = await startTestServer(await openDatabase({ dataDir: dir }));
      const created = await first.as('u1', ['admin']).post('/customers', { name: '华润置地', fields: {} });
      expect(created.status).toBe(201);
      await first.close();
      const second = await startTestServer(await openDatabase({ dataDir: dir }));
      const got = await second.as('u1', ['admin']).get(`/customers/${created.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body.name).toBe('华润置地');
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
