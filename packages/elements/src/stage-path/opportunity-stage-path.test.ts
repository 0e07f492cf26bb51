import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../index.js';
import { opportunityFixture } from '../testing/fixtures.js';
import type { OpportunityStagePath } from './opportunity-stage-path.js';

const steps = (el: OpportunityStagePath) => [...el.shadowRoot!.querySelectorAll('li')];

describe('<opportunity-stage-path>', () => {
  it('shows completed, current and remaining pre-sale stages', async () => {
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path .opportunity=${opportunityFixture()}></opportunity-stage-path>`,
    );
    const li = steps(el);
    expect(li.map((x) => x.querySelector('.step-name')!.textContent!.replace('✓ ', '').trim())).to.deep.equal([
      '初次拜访',
      '需求分析匹配',
      '方案设计',
      '报价竞标',
    ]);
    expect(li[0]!.classList.contains('done')).to.be.true;
    expect(li[1]!.getAttribute('aria-current')).to.equal('step');
    expect(li[2]!.classList.contains('todo')).to.be.true;
    expect(el.shadowRoot!.textContent).to.contain('30%');
  });

  it('shows the post-sale stages once won, with the overdue one marked', async () => {
    const won = opportunityFixture({
      status: 'won',
      phase: 'postsale',
      stageId: 'training',
      winRate: 100,
      overdue: true,
    });
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path .opportunity=${won}></opportunity-stage-path>`,
    );
    const li = steps(el);
    expect(li.some((x) => x.classList.contains('won'))).to.be.true;
    const current = li.find((x) => x.getAttribute('aria-current') === 'step')!;
    expect(current.textContent).to.contain('实施培训');
    expect(current.classList.contains('overdue')).to.be.true;
  });

  it('shows a lost opportunity with its terminal state', async () => {
    const lost = opportunityFixture({
      status: 'lost',
      phase: 'done',
      stageId: 'solution',
      winRate: 0,
      terminalName: '输单',
    });
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path .opportunity=${lost}></opportunity-stage-path>`,
    );
    expect(steps(el).at(-1)!.classList.contains('lost')).to.be.true;
  });

  it('speaks English when its lang says so', async () => {
    const el = await fixture<OpportunityStagePath>(
      html`<div lang="en"><opportunity-stage-path .opportunity=${opportunityFixture()}></opportunity-stage-path></div>`,
    );
    const path = el.querySelector('opportunity-stage-path')!;
    await path.updateComplete;
    expect(path.shadowRoot!.textContent).to.contain('Win rate');
    expect(path.shadowRoot!.textContent).to.contain('6 days in this stage');
  });

  it('is accessible', async () => {
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path .opportunity=${opportunityFixture()}></opportunity-stage-path>`,
    );
    await expect(el).to.be.accessible();
  });

  it('never throws when its tag is defined twice', async () => {
    const { define } = await import('./opportunity-stage-path.js');
    expect(() => define()).not.to.throw();
  });
});

