import { expect, fixture, html } from '@open-wc/testing';
import '../index.js';
import { opportunityFixture } from '../testing/fixtures.js';
import type { OpportunityStagePath } from './opportunity-stage-path.js';

const steps = (el: OpportunityStagePath) => [...el.shadowRoot!.querySelectorAll('li')];

describe('<opportunity-stage-path>', () => {
  it('shows completed, current and remaining pre-sale stages', async () => {
    const el = await fixture<OpportunityStagePath>(html`<opportunity-stage-path .opportunity=${opportunityFixture()}></opportunity-stage-path>`);
    const li = steps(el);
    expect(li.map((x) => x.querySelector('.step-name')!.textContent!.replace('✓ ', '').trim())).to.deep.equal(['初次拜访', '需求分析匹配', '方案设计', '报价竞标']);
    expect(li[0]!.classList.contains('done')).to.be.true;
    expect(li[1]!.getAttribute('aria-current')).to.equal('step');
    expect(li[2]!.classList.contains('todo')).to.be.true;
    expect(el.shadowRoot!.textContent).to.contain('30%');
  });

  it('shows the post-sale stages once won, with the overdue one marked', async () => {
    const won = opportunityFixture({ status: 'won', phase: 'postsale', stageId: 'training', winRate: 100, overdue: true });
    const el = await fixture<OpportunityStagePath>(html`<opportunity-stage-path .opportunity=${won}></opportunity-stage-path>`);
    const li = steps(el);
    expect(li.some((x) => x.classList.contains('won'))).to.be.true;
    const current = li.find((x) => x.getAttribute('aria-current') === 'step')!;
    expect(current.textContent).to.contain('实施培训');
    expect(current.classList.contains('overdue')).to.be.true;
  });

  it('shows a lost opportunity with its terminal state', async () => {
    const lost = opportunityFixture({ status: 'lost', phase: 'done', stageId: 'solution', winRate: 0, terminalName: '输单' });
    const el = await fixture<OpportunityStagePath>(html`<opportunity-stage-path .opportunity=${lost}></opportunity-stage-path>`);
    expect(steps(el).at(-1)!.classList.contains('lost')).to.be.true;
  });

  it('speaks English when its lang says so', async () => {
    const el = await fixture<OpportunityStagePath>(html`<div lang="en"><opportunity-stage-path .opportunity=${opportunityFixture()}></opportunity-stage-path></div>`);
    const path = el.querySelector('opportunity-stage-path')!;
    await path.updateComplete;
    expect(path.shadowRoot!.textContent).to.contain('Win rate');
    expect(path.shadowRoot!.textContent).to.contain('6 days in this stage');
  });

  it('is accessible', async () => {
    const el = await fixture<OpportunityStagePath>(html`<opportunity-stage-path .opportunity=${opportunityFixture()}></opportunity-stage-path>`);
    await expect(el).to.be.accessible();
  });

  it('never throws when its tag is defined twice', async () => {
    const { define } = await import('./opportunity-stage-path.js');
    expect(() => define()).not.to.throw();
  });
});
