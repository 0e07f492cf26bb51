import { computeFunnel, seedProcessDefinition } from '@sales-process/core';
import { EXAMPLE, STAYS } from '@sales-process/core/testing/funnel-example';
import { expect, fixture, html } from '@open-wc/testing';
import '../index.js';
import type { FunnelData, SalesFunnelChart } from './sales-funnel-chart.js';

const data: FunnelData = {
  process: { id: 'p1', name: '重要客户销售流程', version: 1 },
  ...computeFunnel(seedProcessDefinition, EXAMPLE, STAYS),
};
const $ = <T extends Element>(el: SalesFunnelChart, sel: string) => el.shadowRoot!.querySelector<T>(sel)!;
const $$ = <T extends Element>(el: SalesFunnelChart, sel: string) => [...el.shadowRoot!.querySelectorAll<T>(sel)];
const widthOf = (g: Element) => {
  const pts = g
    .querySelector('polygon')!
    .getAttribute('points')!
    .split(' ')
    .map((p) => Number(p.split(',')[0]));
  return pts[1]! - pts[0]!;
};

describe('<sales-funnel-chart>', () => {
  it('draws one segment per stage, widest at the top, with the figures in words', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
    const segs = $$(el, 'g.seg');
    expect(segs.map((g) => g.getAttribute('data-stage'))).to.deep.equal(['visit', 'needs', 'solution', 'quote']);
    const widths = segs.map(widthOf);
    expect(widths[0]).to.be.greaterThan(widths[1]!);
    expect(widths[1]).to.be.greaterThan(widths[3]!);
    expect(el.shadowRoot!.textContent).to.contain('共 22 个商机');
    expect(el.shadowRoot!.textContent).to.contain('漏斗形状健康');
  });

  it('switches widths to amounts', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
    const before = $$(el, 'g.seg').map(widthOf);
    $$<HTMLButtonElement>(el, '.toggle button')[1]!.click();
    await el.updateComplete;
    expect(el.measure).to.equal('amount');
    const after = $$(el, 'g.seg').map(widthOf);
    // By amount 初次拜访 and 需求分析匹配 are equal (600k each).
    expect(after[0]).to.equal(after[1]);
    expect(before[0]).to.not.equal(before[1]);
    expect($$(el, 'g.seg text')[3]!.textContent).to.contain('500,000');
  });

  it('shows a stage’s figures on hover and on keyboard focus', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
    $$<SVGGElement>(el, 'g.seg')[2]!.dispatchEvent(new MouseEvent('mouseenter'));
    await el.updateComplete;
    expect($(el, '.details').textContent).to.contain('方案设计：进行中 2 个');
    expect($(el, '.details').textContent).to.contain('转化率 50%');
    $$<SVGGElement>(el, 'g.seg')[1]!.focus();
    await el.updateComplete;
    expect($(el, '.details').textContent).to.contain('需求分析匹配：进行中 3 个');
  });

  it('has a table alternative with every stage figure, and the forecast', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
    const rows = $$(el, 'table[part="table"] tbody tr').map((tr) => [...tr.children].map((c) => c.textContent!.trim()));
    expect(rows[0]!.slice(0, 3)).to.deep.equal(['初次拜访', '10%', '5']);
    expect(rows[2]!.slice(5)).to.deep.equal(['50%', '10', '10']);
    expect($$(el, 'table:not([part]) tbody tr').length).to.be.greaterThan(2);
  });

  it('speaks English', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart lang="en" .data=${data}></sales-funnel-chart>`);
    expect(el.shadowRoot!.textContent).to.contain('22 opportunities');
    expect(el.shadowRoot!.textContent).to.contain('A healthy funnel');
  });

  it('is accessible', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
    await expect(el).to.be.accessible();
  });
});
