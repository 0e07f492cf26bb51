import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../index.js';
import { FakeStream } from '../testing/network.js';
import type { StageApprovalInbox } from './stage-approval-inbox.js';

const token = `x.${btoa(JSON.stringify({ sub: 'li' }))}.y`;
const realFetch = window.fetch;
let posted: { url: string; body: unknown }[] = [];
beforeEach(() => {
  posted = [];
  window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
    if (String(input).includes('/stream')) return new FakeStream(String(input), {}, init?.signal).response;
    if (String(input).endsWith('/opportunities/opp_1'))
      return new Response(
        JSON.stringify({
          id: 'opp_1',
          form: [{ source: 'stage', key: 'designDoc', label: { zh: '方案文档', en: 'Design document' } }],
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      );
    if (init?.method === 'POST') {
      posted.push({ url: String(input), body: JSON.parse(String(init.body)) });
      return new Response('{}', { status: 200 });
    }
    return new Response(
      JSON.stringify({
        items: [
          {
            id: 'apr_1',
            opportunityId: 'opp_1',
            opportunityName: '中信银行 网点改造',
            stageId: 'solution',
            stageName: '方案设计',
            action: 'complete',
            requestedBy: 'zhang',
            requestedByName: '张三',
            approverId: 'li',
            state: 'pending',
            amount: 1200000,
            values: { stage: { designDoc: '方案 v1' } },
            requestedAt: '2026-11-26T00:00:00Z',
            comment: null,
          },
        ],
      }),
      { status: 200, headers: { 'content-type': 'application/json' } },
    );
  }) as typeof fetch;
});
afterEach(() => (window.fetch = realFetch));

async function waitForText(el: HTMLElement, text: string) {
  for (let i = 0; i < 50 && !el.shadowRoot!.textContent!.includes(text); i++)
    await new Promise((r) => setTimeout(r, 10));
}

describe('<stage-approval-inbox>', () => {
  it('lists what waits for the supervisor, with what was filled in, and approves with a comment', async () => {
    const el = await fixture<StageApprovalInbox>(
      html`<stage-approval-inbox token=${token} base-url="http://x"></stage-approval-inbox>`,
    );
    for (let i = 0; i < 50 && !el.shadowRoot!.querySelector('article'); i++)
      await new Promise((r) => setTimeout(r, 10));
    const article = el.shadowRoot!.querySelector('article')!;
    expect(article.textContent).to.contain('张三 申请完成「方案设计」');
    expect(article.textContent).to.contain('方案 v1');
    // Under the field's label in the page's language, not its key.
    await waitForText(el, '方案文档');
    expect(article.querySelector('dt')!.textContent).to.equal('方案文档');
    await expect(el).to.be.accessible();
    article.querySelector('textarea')!.value = '同意';
    setTimeout(() => article.querySelector<HTMLButtonElement>('button.approve')!.click());
    const decided = await oneEvent(el, 'sp-approval-decided');
    expect(decided.detail).to.deep.equal({ approvalId: 'apr_1', opportunityId: 'opp_1', decision: 'approve' });
    expect(posted).to.deep.equal([{ url: 'http://x/api/v1/approvals/apr_1/approve', body: { comment: '同意' } }]);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('article')).to.be.null;
  });

  it('rejects with the other button', async () => {
    const el = await fixture<StageApprovalInbox>(
      html`<stage-approval-inbox lang="en" token=${token} base-url="http://x"></stage-approval-inbox>`,
    );
    for (let i = 0; i < 50 && !el.shadowRoot!.querySelector('article'); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(el.shadowRoot!.textContent).to.contain('Waiting for my approval');
    await waitForText(el, 'Design document');
    expect(el.shadowRoot!.querySelector('dt')!.textContent).to.equal('Design document');
    setTimeout(() => el.shadowRoot!.querySelector<HTMLButtonElement>('button.reject')!.click());
    const decided = await oneEvent(el, 'sp-approval-decided');
    expect(decided.detail.decision).to.equal('reject');
  });
});
