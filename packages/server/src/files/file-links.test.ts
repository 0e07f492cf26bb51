/** File downloads by short-lived signed links: no token in any URL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

for (const kind of testDatabases()) {
  describe(`signed file links on ${kind.name}`, () => {
    let t: TestServer;
    let fileId: string;
    let otherId: string;
    const bytes = new TextEncoder().encode('%PDF-1.4 报价单 quotation');
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      const upload = async (name: string, tenant = 't1') => {
        const token = await t.token('rep', ['sales'], tenant);
        const res = await t.server.fetch(
          new Request('http://test/api/v1/files', {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/pdf',
              'x-file-name': encodeURIComponent(name),
            },
            body: bytes,
          }),
        );
        expect(res.status).toBe(201);
        return (await res.json()).id as string;
      };
      fileId = await upload('报价单 "final" (v2).pdf');
      otherId = await upload('other.pdf');
    });
    afterAll(() => t.close());

    const raw = (path: string, init: RequestInit = {}) => t.server.fetch(new Request(`http://test${path}`, init));
    const link = async (id: string, tenant = 't1') => t.as('rep', ['sales'], tenant).post(`/files/${id}/link`);

    it('issues a link valid 5 minutes that downloads without Authorization, as an attachment', async () => {
      const before = t.clock.now().getTime();
      const res = await link(fileId);
      const after = t.clock.now().getTime();
      expect(res.status).toBe(200);
      const { url, expiresAt } = res.body;
      expect(url).toMatch(new RegExp(`^/api/v1/files/${fileId}/content\\?exp=\\d+&sig=[0-9a-f]{64}$`));
      // Five minutes from when it was issued (in whole seconds), however long the request took.
      const expires = new Date(expiresAt).getTime();
      expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 300_000);
      expect(expires).toBeLessThanOrEqual(after + 300_000);
      expect(new Date(expiresAt).getTime() - t.clock.now().getTime()).toBeLessThanOrEqual(300_000);
      expect(url).not.toContain('token');
      const got = await raw(url);
      expect(got.status).toBe(200);
      expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
      expect(got.headers.get('content-type')).toBe('application/pdf');
      expect(got.headers.get('content-disposition')).toBe(
        `attachment; filename="___ _final_ (v2).pdf"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95%20%22final%22%20%28v2%29.pdf`,
      );
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('refuses a tampered, transplanted, truncated or expired link with 403 and the envelope', async () => {
      const { url } = (await link(fileId)).body;
      const u = new URL(url, 'http://test');
      const exp = u.searchParams.get('exp')!;
      const sig = u.searchParams.get('sig')!;
      const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
      const bad = [
        `/api/v1/files/${fileId}/content?exp=${exp}&sig=${flipped}`,
        `/api/v1/files/${fileId}/content?exp=${Number(exp) + 3600}&sig=${sig}`,
        `/api/v1/files/${otherId}/content?exp=${exp}&sig=${sig}`,
        `/api/v1/files/${fileId}/content?exp=${exp}`,
        `/api/v1/files/${fileId}/content`,
        `/api/v1/files/nope/content?exp=${exp}&sig=${sig}`,
        `/api/v1/files/${fileId}/content?exp=${exp}&sig=${sig.toUpperCase()}x`,
      ];
      for (const path of bad) {
        const res = await raw(path);
        expect(res.status, path).toBe(403);
        expect((await res.json()).error.code, path).toBe('FORBIDDEN');
      }
      t.clock.advance(301_000);
      try {
        const expired = await raw(url);
        expect(expired.status).toBe(403);
        expect((await expired.json()).error.code).toBe('FORBIDDEN');
      } finally {
        t.clock.advance(-301_000);
      }
      expect((await raw(url)).status).toBe(200);
    });

    it('gives links only to those who may read the file, and keeps GET /files/{id} behind Authorization', async () => {
      expect((await link(fileId, 't2')).status).toBe(404);
      expect((await raw(`/api/v1/files/${fileId}/link`, { method: 'POST' })).status).toBe(401);
      const token = await t.token('rep', ['sales']);
      expect((await raw(`/api/v1/files/${fileId}`)).status).toBe(401);
      expect((await raw(`/api/v1/files/${fileId}?token=${token}`)).status).toBe(401);
      const direct = await raw(`/api/v1/files/${fileId}`, { headers: { authorization: `Bearer ${token}` } });
      expect(direct.status).toBe(200);
      expect(direct.headers.get('content-disposition')).toMatch(/^attachment; /);
    });

    it('documents both routes in the OpenAPI document, the content route without bearer auth', async () => {
      const doc = await (await raw('/api/v1/openapi.json')).json();
      expect(doc.paths['/files/{id}/link'].post.security).toEqual([{ bearer: [] }]);
      expect(doc.paths['/files/{id}/content'].get.security).toEqual([]);
    });
  });
}
