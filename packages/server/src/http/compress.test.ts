import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { seedProcessDefinition } from '@sales-process/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigratedPglite, startTestServer, type TestServer } from '../testing/harness.js';
import { COMPRESS_MIN_BYTES } from './compress.js';

describe('JSON reads compressed like a CDN would', () => {
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer(await openMigratedPglite());
    token = await t.token('admin', ['admin']);
  });
  afterAll(() => t.close());

  const get = (path: string, acceptEncoding?: string, auth = true) =>
    t.server.fetch(
      new Request(`http://test${path}`, {
        headers: {
          ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }),
          ...(auth ? { authorization: `Bearer ${token}` } : {}),
        },
      }),
    );

  it('sends a large read in brotli or gzip, as accepted, with the same JSON inside', async () => {
    const plain = await get('/api/v1/openapi.json');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('vary')).toMatch(/accept-encoding/i);
    const json = await plain.text();
    expect(json.length).toBeGreaterThan(COMPRESS_MIN_BYTES);

    const br = await get('/api/v1/openapi.json', 'gzip, deflate, br');
    expect(br.headers.get('content-encoding')).toBe('br');
    const brBytes = Buffer.from(await br.arrayBuffer());
    expect(Number(br.headers.get('content-length'))).toBe(brBytes.length);
    expect(brBytes.length).toBeLessThan(json.length / 4);
    expect(brotliDecompressSync(brBytes).toString('utf8')).toBe(json);

    const gz = await get('/api/v1/openapi.json', 'gzip;q=1, br;q=0');
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString('utf8')).toBe(json);

    const identity = await get('/api/v1/openapi.json', 'identity');
    expect(identity.headers.get('content-encoding')).toBeNull();
    expect(await identity.text()).toBe(json);
  });

  it('leaves small answers, commands, refusals and the ETag as they are', async () => {
    const small = await get('/api/v1/processes', 'br');
    expect(small.status).toBe(200);
    expect(small.headers.get('content-encoding')).toBeNull();
    expect(JSON.parse(await small.text())).toBeTruthy();

    const customer = await t.server.fetch(
      new Request('http://test/api/v1/customers', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': 'br', authorization: `Bearer ${token}` },
        body: JSON.stringify({ name: 'C'.repeat(60), fields: { note: 'x'.repeat(COMPRESS_MIN_BYTES) } }),
      }),
    );
    expect(customer.headers.get('content-encoding')).toBeNull();

    const refused = await get('/api/v1/opportunities/nope', 'br');
    expect(refused.status).toBe(404);
    expect(refused.headers.get('content-encoding')).toBeNull();
    expect((await refused.json()).error.code).toBe('NOT_FOUND');
  });

  it('keeps the ETag of a compressed record as it is, and If-Match takes it', async () => {
    const boss = t.as('admin', ['admin']);
    await boss.post('/directory/sync', {
      departments: [{ id: 'sales', name: '销售部' }],
      users: [{ id: 'admin', name: '管理员', departmentId: 'sales' }],
    });
    const processId = (await boss.post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition }))
      .body.id;
    const customerId = (await boss.post('/customers', { name: 'C', fields: {} })).body.id;
    const id = (await boss.post('/opportunities', { name: 'O', customerId, amount: 1000, processId })).body.id;
    const plain = await get(`/api/v1/opportunities/${id}`);
    const compressed = await get(`/api/v1/opportunities/${id}`, 'br');
    expect(compressed.headers.get('content-encoding')).toBe('br');
    const etag = compressed.headers.get('etag');
    expect(etag).toBeTruthy();
    expect(etag).toBe(plain.headers.get('etag'));
    const edited = await t.server.fetch(
      new Request(`http://test/api/v1/opportunities/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'if-match': etag!, authorization: `Bearer ${token}` },
        body: JSON.stringify({ amount: 2000 }),
      }),
    );
    expect(edited.status).toBe(200);
  });
});
