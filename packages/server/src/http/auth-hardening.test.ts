/**
 * Tokens: REST reads them from Authorization only, they must end (`exp`) and live at most
 * AUTH_MAX_TOKEN_TTL, and addresses that keep failing are throttled.
 */
import { createHmac } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BEARER_SUBPROTOCOL_PREFIX, LIVE_SUBPROTOCOL, processDraftDocName } from '@sales-process/core';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openMigratedPglite, startTestServer, TEST_SECRET, type TestServer } from '../testing/harness.js';
import { FailureThrottle } from './throttle.js';

const sign = (claims: { iat?: number; exp?: number }) => {
  let jwt = new SignJWT({ tenant: 't1', roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1');
  if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
  return jwt.sign(new TextEncoder().encode(TEST_SECRET));
};
/** A correctly signed HS256 token with the payload exactly as written (numbers jose would not set, such as 1e309). */
const signRaw = (payloadJson: string) => {
  const part = (s: string) => Buffer.from(s).toString('base64url');
  const input = `${part('{"alg":"HS256","typ":"JWT"}')}.${part(payloadJson)}`;
  return `${input}.${createHmac('sha256', TEST_SECRET).update(input).digest('base64url')}`;
};

describe('tokens', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(await openMigratedPglite());
  });
  afterAll(() => t.close());

  const raw = (path: string, init: RequestInit = {}) => t.server.fetch(new Request(`http://test${path}`, init));
  const nowS = () => Math.floor(t.clock.now().getTime() / 1000);
  const status = async (token: string) =>
    (await raw('/api/v1/processes', { headers: { authorization: `Bearer ${token}` } })).status;

  it('refuses ?token= on REST, the SSE streams included', async () => {
    const token = await t.token('u1', ['admin']);
    const processId = (
      await t.as('u1', ['admin']).post('/processes', {
        name: 'P',
        departments: [],
        definition: {
          presale: [{ id: 'a', name: 'A', winRate: 10, fields: [] }],
          postsale: [],
          terminal: {
            won: { name: '赢单', winRate: 100 },
            lost: { name: '输单', winRate: 0 },
            invalid: { name: '无效', winRate: 0 },
          },
          rules: { orderRequiredToWin: false, allowSkipStages: false, allowMoveBack: true },
        },
      })
    ).body.id;
    expect(processId).toBeTruthy();
    for (const path of [
      '/api/v1/processes',
      '/api/v1/notifications/stream',
      `/api/v1/analytics/stream?processId=${processId}`,
      '/api/v1/me',
    ]) {
      const res = await raw(`${path}${path.includes('?') ? '&' : '?'}token=${token}`);
      expect(res.status, path).toBe(401);
      const body = await res.json();
      expect(body.error.code).toBe('UNAUTHENTICATED');
      expect(body.error.messages.en).toContain('Authorization');
    }
    expect(await status(token)).toBe(200);
  });

  it('refuses a token without exp', async () => {
    const res = await raw('/api/v1/processes', {
      headers: { authorization: `Bearer ${await sign({ iat: nowS() })}`, 'accept-language': 'en' },
    });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error.code).toBe('UNAUTHENTICATED');
    expect(body.error.message).toContain('exp');
    expect(body.error.messages.zh).toContain('exp');
  });

  it('refuses a token that lives longer than AUTH_MAX_TOKEN_TTL (24 h by default), with or without iat', async () => {
    const iat = nowS();
    expect(await status(await sign({ iat, exp: iat + 86_400 }))).toBe(200);
    const long = await raw('/api/v1/processes', {
      headers: { authorization: `Bearer ${await sign({ iat, exp: iat + 86_401 })}` },
    });
    expect(long.status).toBe(401);
    expect((await long.json()).error.messages.en).toContain('AUTH_MAX_TOKEN_TTL');
    expect(await status(await sign({ exp: iat + 2 * 86_400 }))).toBe(401);
    expect(await status(await sign({ exp: iat + 3600 }))).toBe(200);
  });

  it('does not take the life from an iat in the future, at or after exp, or from numbers too big to mean a time', async () => {
    const now = nowS();
    const refused = async (token: string) => {
      const res = await raw('/api/v1/processes', { headers: { authorization: `Bearer ${token}` } });
      return res.status === 401 && (await res.json()).error.code === 'UNAUTHENTICATED';
    };
    const claims = (iat: number | string | null, exp: number | string) =>
      signRaw(`{"sub":"u1","tenant":"t1","roles":["admin"],${iat === null ? '' : `"iat":${iat},`}"exp":${exp}}`);
    const cases: [string, string][] = [
      // iat in the future: exp − iat looks short, the token lives for a year.
      ['iat a year ahead', await sign({ iat: now + 365 * 86_400, exp: now + 365 * 86_400 + 3600 })],
      ['iat 2 min ahead', await sign({ iat: now + 120, exp: now + 3600 })],
      // iat after exp (a negative life), or equal to it.
      ['iat after exp', await sign({ iat: now + 10 * 365 * 86_400, exp: now + 3600 })],
      ['iat just after exp', await sign({ iat: now + 30, exp: now + 20 })],
      ['iat = exp', await sign({ iat: now + 30, exp: now + 30 })],
      // Huge and non-finite numbers: 1e308 − (1e308 − 100) is 0 in floating point; 1e309 parses as Infinity.
      ['exp 1e308, iat 1e308 − 100', claims('1e308', '1e308')],
      ['exp 1e308, iat now', claims(now, '1e308')],
      ['exp 1e308, no iat', claims(null, '1e308')],
      ['exp and iat Infinity', claims('1e309', '1e309')],
      ['exp Infinity, iat now', claims(now, '1e309')],
      ['exp Infinity, no iat', claims(null, '1e309')],
    ];
    const results: [string, boolean][] = [];
    for (const [name, token] of cases) results.push([name, await refused(token)]);
    expect(results).toEqual(cases.map(([name]) => [name, true]));
    // A host clock a little ahead of ours (≤ 60 s) is fine, with iat or without.
    expect(await status(await sign({ iat: now + 50, exp: now + 50 + 86_400 }))).toBe(200);
    expect(await status(await sign({ exp: now + 50 + 86_400 }))).toBe(200);
    expect(await status(claims(now, now + 600))).toBe(200);
  });

  it('takes its limit from maxTokenTtlSeconds, and the dev token endpoint never issues longer', async () => {
    const dev = await startTestServer(await openMigratedPglite(), {
      dev: true,
      maxTokenTtlSeconds: 3600,
    });
    try {
      const iat = Math.floor(dev.clock.now().getTime() / 1000);
      const hours2 = await sign({ iat, exp: iat + 7200 });
      expect(
        (
          await dev.server.fetch(
            new Request('http://test/api/v1/processes', { headers: { authorization: `Bearer ${hours2}` } }),
          )
        ).status,
      ).toBe(401);
      const minted = await dev.server.fetch(
        new Request('http://test/api/v1/dev/token', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sub: 'u1', tenant: 't1', roles: ['admin'], expiresIn: 30 * 86_400 }),
        }),
      );
      expect(minted.status).toBe(200);
      const { token } = await minted.json();
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
      expect(claims.exp - claims.iat).toBe(3600);
      expect(
        (
          await dev.server.fetch(
            new Request('http://test/api/v1/processes', { headers: { authorization: `Bearer ${token}` } }),
          )
        ).status,
      ).toBe(200);
    } finally {
      await dev.close();
    }
  });
});

