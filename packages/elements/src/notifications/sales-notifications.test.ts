import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../index.js';
import { FakeStream, headersOf, until } from '../testing/network.js';
import type { SalesNotifications } from './sales-notifications.js';

/** The network is the outer edge: a fake server behind fetch, streams included. */
const streams: FakeStream[] = [];
const reads: string[] = [];
const realFetch = window.fetch;
before(() => {
  window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
    const url = String(input);
    if (url.includes('/stream')) {
      const stream = new FakeStream(url, headersOf(init), init?.signal);
      streams.push(stream);
      setTimeout(() => stream.send('ready', {}));
      return stream.response;
    }
    if (url.includes('/read')) {
      reads.push(url);
      return new Response('{}', { status: 200 });
    }
    return new Response(
      JSON.stringify({
        unread: 1,
        items: [
          {
            id: 'n1',
            kind: 'reminder',
            opportunityId: 'o1',
            stageId: 'visit',
            payload: { opportunityName: '宝钢 数据中台', stageName: '初次拜访', days: 7 },
            createdAt: '2026-11-20T08:00:00Z',
            readAt: null,
          },
        ],
      }),
      { status: 200, headers: { 'content-type': 'application/json' } },
    );
  }) as typeof fetch;
});
after(() => (window.fetch = realFetch));

const ready = async (el: SalesNotifications) => {
  for (let i = 0; i < 50 && !el.shadowRoot!.querySelector('.badge'); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('<sales-notifications>', () => {
  it('shows the unread count and the reminder in words', async () => {
    const el = await fixture<SalesNotifications>(
      html`<sales-notifications token="t" base-url="http://x"></sales-notifications>`,
    );
    await ready(el);
    const bell = el.shadowRoot!.querySelector<HTMLButtonElement>('button.bell')!;
    expect(bell.getAttribute('aria-label')).to.equal('通知，1 条未读');
    bell.click();
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('li')!.textContent).to.contain('「宝钢 数据中台」在「初次拜访」已停留 7 天');
    // The token goes in the header, never in the URL.
    await until(() => streams.length);
    expect(streams.at(-1)!.url).to.equal('http://x/api/v1/notifications/stream');
    expect(streams.at(-1)!.headers.authorization).to.equal('Bearer t');
  });

  it('adds a pushed notification live and marks one read when opened', async () => {
    const el = await fixture<SalesNotifications>(
      html`<sales-notifications token="t" base-url="http://x" lang="en"></sales-notifications>`,
    );
    await ready(el);
    await until(() => streams.length && !streams.at(-1)!.closed);
    streams.at(-1)!.send('notification', {
      id: 'n2',
      kind: 'overdue',
      opportunityId: 'o2',
      stageId: 'install',
      payload: { opportunityName: 'Haier', stageName: 'Install', days: 5 },
      createdAt: '2026-11-21T08:00:00Z',
      readAt: null,
    });
    await until(
      () => el.shadowRoot!.querySelector('button.bell')!.getAttribute('aria-label') === 'Notifications, 2 unread',
    );
    const bell = el.shadowRoot!.querySelector<HTMLButtonElement>('button.bell')!;
    expect(bell.getAttribute('aria-label')).to.equal('Notifications, 2 unread');
    bell.click();
    await el.updateComplete;
    const first = el.shadowRoot!.querySelector<HTMLButtonElement>('li button')!;
    expect(first.textContent).to.contain('"Haier" is overdue in "Install" (5 days)');
    setTimeout(() => first.click());
    const event = await oneEvent(el, 'sp-notification-open');
    expect(event.detail.notification.opportunityId).to.equal('o2');
    expect(reads.at(-1)).to.contain('/notifications/n2/read');
    await el.updateComplete;
    expect(bell.getAttribute('aria-label')).to.equal('Notifications, 1 unread');
  });

  it('is accessible, open and closed', async () => {
    const el = await fixture<SalesNotifications>(
      html`<sales-notifications token="t" base-url="http://x"></sales-notifications>`,
    );
    await ready(el);
    await expect(el).to.be.accessible();
    el.shadowRoot!.querySelector<HTMLButtonElement>('button.bell')!.click();
    await el.updateComplete;
    await expect(el).to.be.accessible();
  });
});
