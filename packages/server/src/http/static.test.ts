/**
 * The demo's built files served as a CDN would: precompressed by Accept-Encoding with
 * `Vary`, content-hashed files immutable, the HTML revalidated (`no-cache`, ETag, 304).
 * Static serving reads no database: one in-memory PGlite is enough.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigratedPglite, startTestServer, type TestServer } from '../testing/harness.js';
import { DEMO_CSP } from './static.js';

const HTML = '<!doctype html><title>demo</title><script type="module" src="/assets/main-Bt98uFhx.js"></script>\n';
const JS = 'export const demo = "销售流程";\n'.repeat(50);
const CSS = 'sales-stage-path:not(:defined) { display: block; min-height: 3rem }\n'.repeat(20);

describe("the demo's static files", () => {
  let dir: string;
  let t: TestServer;
  const get = (path: string, headers: Record<string, string> = {}) =>
    t.server.fetch(new Request(`http://test${path}`, { headers }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sp-demo-static-'));
    mkdirSync(join(dir, 'assets'));
    const files: Record<string, string> = {
      'index.html': HTML,
      'reference.html': '<!doctype html><title>reference</title>',
      'assets/main-Bt98uFhx.js': JS,
      'assets/demo-ChIxnoM1.css': CSS,
    };
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(dir, name), text);
      if (name !== 'reference.html') {
        writeFileSync(join(dir, `${name}.br`), brotliCompressSync(text));
        writeFileSync(join(dir, `${name}.gz`), gzipSync(text));
      }
    }
    t = await startTestServer(await openMigratedPglite(), { staticDir: dir });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the brotli or gzip file built beside a script or style sheet to a client that accepts it, with Vary', async () => {
    const br = await get('/assets/main-Bt98uFhx.js', { 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(br.status).toBe(200);
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    expect(br.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(brotliDecompressSync(Buffer.from(await br.arrayBuffer())).toString()).toBe(JS);

    const gz = await get('/assets/demo-ChIxnoM1.css', { 'accept-encoding': 'gzip' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString()).toBe(CSS);

    const refused = await get('/assets/main-Bt98uFhx.js', { 'accept-encoding': 'br;q=0, gzip' });
    expect(refused.headers.get('content-encoding')).toBe('gzip');

    const identity = await get('/assets/main-Bt98uFhx.js');
    expect(identity.headers.get('content-encoding')).toBeNull();
    expect(identity.headers.get('vary')).toBe('Accept-Encoding');
    expect(await identity.text()).toBe(JS);
  });

  it('caches content-hashed files for a year, immutable; each representation has its own ETag', async () => {
    const plain = await get('/assets/main-Bt98uFhx.js');
    const br = await get('/assets/main-Bt98uFhx.js', { 'accept-encoding': 'br' });
    for (const res of [plain, br]) {
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      // Scripts carry no page policy; the kit's cross-origin headers are not the demo's.
      expect(res.headers.get('content-security-policy')).toBeNull();
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
    expect(br.headers.get('etag')).not.toBe(plain.headers.get('etag'));
    expect(br.headers.get('etag')).toMatch(/-br"$/);
  });

  it('revalidates the HTML: no-cache with an ETag, 304 on If-None-Match, the page policy on both', async () => {
    for (const path of ['/', '/index.html', '/some/client/route']) {
      const res = await get(path, { 'accept-encoding': 'br' });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
      expect(res.headers.get('content-type'), path).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-encoding'), path).toBe('br');
      expect(res.headers.get('content-security-policy'), path).toBe(DEMO_CSP);
      expect(brotliDecompressSync(Buffer.from(await res.arrayBuffer())).toString(), path).toBe(HTML);
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+-br"$/);

      const again = await get(path, { 'accept-encoding': 'br', 'if-none-match': etag });
      expect(again.status, path).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('cache-control')).toBe('no-cache');
      expect(await again.text()).toBe('');
      // Another representation's tag is not a match.
      expect((await get(path, { 'if-none-match': etag })).status, path).toBe(200);
    }
    const reference = await get('/reference.html');
    expect(reference.headers.get('cache-control')).toBe('no-cache');
    expect(reference.headers.get('vary')).toBeNull();
    expect(await reference.text()).toContain('reference');
    const etag = reference.headers.get('etag')!;
    expect((await get('/reference.html', { 'if-none-match': `W/${etag}, "x"` })).status).toBe(304);
  });

  it('answers 404 for a missing asset, and keeps paths inside the folder', async () => {
    const missing = await get('/assets/gone-AbCd1234.js');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('NOT_FOUND');
    for (const path of ['/assets/%2e%2e/%2e%2e/etc/passwd', '/..%2fpackage.json', '/.env']) {
      const res = await get(path);
      // Either refused or the page: never a file outside the folder.
      if (res.status === 200) expect(await res.text(), path).toBe(HTML);
      else expect(res.status, path).toBe(404);
    }
    // The API's paths never fall back to the page (401 here: the API asks for a token first).
    const api = await get('/api/v1/nope');
    expect(api.status).not.toBe(200);
    expect(api.headers.get('content-type')).toContain('application/json');
  });
});