describe('failed authentications per client address', () => {
  let t: TestServer;
  let base: string;
  let port: number;
  beforeAll(async () => {
    t = await startTestServer(await openMigratedPglite());
    ({ port } = await t.server.listen(0, '127.0.0.1'));
    base = `http://127.0.0.1:${port}/api/v1`;
  });
  afterAll(() => t.close());
  // Each test starts with no window open for 127.0.0.1.
  beforeEach(() => t.clock.advance(10_000));

  const get = (token: string) => fetch(`${base}/processes`, { headers: { authorization: `Bearer ${token}` } });
  const upgradeStatus = (token: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/sync/${processDraftDocName('none')}`, [
        LIVE_SUBPROTOCOL,
        `${BEARER_SUBPROTOCOL_PREFIX}${token}`,
      ]);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => (ws.close(), resolve(101)));
      ws.once('error', () => {});
    });

  it('answers 429 RATE_LIMITED with Retry-After to failing tokens after 30 failures in 10 s, and forgets after the window', async () => {
    const known = await t.token('u1', ['admin']);
    expect((await get(known)).status).toBe(200);
    for (let i = 0; i < 30; i++) expect((await get(`forged.${i}.x`)).status).toBe(401);
    const limited = await get('forged.31.x');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(10);
    expect((await limited.json()).error.code).toBe('RATE_LIMITED');
    expect(await upgradeStatus('forged')).toBe(429);
    expect((await get(known)).status).toBe(200);
    // In-process callers (no socket address) are not throttled.
    expect(
      (
        await t.server.fetch(
          new Request('http://test/api/v1/processes', { headers: { authorization: 'Bearer forged' } }),
        )
      ).status,
    ).toBe(401);
    t.clock.advance(10_000);
    expect((await get('forged.again')).status).toBe(401);
  });

  it('still accepts a valid token it has never seen from a blocked address (REST and websocket): junk from a shared address locks nobody out', async () => {
    for (let i = 0; i < 31; i++) await get(`junk.${i}.x`);
    expect((await get('junk.32.x')).status).toBe(429);
    // New tokens, minted after the address was blocked: a new sign-in, a refresh.
    expect((await get(await t.token('fresh-rest', ['admin']))).status).toBe(200);
    expect(await upgradeStatus(await t.token('fresh-ws', ['admin']))).not.toBe(429);
    expect(await upgradeStatus(await t.token('fresh-ws2', ['admin']))).not.toBe(401);
    expect(await upgradeStatus('junk.ws')).toBe(429);
    // A genuine but expired token is told so (401, its cue to refresh), not made to wait.
    const stale = await t.token('stale', ['admin']);
    t.clock.advance(13 * 3600 * 1000);
    for (let i = 0; i < 31; i++) await get(`junk.again.${i}.x`);
    expect((await get('junk.again.x')).status).toBe(429);
    const expired = await get(stale);
    expect(expired.status).toBe(401);
    expect((await expired.json()).error.messages.en).toContain('expired');
  });

  it('does not extend the window with failures sent while blocked', async () => {
    for (let i = 0; i < 30; i++) expect((await get(`w.${i}.x`)).status).toBe(401);
    // Failures keep coming every second of the window: each is 429 with a shrinking Retry-After.
    let last = Infinity;
    for (let s = 0; s < 9; s++) {
      const res = await get(`w.blocked.${s}`);
      expect(res.status).toBe(429);
      const wait = Number(res.headers.get('retry-after'));
      expect(wait).toBeLessThanOrEqual(Math.min(last, 10 - s));
      last = wait;
      t.clock.advance(1000);
    }
    t.clock.advance(1000);
    // The window that began with the first failure is over: a failure is counted afresh (401).
    expect((await get('w.after')).status).toBe(401);
  });

  it('does not count tokens whose signature holds (expired, too long-lived) as failures', async () => {
    const iat = Math.floor(t.clock.now().getTime() / 1000);
    const long = await sign({ iat, exp: iat + 2 * 86_400 });
    for (let i = 0; i < 40; i++) expect((await get(long)).status).toBe(401);
    expect((await get('forged.after-genuine')).status).toBe(401);
  });

  it('keeps at most its bound of addresses', () => {
    let now = 0;
    const throttle = new FailureThrottle({ max: 3, windowMs: 1000 }, () => now, 100);
    for (let i = 0; i < 1000; i++) throttle.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(throttle.size).toBeLessThanOrEqual(100);
    for (let i = 0; i < 3; i++) throttle.fail('192.0.2.1');
    expect(throttle.retryAfter('192.0.2.1')).toBe(1);
    now += 1000;
    expect(throttle.retryAfter('192.0.2.1')).toBe(0);
  });
});

describe('tokens verified with a JWKS', () => {
  it('answers 503 UNAVAILABLE (not 401, and not throttled) while the key set cannot be fetched, and verifies once it can', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    let up = false;
    const jwksServer = createHttpServer((_req, res) => {
      if (!up) return void res.writeHead(502).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((done) => jwksServer.listen(0, '127.0.0.1', done));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    const t = await startTestServer(await openMigratedPglite(), { authSecret: undefined, jwksUrl });
    try {
      const { port } = await t.server.listen(0, '127.0.0.1');
      const iat = Math.floor(t.clock.now().getTime() / 1000);
      const token = await new SignJWT({ tenant: 't1', roles: ['admin'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('u1')
        .setIssuedAt(iat)
        .setExpirationTime(iat + 600)
        .sign(privateKey);
      const get = () =>
        fetch(`http://127.0.0.1:${port}/api/v1/processes`, { headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 35; i++) {
        const res = await get();
        expect(res.status).toBe(503);
        expect((await res.json()).error.code).toBe('UNAVAILABLE');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      up = true;
      // jose waits a little before fetching a key set again after a failure.
      await new Promise((r) => setTimeout(r, 100));
      let res = await get();
      for (let i = 0; i < 40 && res.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 250));
        res = await get();
      }
      expect(res.status).toBe(200);
    } finally {
      await t.close();
      jwksServer.close();
    }
  });
});
