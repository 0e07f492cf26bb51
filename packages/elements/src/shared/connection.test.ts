import { ContextRoot } from '@lit/context';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../index.js';
import type { SalesFunnelChart } from '../funnel/sales-funnel-chart.js';
import { SalesProcessProvider } from '../provider/sales-process-provider.js';
import type { OpportunityStagePath } from '../stage-path/opportunity-stage-path.js';
import { opportunityFixture } from '../testing/fixtures.js';
import { FakeSocket, FakeStream, fakeJwt, headersOf, json, until } from '../testing/network.js';

const realFetch = window.fetch;
let requests: { url: string; method: string; headers: Record<string, string> }[] = [];
let streams: FakeStream[] = [];
let answer: (url: string, headers: Record<string, string>) => Response = () =>
  json(404, { error: { code: 'NOT_FOUND', message: 'no' } });
let restoreSocket: () => void = () => {};

/** The server is the outer edge: fetch (and WebSocket) are faked in this page only. */
beforeEach(() => {
  requests = [];
  streams = [];
  restoreSocket = FakeSocket.install();
  window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
    const url = String(input);
    const headers = headersOf(init);
    requests.push({ url, method: init?.method ?? 'GET', headers });
    if (url.includes('/stream')) {
      const s = new FakeStream(url, headers, init?.signal);
      streams.push(s);
      return s.response;
    }
    return answer(url, headers);
  }) as typeof fetch;
});
afterEach(() => {
  window.fetch = realFetch;
  restoreSocket();
});

const shadowText = (el: Element) => el.shadowRoot!.textContent ?? '';
const errorBox = (el: Element) => el.shadowRoot!.querySelector<HTMLElement>('[part="error"]');