describe('<opportunity-stage-path> actions', () => {
  const realFetch = window.fetch;
  let calls: { url: string; method: string; body: unknown }[] = [];
  let reply: (url: string) => Response;
  beforeEach(() => {
    calls = [];
    window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
      calls.push({
        url: String(input),
        method: init?.method ?? 'GET',
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
      });
      return reply(String(input));
    }) as typeof fetch;
  });
  afterEach(() => (window.fetch = realFetch));
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  it('offers the actions the rules allow, and lists every unmet gate when the server refuses', async () => {
    reply = () =>
      json(422, {
        error: {
          code: 'STAGE_GATES_UNMET',
          message: '阶段完成条件未满足',
          messages: { zh: '阶段完成条件未满足', en: 'The stage cannot be completed yet' },
          details: [
            {
              gate: 'requiredField',
              key: 'needsSummary',
              message: { zh: '必填字段“需求摘要”未填写', en: 'Required field "Needs summary" is empty' },
            },
            {
              gate: 'minContacts',
              have: 1,
              need: 2,
              message: {
                zh: '客户至少需要 2 个联系人（现有 1 个）',
                en: 'The customer needs at least 2 contacts (has 1)',
              },
            },
          ],
        },
      });
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path token="t" base-url="http://x" .live=${false} .opportunity=${opportunityFixture()}></opportunity-stage-path>`,
    );
    const buttons = [...el.shadowRoot!.querySelectorAll('.actions button')].map((b) => b.textContent!.trim());
    expect(buttons).to.deep.equal(['完成阶段', '退回', '输单', '标记无效']);
    setTimeout(() => el.shadowRoot!.querySelector<HTMLButtonElement>('.actions button.primary')!.click());
    const refused = await oneEvent(el, 'sp-transition-refused');
    expect(refused.detail.code).to.equal('STAGE_GATES_UNMET');
    await el.updateComplete;
    const items = [...el.shadowRoot!.querySelectorAll('.refusal li')].map((li) => li.textContent);
    expect(items).to.deep.equal(['必填字段“需求摘要”未填写', '客户至少需要 2 个联系人（现有 1 个）']);
    expect(calls[0]).to.include({ url: 'http://x/api/v1/opportunities/opp_1/complete-stage', method: 'POST' });
    await expect(el).to.be.accessible();
  });

  it('moves on when the server agrees, and says so with events', async () => {
    reply = () => json(200, opportunityFixture({ stageId: 'solution', stageName: '方案设计', winRate: 50 }));
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path token="t" base-url="http://x" .live=${false} .opportunity=${opportunityFixture()}></opportunity-stage-path>`,
    );
    setTimeout(() => el.shadowRoot!.querySelector<HTMLButtonElement>('.actions button.primary')!.click());
    const completed = await oneEvent(el, 'sp-stage-completed');
    expect(completed.detail).to.deep.equal({ opportunityId: 'opp_1', fromStageId: 'needs', toStageId: 'solution' });
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('li[aria-current="step"]')!.textContent).to.contain('方案设计');
  });

  it('asks for a lost reason from the field definition, in English too', async () => {
    reply = (url) =>
      url.endsWith('/fields/opportunity')
        ? json(200, {
            items: [{ key: 'lostReason', options: [{ value: 'price', label: { zh: '价格', en: 'Price' } }] }],
          })
        : json(200, opportunityFixture({ status: 'lost', phase: 'done' }));
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path lang="en" token="t" base-url="http://x" .live=${false} .opportunity=${opportunityFixture()}></opportunity-stage-path>`,
    );
    [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('.actions button')]
      .find((b) => b.textContent!.trim() === 'Lost')!
      .click();
    for (let i = 0; i < 50 && !el.shadowRoot!.querySelector('select[name="reason"] option[value="price"]'); i++)
      await new Promise((r) => setTimeout(r, 10));
    const reason = el.shadowRoot!.querySelector<HTMLSelectElement>('select[name="reason"]')!;
    expect(reason.textContent).to.contain('Price');
    reason.value = 'price';
    el.shadowRoot!.querySelector<HTMLButtonElement>('form.panel button[type="submit"]')!.click();
    for (let i = 0; i < 50 && calls.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(calls[1]).to.deep.include({
      url: 'http://x/api/v1/opportunities/opp_1/lose',
      body: { reason: 'price', expectedStageId: 'needs' },
    });
  });

  it('can be cancelled before anything is sent', async () => {
    reply = () => json(200, opportunityFixture());
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path token="t" base-url="http://x" .live=${false} .opportunity=${opportunityFixture()} @sp-before-action=${(e: Event) => e.preventDefault()}></opportunity-stage-path>`,
    );
    el.shadowRoot!.querySelector<HTMLButtonElement>('.actions button.primary')!.click();
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).to.deep.equal([]);
  });

  it('sends the stage the user saw with every command, orders and post-sale staff too', async () => {
    const postsale = opportunityFixture({ stageId: 'install', phase: 'postsale' });
    reply = () => json(200, postsale);
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path token="t" base-url="http://x" .live=${false} .opportunity=${postsale}></opportunity-stage-path>`,
    );
    await el.act('assignStaff', '/post-sale-staff', { userIds: ['chen'] }, 'PUT');
    await el.act('createOrder', '/orders', { amount: 100 });
    expect(calls.find((c) => c.url.endsWith('/post-sale-staff'))!.body).to.deep.equal({
      userIds: ['chen'],
      expectedStageId: 'install',
    });
    expect(calls.find((c) => c.url.endsWith('/orders'))!.body).to.deep.equal({
      amount: 100,
      expectedStageId: 'install',
    });
  });

  it('sends the stage the user saw; a stale one says the opportunity changed and reloads', async () => {
    const moved = opportunityFixture({ stageId: 'solution', stageName: '方案设计', winRate: 50 });
    reply = (url) =>
      url.endsWith('/complete-stage')
        ? json(409, {
            error: {
              code: 'STALE_STATE',
              message: 'stale',
              details: [
                { stageId: 'solution', status: 'open', message: { zh: '当前阶段：方案设计', en: 'Now in 方案设计' } },
              ],
            },
          })
        : json(200, moved);
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path token="t" base-url="http://x" opportunity-id="opp_1" .live=${false}></opportunity-stage-path>`,
    );
    for (let i = 0; i < 50 && !el.opportunity; i++) await new Promise((r) => setTimeout(r, 10));
    el.opportunity = opportunityFixture();
    await el.updateComplete;
    setTimeout(() => el.shadowRoot!.querySelector<HTMLButtonElement>('.actions button.primary')!.click());
    const refused = await oneEvent(el, 'sp-transition-refused');
    expect(refused.detail.code).to.equal('STALE_STATE');
    expect(calls.find((c) => c.url.endsWith('/complete-stage'))!.body).to.deep.equal({ expectedStageId: 'needs' });
    for (let i = 0; i < 50 && el.opportunity?.stageId !== 'solution'; i++) await new Promise((r) => setTimeout(r, 10));
    await el.updateComplete;
    expect(el.opportunity!.stageId).to.equal('solution');
    expect(el.shadowRoot!.querySelector('.refusal')!.textContent).to.contain('商机已被他人更新，已重新加载');
    expect(el.shadowRoot!.querySelector('li[aria-current="step"]')!.textContent).to.contain('方案设计');
  });
});
