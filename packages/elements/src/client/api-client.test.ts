import { expect } from '@open-wc/testing';
import { fakeJwt, headersOf, json } from '../testing/network.js';
import { ApiClient, ApiClientError, tokenExpiry } from './api-client.js';

const realFetch = window.fetch;
let seen: string[] = [];
beforeEach(() => {
  seen = [];
  window.fetch = (async (_input: RequestInfo, init?: RequestInit) => {
    seen.push(headersOf(init).authorization ?? '');
    return json(200, { ok: true });
  }) as typeof fetch;
});
afterEach(() => (window.fetch = realFetch));

describe('ApiClient tokens', () => {
  it('reads exp without verifying, and shrugs at tokens it cannot read', () => {
    expect(tokenExpiry(fakeJwt({ exp: 1767225600 }))).to.equal(1767225600);
    for (const bad of ['', 'garbage', 'a.b.c', 'a.%%%.c', fakeJwt({ exp: 'soon' }), `x.${btoa('null')}.y`])
      expect(tokenExpiry(bad)).to.be.null;
  });

  it('knows the subject of its current token, from the start and after every change', () => {
    const client = new ApiClient({ baseUrl: 'http://x', token: fakeJwt({ sub: 'u_zhang' }) });
    expect(client.subject).to.equal('u_zhang');
    client.setToken(fakeJwt({ sub: 'u_li' }));
    expect(client.subject).to.equal('u_li');
    client.setToken('garbage');
    expect(client.subject).to.be.null;
    expect(new ApiClient({ baseUrl: 'http://x' }).subject).to.be.null;
  });

  it('knows the roles of its current token (what the elements offer), [] when it cannot read them', () => {
    const client = new ApiClient({ baseUrl: 'http://x', token: fakeJwt({ sub: 'u_li', roles: ['supervisor', 7] }) });
    expect(client.roles).to.deep.equal(['supervisor']);
    client.setToken(fakeJwt({ sub: 'admin', roles: ['admin'] }));
    expect(client.roles).to.deep.equal(['admin']);
    client.setToken(fakeJwt({ sub: 'x', roles: 'admin' }));
    expect(client.roles).to.deep.equal([]);
    client.setToken('garbage');
    expect(client.roles).to.deep.equal([]);
  });

  it('refreshes about 60 s before exp on its own, without a request', async () => {
    let calls = 0;
    const fresh = fakeJwt({ exp: Math.floor(Date.now() / 1000) + 3600 });
    const client = new ApiClient({
      baseUrl: 'http://x',
      token: fakeJwt({ exp: Math.floor(Date.now() / 1000) + 61 }),
      tokenProvider: async () => (calls++, fresh),
    });
    const changed: string[] = [];
    client.onToken((t) => changed.push(t));
    try {
      await new Promise((r) => setTimeout(r, 2500));
      expect(calls).to.equal(1);
      expect(changed).to.deep.equal([fresh]);
    } finally {
      client.dispose();
    }
  });

  it('asks tokenProvider when it has no token, once for concurrent requests', async () => {
    let calls = 0;
    const client = new ApiClient({
      baseUrl: 'http://x',
      tokenProvider: async () => (calls++, await new Promise((r) => setTimeout(r, 20)), 'fresh'),
    });
    await Promise.all([client.get('/a'), client.get('/b'), client.get('/c')]);
    expect(calls).to.equal(1);
    expect(seen).to.deep.equal(['Bearer fresh', 'Bearer fresh', 'Bearer fresh']);
  });

  it('waits briefly for a token the host sets a moment later, then fails NO_TOKEN', async () => {
    const client = new ApiClient({ baseUrl: 'http://x' });
    setTimeout(() => client.setToken('late'), 100);
    await client.get('/a');
    expect(seen).to.deep.equal(['Bearer late']);
    const alone = new ApiClient({ baseUrl: 'http://x' });
    const err = await alone.get('/a').catch((e: ApiClientError) => e);
    expect(err).to.be.instanceOf(ApiClientError);
    expect((err as ApiClientError).code).to.equal('NO_TOKEN');
  });

  it('a failing tokenProvider is UNAUTHENTICATED, not a crash', async () => {
    const client = new ApiClient({
      baseUrl: 'http://x',
      tokenProvider: async () => Promise.reject(new Error('login expired')),
    });
    const err = (await client.get('/a').catch((e) => e)) as ApiClientError;
    expect(err.code).to.equal('UNAUTHENTICATED');
    expect(err.status).to.equal(401);
    expect(seen).to.deep.equal([]);
  });

  it('a read with no answer fails as NETWORK instead of loading forever', async () => {
    window.fetch = ((_input: RequestInfo, init?: RequestInit) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)),
      )) as typeof fetch;
    const before = ApiClient.readTimeoutMs;
    ApiClient.readTimeoutMs = 200;
    try {
      const err = (await new ApiClient({ baseUrl: 'http://x', token: 't' })
        .get('/a')
        .catch((e) => e)) as ApiClientError;
      expect(err).to.be.instanceOf(ApiClientError);
      expect(err.code).to.equal('NETWORK');
    } finally {
      ApiClient.readTimeoutMs = before;
    }
  });
});
