import { computeFunnel, seedProcessDefinition } from '@sales-process/core';
import { EXAMPLE, EXAMPLE_FX, FX_RATES, STAYS } from '@sales-process/core/testing/funnel-example';
import { expect, fixture, html } from '@open-wc/testing';
import '../index.js';
import { FakeStream, json, until } from '../testing/network.js';
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

describe('<sales-funnel-chart> currencies', () => {
  const fx: FunnelData = {
    process: { id: 'p1', name: '重要客户销售流程', version: 1 },
    ...computeFunnel(seedProcessDefinition, EXAMPLE_FX, STAYS, FX_RATES),
  };
  const text = (el: SalesFunnelChart) => el.shadowRoot!.textContent!.replace(/\s+/g, ' ');

  it('says which currency amounts are in, and that other currencies were converted at the recorded rates', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${fx}></sales-funnel-chart>`);
    const note = $(el, '[part="currency"]').textContent!.replace(/\s+/g, ' ').trim();
    expect(note).to.equal('金额单位：CNY。其他货币的金额已按记录的汇率换算为 CNY（1 JPY = 0.05 CNY；1 USD = 8 CNY）');
    // The converted figures: 2,200,000 open, not the 9,362,500 of amounts added up as they stand.
    expect(text(el)).to.contain('进行中金额 ¥2,200,000');
    expect($(el, 'form label').textContent).to.contain('目标金额（CNY）');
    await expect(el).to.be.accessible();
  });

  it('says it in English, and only the currency when nothing was converted', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart lang="en" .data=${fx}></sales-funnel-chart>`);
    expect($(el, '[part="currency"]').textContent!.replace(/\s+/g, ' ').trim()).to.equal(
      'Amounts in CNY. Amounts in other currencies were converted to CNY at the recorded rates (1 JPY = 0.05 CNY; 1 USD = 8 CNY)',
    );
    const plain = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
    expect($(plain, '[part="currency"]').textContent!.trim()).to.equal('金额单位：CNY');
  });

  it('shows amounts in a base currency other than CNY, and names currencies it could not convert', async () => {
    const usd: FunnelData = { ...fx, currency: 'USD', converted: true, rates: { CNY: 0.14 }, unconverted: ['EUR'] };
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${usd}></sales-funnel-chart>`);
    expect(text(el)).to.contain('进行中金额 US$2,200,000');
    expect(text(el)).to.contain('1 CNY = 0.14 USD');
    expect($(el, '[part="currency"] .warn').textContent).to.equal('EUR 没有记录汇率，这些金额未计入（商机数已计入）');
    $$<HTMLButtonElement>(el, '.toggle button')[1]!.click();
    await el.updateComplete;
    expect($$(el, 'g.seg text')[3]!.textContent).to.contain('US$500,000');
    await expect(el).to.be.accessible();
  });
});

describe('<sales-funnel-chart> target form', () => {
  const token = `x.${btoa(JSON.stringify({ sub: 'ana' }))}.y`;
  const realFetch = window.fetch;
  let posted: unknown[] = [];
  beforeEach(() => {
    posted = [];
    window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
      const url = String(input);
      if (url.includes('/stream')) return new FakeStream(url, {}, init?.signal).response;
      if (url.includes('/analytics/target-plan')) {
        posted.push(JSON.parse(String(init!.body)));
        return json(200, {
          currency: 'CNY',
          figures: { winRate: 0.2727, avgWonAmount: 333_333.33, avgCycleDays: 60, leadPeriods: 2 },
          periods: [
            { period: '2027-01', target: 1_000_000, dealsNeeded: 3, opportunitiesNeeded: 11, findIn: '2026-11' },
          ],
          newOpportunitiesPerPeriod: [{ period: '2026-11', opportunities: 11 }],
        });
      }
      return json(200, data);
    }) as typeof fetch;
  });
  afterEach(() => (window.fetch = realFetch));

  async function connected(lang = 'zh-CN') {
    const el = await fixture<SalesFunnelChart>(
      html`<sales-funnel-chart lang=${lang} token=${token} base-url="http://x" process-id="p1"></sales-funnel-chart>`,
    );
    await until(() => el.shadowRoot!.querySelector('form'), 2000, 'the figures');
    return el;
  }
  const submit = async (el: SalesFunnelChart, value?: string) => {
    const input = $<HTMLInputElement>(el, 'input[name="target"]');
    if (value !== undefined) {
      input.value = value;
      input.dispatchEvent(new Event('input'));
    }
    $<HTMLFormElement>(el, 'form').requestSubmit();
    await el.updateComplete;
    return input;
  };

  it('plans its own default target of 1,000,000 (the browser used to refuse it against its step)', async () => {
    const el = await connected();
    const input = await submit(el);
    await until(() => posted.length === 1, 2000, 'the plan request');
    expect(posted[0]).to.deep.equal({ processId: 'p1', target: 1_000_000, period: 'month' });
    expect(input.validity.valid).to.equal(true);
    await until(() => el.shadowRoot!.querySelector('table.plan'), 2000, 'the plan');
    expect($(el, 'table.plan').textContent).to.contain('¥1,000,000');
    expect($(el, '#target-error').textContent!.trim()).to.equal('');
    // Any amount, not only multiples of a step.
    await submit(el, '1234567.5');
    await until(() => posted.length === 2, 2000, 'the second plan request');
    expect((posted[1] as { target: number }).target).to.equal(1_234_567.5);
  });

  it("says what is wrong with the target in the page's language, and asks nothing of the server", async () => {
    const el = await connected();
    for (const [value, message] of [
      ['', '请输入目标金额'],
      ['0', '目标金额须大于 0'],
      ['-5', '目标金额须大于 0'],
      ['1e14', '目标金额不能超过 10,000,000,000,000'],
    ]) {
      const input = await submit(el, value);
      expect($(el, '#target-error').textContent!.trim(), value).to.equal(message);
      expect(input.validationMessage).to.equal(message);
      expect(input.getAttribute('aria-invalid')).to.equal('true');
    }
    expect(posted).to.deep.equal([]);
    await expect(el).to.be.accessible();
    // Fixing it clears the message as it is typed.
    const input = $<HTMLInputElement>(el, 'input[name="target"]');
    input.value = '500000';
    input.dispatchEvent(new Event('input'));
    await el.updateComplete;
    expect([$(el, '#target-error').textContent!.trim(), input.validationMessage]).to.deep.equal(['', '']);
  });

  it('speaks English on an English page', async () => {
    const el = await connected('en');
    const input = await submit(el, '');
    expect($(el, '#target-error').textContent!.trim()).to.equal('Enter a target amount');
    expect(input.validationMessage).to.equal('Enter a target amount');
    expect($(el, 'form label').textContent).to.contain('Target amount (CNY)');
  });
});
