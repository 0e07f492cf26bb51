import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../index.js';
import type { SalesNotifications } from './sales-notifications.js';

/** The network is the outer edge: a fake server behind fetch and EventSource. */
const sources: FakeSource[] = [];
class FakeSource extends EventTarget {
  constructor(readonly url: string) {
    super();
    sources.push(this);
    setTimeout(() => this.dispatchEvent(new Event('ready')));
  }
  close() {}
  push(data: unknown) {
    this.dispatchEvent(new MessageEvent('notification', { data: JSON.stringify(data) }));
  }
}
const reads: string[] = [];
const realFetch = window.fetch;
before(() => {
  (window as unknown as { EventSource: unknown }).EventSource = FakeSource;
  window.fetch = (async (input: RequestInfo) => {
    const url = String(input);
    if (url.includes('/read')) {
      reads.push(url);
      return new Response('{}', { status: 200 });
    }
    return new Response(JSON.stringify({ unread: 1, items: [{ id: 'n1', kind: 'reminder', opportunityId: 'o1', stageId: 'visit', payload: { opportunityName: '宝钢 数据中台', stageName: '初次拜访', days: 7 }, createdAt: '2026-11-20T08:00:00Z', readAt: null }] }), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
});
after(() => (window.fetch = realFetch));

const ready = async (el: SalesNotifications) => {
  for (let i = 0; i < 50 && !el.shadowRoot!.querySelector('.badge'); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('<sales-notifications>', () => {
  it('shows the unread count and the reminder in words', async () => {
    const el = await fixture<SalesNotifications>(html`<sales-notifications token="t" base-url="http://x"></sales-notifications>`);
    await ready(el);
    const bell = el.shadowRoot!.querySelector<HTMLButtonElement>('button.bell')!;
    expect(bell.getAttribute('aria-label')).to.equal('通知，1 条未读');
    bell.click();
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('li')!.textContent).to.contain('「宝钢 数据中台」在「初次拜访」已停留 7 天');
    expect(sources.at(-1)!.url).to.equal('http://x/api/v1/notifications/stream?token=t');
  });

  it('adds a pushed notification live and marks one read when opened', async () => {
    const el = await fixture<SalesNotifications>(html`<sales-notifications token="t" base-url="http://x" lang="en"></sales-notifications>`);
    await ready(el);
    sources.at(-1)!.push({ id: 'n2', kind: 'overdue', opportunityId: 'o2', stageId: 'install', payload: { opportunityName: 'Haier', stageName: 'Install', days: 5 }, createdAt: '2026-11-21T08:00:00Z', readAt: null });
    await el.updateComplete;
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
    const el = await fixture<SalesNotifications>(html`<sales-notifications token="t" base-url="http://x"></sales-notifications>`);
    await ready(el);
    await expect(el).to.be.accessible();
    el.shadowRoot!.querySelector<HTMLButtonElement>('button.bell')!.click();
    await el.updateComplete;
    await expect(el).to.be.accessible();
  });
});