describe('connection: what hosts see when things go wrong', () => {
  it('an element with no token shows its error state within 5 s and fires sp-error', async () => {
    const started = Date.now();
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart process-id="p1"></sales-funnel-chart>`);
    const event = await oneEvent(el, 'sp-error');
    expect(event.detail).to.include({ code: 'NO_TOKEN', status: 0 });
    await until(() => errorBox(el), 5000, 'the error box');
    expect(Date.now() - started).to.be.lessThan(5000);
    expect(errorBox(el)!.textContent).to.contain('缺少访问令牌');
    expect(requests.filter((r) => r.url.includes('/analytics/funnel'))).to.deep.equal([]);
  });

  it('says so in English, and recovers when the token arrives', async () => {
    answer = (url) =>
      url.includes('/analytics/funnel') ? json(403, { error: { code: 'FORBIDDEN', message: 'no' } }) : json(404, {});
    const el = await fixture<SalesFunnelChart>(
      html`<sales-funnel-chart lang="en" process-id="p1"></sales-funnel-chart>`,
    );
    await until(() => errorBox(el), 5000, 'the error box');
    expect(errorBox(el)!.textContent).to.contain('no access token');
    el.token = 't';
    await until(() => errorBox(el)?.getAttribute('data-code') === 'FORBIDDEN', 3000, 'the forbidden box');
    expect(errorBox(el)!.textContent).to.contain('You do not have access');
    expect(el.shadowRoot!.querySelector('[part="retry"]')).to.be.null;
  });

  it('a base-url on a closed port shows the network state within 5 s, with a retry', async () => {
    window.fetch = realFetch;
    const started = Date.now();
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path base-url="http://127.0.0.1:9" token="t" opportunity-id="opp_1"></opportunity-stage-path>`,
    );
    const event = await oneEvent(el, 'sp-error');
    expect(event.detail).to.include({ code: 'NETWORK', status: 0 });
    await until(() => errorBox(el), 5000, 'the error box');
    expect(Date.now() - started).to.be.lessThan(5000);
    expect(errorBox(el)!.textContent).to.contain('无法连接服务器');
    expect(shadowText(el)).not.to.contain('加载中');
    expect(el.shadowRoot!.querySelector('[part="retry"]')).to.exist;
    await expect(el).to.be.accessible();
  });

  it('calls tokenProvider on a 401 and retries the request with the new token', async () => {
    let calls = 0;
    answer = (_url, headers) =>
      headers.authorization === 'Bearer new'
        ? json(200, opportunityFixture())
        : json(401, { error: { code: 'UNAUTHENTICATED', message: 'expired' } });
    const provider =
      await fixture<SalesProcessProvider>(html`<sales-process-provider base-url="http://x" token="old" .tokenProvider=${async () => (calls++, 'new')}>
      <opportunity-stage-path opportunity-id="opp_1" .live=${false}></opportunity-stage-path>
    </sales-process-provider>`);
    const path = provider.querySelector('opportunity-stage-path')!;
    await until(() => path.opportunity, 3000, 'the opportunity');
    expect(calls).to.equal(1);
    const gets = requests.filter((r) => r.url === 'http://x/api/v1/opportunities/opp_1');
    expect(gets.map((r) => r.headers.authorization)).to.deep.equal(['Bearer old', 'Bearer new']);
    expect(errorBox(path)).to.be.null;
  });

  it('shows UNAUTHENTICATED when the token is refused and there is no tokenProvider', async () => {
    answer = () => json(401, { error: { code: 'UNAUTHENTICATED', message: 'expired' } });
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path base-url="http://x" token="old" opportunity-id="opp_1" .live=${false}></opportunity-stage-path>`,
    );
    const event = await oneEvent(el, 'sp-error');
    expect(event.detail).to.include({ code: 'UNAUTHENTICATED', status: 401 });
    await until(() => errorBox(el), 3000, 'the error box');
    expect(errorBox(el)!.textContent).to.contain('登录已过期');
  });

  it('refreshes a token about to expire before using it', async () => {
    const soon = fakeJwt({ sub: 'u', exp: Math.floor(Date.now() / 1000) + 30 });
    const later = fakeJwt({ sub: 'u', exp: Math.floor(Date.now() / 1000) + 3600 });
    let calls = 0;
    answer = () => json(200, opportunityFixture());
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path base-url="http://x" token=${soon} .tokenProvider=${async () => (calls++, later)} opportunity-id="opp_1" .live=${false}></opportunity-stage-path>`,
    );
    await until(() => el.opportunity, 3000, 'the opportunity');
    expect(calls).to.equal(1);
    expect(requests.at(-1)!.headers.authorization).to.equal(`Bearer ${later}`);
  });

  it('a token change on the provider: the next request uses it and the live doc reconnects with the new subprotocol', async () => {
    FakeSocket.behaviour = () => 'open';
    answer = () => json(200, opportunityFixture());
    const provider = await fixture<SalesProcessProvider>(html`<sales-process-provider base-url="http://x" token="t1">
      <opportunity-stage-path opportunity-id="opp_1"></opportunity-stage-path>
    </sales-process-provider>`);
    const path = provider.querySelector('opportunity-stage-path')!;
    await until(() => FakeSocket.sockets.length && path.opportunity, 3000, 'a socket and the opportunity');
    const first = FakeSocket.sockets[0]!;
    expect(first.url).to.equal('ws://x/sync/opportunity:opp_1');
    expect(first.protocols).to.deep.equal(['sales-process', 'bearer.t1']);
    await until(() => first.readyState === 1, 1000, 'the socket to open');
    const doc = (path as unknown as { liveDoc: { doc: unknown } }).liveDoc.doc;

    provider.token = 't2';
    await until(() => FakeSocket.sockets.length === 2, 2000, 'a new socket');
    expect(first.readyState).to.equal(3);
    expect(FakeSocket.sockets[1]!.protocols).to.deep.equal(['sales-process', 'bearer.t2']);
    expect(FakeSocket.sockets[1]!.url).not.to.contain('t2');
    // The same doc: nothing typed is lost.
    expect((path as unknown as { liveDoc: { doc: unknown } }).liveDoc.doc).to.equal(doc);
    await path.refresh();
    expect(requests.at(-1)!.headers.authorization).to.equal('Bearer t2');
  });

  it('a refused websocket asks tokenProvider for a new token and reconnects with it', async () => {
    FakeSocket.behaviour = (s) => (s.protocols.includes('bearer.good') ? 'open' : 'refuse');
    answer = () => json(200, opportunityFixture());
    let calls = 0;
    const provider =
      await fixture<SalesProcessProvider>(html`<sales-process-provider base-url="http://x" token="stale" .tokenProvider=${async () => (calls++, 'good')}>
      <opportunity-stage-path opportunity-id="opp_1"></opportunity-stage-path>
    </sales-process-provider>`);
    await until(() => FakeSocket.sockets.some((s) => s.readyState === 1), 3000, 'an open socket');
    expect(calls).to.equal(1);
    expect(FakeSocket.sockets[0]!.protocols).to.deep.equal(['sales-process', 'bearer.stale']);
    expect(FakeSocket.sockets.at(-1)!.protocols).to.deep.equal(['sales-process', 'bearer.good']);
    void provider;
  });

  it('fetch-based SSE: two elements on one connection share one stream, closed when both leave', async () => {
    answer = (url) => (url.includes('/approvals') ? json(200, { items: [] }) : json(200, { items: [], unread: 0 }));
    const provider = await fixture<SalesProcessProvider>(html`<sales-process-provider base-url="http://x" token="t">
      <sales-notifications></sales-notifications>
      <stage-approval-inbox></stage-approval-inbox>
    </sales-process-provider>`);
    await until(
      () => requests.some((r) => r.url.includes('/approvals')) && streams.length,
      2000,
      'both elements loaded',
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(streams.map((s) => s.url)).to.deep.equal(['http://x/api/v1/notifications/stream']);
    expect(streams[0]!.headers.authorization).to.equal('Bearer t');
    provider.querySelector('sales-notifications')!.remove();
    await new Promise((r) => setTimeout(r, 20));
    expect(streams[0]!.closed).to.be.false;
    provider.querySelector('stage-approval-inbox')!.remove();
    await until(() => streams[0]!.closed, 1000, 'the stream to close');
  });

  it("an element that upgrades before its provider uses the provider's token, with no error", async () => {
    answer = () => json(200, opportunityFixture());
    const host = document.createElement('div');
    new ContextRoot().attach(host);
    document.body.append(host);
    const errors: unknown[] = [];
    host.addEventListener('sp-error', (e) => errors.push((e as CustomEvent).detail));
    try {
      host.innerHTML =
        '<late-provider base-url="http://x" token="t"><opportunity-stage-path opportunity-id="opp_1"></opportunity-stage-path></late-provider>';
      const path = host.querySelector('opportunity-stage-path')!;
      await new Promise((r) => setTimeout(r, 50));
      customElements.define('late-provider', class extends SalesProcessProvider {});
      await until(() => path.opportunity, 3000, 'the opportunity');
      await new Promise((r) => setTimeout(r, 2500));
      expect(errors).to.deep.equal([]);
      expect(errorBox(path)).to.be.null;
      expect(requests.every((r) => r.headers.authorization === 'Bearer t')).to.be.true;
    } finally {
      host.remove();
    }
  });

  it("an element removed from the page no longer acts on the provider's token changes", async () => {
    answer = () => json(403, { error: { code: 'FORBIDDEN', message: 'no' } });
    const provider = await fixture<SalesProcessProvider>(
      html`<sales-process-provider base-url="http://x"><sales-funnel-chart process-id="p1"></sales-funnel-chart></sales-process-provider>`,
    );
    const chart = provider.querySelector('sales-funnel-chart')!;
    await until(() => errorBox(chart), 5000, 'the no-token box');
    chart.remove();
    provider.token = 't';
    await new Promise((r) => setTimeout(r, 200));
    expect(requests.filter((r) => r.url.includes('/analytics/funnel'))).to.deep.equal([]);
    // Back in the page, it hears of the next token again.
    provider.append(chart);
    provider.token = 't2';
    await until(() => requests.some((r) => r.url.includes('/analytics/funnel')), 2000, 'a load after the next token');
  });
});
