import {
  computeFunnel,
  computeStaleDeals,
  computeWinLoss,
  DEFAULT_CUSTOM_FIELDS,
  seedProcessDefinition,
} from '@sales-process/core';
import {
  EXAMPLE,
  EXAMPLE_FX,
  FX_RATES,
  openDeals,
  STALE_AS_OF,
  STAYS,
} from '@sales-process/core/testing/funnel-example';
import { expect, fixture, html } from '@open-wc/testing';
import '../index.js';
import { FakeStream, json, until } from '../testing/network.js';
import type { FunnelData, SalesFunnelChart, StaleDealsData, WinLossData } from './sales-funnel-chart.js';

const data: FunnelData = {
  process: { id: 'p1', name: '重要客户销售流程', version: 1 },
  ...computeFunnel(seedProcessDefinition, EXAMPLE, STAYS, undefined, { asOf: '2026-12-02T08:00:00Z' }),
};
const stages = seedProcessDefinition.presale.map((s) => ({ id: s.id, name: s.name }));
const reasons = DEFAULT_CUSTOM_FIELDS.opportunity.find((f) => f.key === 'lostReason')!.options!;
const winLoss = (period: 'month' | 'quarter' = 'month'): WinLossData =>
  computeWinLoss(EXAMPLE, { period, stages, reasons });
const names: Record<string, string> = { rep: '张三', rep2: '李四' };
const staleOf = (limit?: number): StaleDealsData => {
  const s = computeStaleDeals(openDeals(), {
    asOf: STALE_AS_OF,
    stageNames: new Map(stages.map((x) => [x.id, x.name])),
    limit,
  });
  return { ...s, deals: s.deals.map((d) => ({ ...d, ownerName: names[d.ownerId]! })) };
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
    expect($$(el, 'table[part="forecast"] tbody tr').length).to.be.greaterThan(2);
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
      if (url.includes('/win-loss')) return json(200, winLoss());
      if (url.includes('/stale-deals')) return json(200, staleOf());
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
    await until(() => el.shadowRoot!.querySelector('table[part="plan"]'), 2000, 'the plan');
    expect($(el, 'table[part="plan"]').textContent).to.contain('¥1,000,000');
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

describe('<sales-funnel-chart> on a phone, and its tables as CSV', () => {
  const rects = (el: SalesFunnelChart) =>
    $$(el, 'g.seg').map((g) => ({
      text: g.querySelector('text')!.getBoundingClientRect(),
      shape: g.querySelector('polygon')!.getBoundingClientRect(),
    }));

  it('keeps stage labels readable and inside their stage at 390 px wide (they were ~9 px)', async () => {
    for (const measure of ['count', 'amount']) {
      const wrap = await fixture<HTMLDivElement>(
        html`<div style="width: 390px"><sales-funnel-chart measure=${measure} .data=${data}></sales-funnel-chart></div>`,
      );
      const el = wrap.querySelector('sales-funnel-chart')!;
      await el.updateComplete;
      expect(el.getBoundingClientRect().width).to.equal(390);
      for (const { text, shape } of rects(el)) {
        expect(text.height, `${measure}: label height`).to.be.at.least(12);
        expect(text.left, measure).to.be.at.least(shape.left);
        expect(text.right, measure).to.be.at.most(shape.right);
      }
      // The funnel spans the chart (one column on a phone), the figures beside it go below.
      expect($(el, '[part="funnel"]').getBoundingClientRect().width).to.be.greaterThan(350);
    }
  });

  it('shows no empty box under the funnel before a stage is hovered', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
    const box = $(el, '.details');
    expect(box.getBoundingClientRect().height).to.equal(0);
    expect(box.getAttribute('role')).to.equal('status'); // the live region is there, empty
    $$<SVGGElement>(el, 'g.seg')[0]!.dispatchEvent(new MouseEvent('mouseenter'));
    await el.updateComplete;
    expect(box.getBoundingClientRect().height).to.be.greaterThan(20);
  });

  describe('CSV', () => {
    const realCreate = URL.createObjectURL;
    const realClick = HTMLAnchorElement.prototype.click;
    let saved: { name: string; blob: Blob }[] = [];
    beforeEach(() => {
      saved = [];
      let blob: Blob;
      URL.createObjectURL = (b: Blob | MediaSource) => {
        blob = b as Blob;
        return 'blob:test';
      };
      HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
        saved.push({ name: this.download, blob });
      };
    });
    afterEach(() => {
      URL.createObjectURL = realCreate;
      HTMLAnchorElement.prototype.click = realClick;
    });
    const csvOf = async (el: SalesFunnelChart, part: string) => {
      const button = $<HTMLElement>(el, `table[part="${part}"]`).parentElement!.querySelector<HTMLButtonElement>(
        'button.csv',
      )!;
      button.click();
      const { name, blob } = saved.at(-1)!;
      const bytes = new Uint8Array(await blob.arrayBuffer());
      return {
        name,
        bytes,
        text: new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes),
        button,
        type: blob.type,
      };
    };

    it('exports the stage table with a byte-order mark, so Excel opens its Chinese correctly', async () => {
      const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
      const { name, bytes, text, button, type } = await csvOf(el, 'table');
      expect([...bytes.slice(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
      expect(name).to.equal('重要客户销售流程-stages.csv');
      expect(type).to.equal('text/csv;charset=utf-8');
      expect(button.getAttribute('aria-label')).to.equal('导出 CSV：表格视图');
      const lines = text.slice(1).split('\r\n');
      expect(lines[0]).to.equal(
        '阶段,赢率,进行中,金额（CNY）,加权金额（CNY）,转化到下一阶段,平均停留天数,停留天数中位数',
      );
      // Numbers as numbers (Excel computes with them), not as the table's formatted text.
      expect(lines[1]).to.equal('初次拜访,0.1,5,600000,60000,0.6818,5,3');
      expect(lines[4]).to.equal('报价竞标,0.8,1,500000,400000,0.6,,');
      expect(lines.at(-1)).to.equal('');
    });

    it('exports every table: forecast, win/loss, stale deals and the plan', async () => {
      const el = await fixture<SalesFunnelChart>(
        html`<sales-funnel-chart lang="en" .data=${data} .winLoss=${winLoss()} .stale=${staleOf()}></sales-funnel-chart>`,
      );
      expect($$(el, 'button.csv').length).to.equal(4);
      const forecast = await csvOf(el, 'forecast');
      expect(forecast.text.slice(1).split('\r\n').slice(0, 2)).to.deep.equal([
        'Month,Open,Weighted (CNY)',
        '2027-01,4,520000',
      ]);
      const wl = await csvOf(el, 'win-loss');
      expect(wl.name).to.equal('重要客户销售流程-win-loss.csv');
      expect(wl.text.slice(1).split('\r\n').slice(0, 2)).to.deep.equal([
        'Period,Won,Won (CNY),Lost,Lost (CNY),Win rate,Lost reasons,Lost at stage',
        '2026-07,2,500000,2,200000,0.5,"Competitor 1, Price 1","初次拜访 1, 需求分析匹配 1"',
      ]);
      const stale = await csvOf(el, 'stale');
      expect(stale.text.slice(1).split('\r\n')[1]).to.equal('o1,张三,初次拜访,30,23,100000');
    });

    it('writes text a spreadsheet would run as a formula as text, and quotes what needs quoting', async () => {
      const { toCsv } = await import('./csv.js');
      expect(toCsv([['=HYPERLINK("x")', '-1', -1, 'a,b', 'line\nbreak', null]])).to.equal(
        '\uFEFF"\'=HYPERLINK(""x"")",\'-1,-1,"a,b","line\nbreak",\r\n',
      );
    });
  });
});

describe('<sales-funnel-chart> win/loss, stale deals, the cohort and the plan', () => {
  const text = (el: Node) => el.textContent!.replace(/\s+/g, ' ');

  it('shows win/loss per period with lost reasons and stages, most first', async () => {
    const el = await fixture<SalesFunnelChart>(
      html`<sales-funnel-chart .data=${data} .winLoss=${winLoss()}></sales-funnel-chart>`,
    );
    const rows = $$(el, 'table[part="win-loss"] tbody tr').map((tr) =>
      [...tr.children].map((c) => c.textContent!.trim()),
    );
    expect(rows.map((r) => r[0])).to.deep.equal(['2026-07', '2026-08', '2026-09']);
    expect(rows[0]).to.deep.equal([
      '2026-07',
      '2',
      '¥500,000',
      '2',
      '¥200,000',
      '50%',
      '竞争对手 1、价格 1',
      '初次拜访 1、需求分析匹配 1',
    ]);
    expect(rows[2]!.slice(5)).to.deep.equal(['0%', '价格 1、无预算 1', '初次拜访 1、需求分析匹配 1']);
    await expect(el).to.be.accessible();
    // Nothing closed yet: a row says so rather than a table of headers alone.
    el.winLoss = { ...winLoss(), periods: [] };
    await el.updateComplete;
    expect(text($(el, 'table[part="win-loss"] tbody'))).to.equal('暂无数据');
    await expect(el).to.be.accessible();
  });

  it('lists stale deals oldest first, with how many and how much in all', async () => {
    const el = await fixture<SalesFunnelChart>(
      html`<sales-funnel-chart .data=${data} .stale=${staleOf(3)}></sales-funnel-chart>`,
    );
    const rows = $$(el, 'table[part="stale"] tbody tr').map((tr) => [...tr.children].map((c) => c.textContent!.trim()));
    expect(rows).to.deep.equal([
      ['o1', '张三', '初次拜访', '30', '23', '¥100,000'],
      ['o4', '李四', '初次拜访', '29.5', '22.5', '¥150,000'],
      ['o9', '张三', '方案设计', '29', '15', '¥400,000'],
    ]);
    expect(text($(el, 'table[part="stale"] caption'))).to.equal(
      '超过阶段停留提醒天数的进行中商机：共 8 个，金额 ¥1,950,000，显示最早的 3 个',
    );
    await expect(el).to.be.accessible();
  });

  it('says it in English', async () => {
    const el = await fixture<SalesFunnelChart>(
      html`<sales-funnel-chart lang="en" .data=${data} .winLoss=${winLoss('quarter')} .stale=${staleOf()}></sales-funnel-chart>`,
    );
    expect([...$(el, 'table[part="win-loss"] tbody tr').children].map((c) => c.textContent!.trim())).to.deep.equal([
      '2026-Q3',
      '3',
      'CN¥1,000,000',
      '6',
      'CN¥980,000',
      '33%',
      'Price 3, Competitor 2, No budget 1',
      '初次拜访 2, 需求分析匹配 2, 方案设计 1, 报价竞标 1',
    ]);
    expect(text($(el, 'table[part="stale"] caption'))).to.equal(
      'Open opportunities past their stage’s reminder days: 8, worth CN¥1,950,000',
    );
    expect(text(el.shadowRoot!)).to.contain('Conversions are read from the 22 opportunities created through 2026-09');
    await expect(el).to.be.accessible();
  });

  it('says which cohort the diagnosis read its conversions from', async () => {
    const el = await fixture<SalesFunnelChart>(html`<sales-funnel-chart .data=${data}></sales-funnel-chart>`);
    expect(text(el.shadowRoot!)).to.contain('转化率只看 2026-09 及以前创建的 22 个商机');
  });

  describe('connected', () => {
    const token = `x.${btoa(JSON.stringify({ sub: 'ana' }))}.y`;
    const realFetch = window.fetch;
    let urls: string[] = [];
    let posted: Record<string, unknown>[] = [];
    beforeEach(() => {
      urls = [];
      posted = [];
      window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
        const url = String(input);
        urls.push(url);
        if (url.includes('/stream')) return new FakeStream(url, {}, init?.signal).response;
        if (url.includes('/win-loss')) return json(200, winLoss(url.includes('quarter') ? 'quarter' : 'month'));
        if (url.includes('/stale-deals')) return url.includes('p-old') ? json(404, {}) : json(200, staleOf());
        if (url.includes('/target-plan')) {
          posted.push(JSON.parse(String(init!.body)));
          return json(200, {
            currency: 'CNY',
            figures: { winRate: 0.1, avgWonAmount: 200_000, avgCycleDays: 45, leadPeriods: 1, basis: 'process' },
            note: { zh: '尚无赢单记录：按流程设定估算', en: 'No won opportunities yet: planned from the process' },
            periods: [
              {
                period: '2027-01',
                target: 1_000_000,
                dealsNeeded: 5,
                opportunitiesNeeded: 50,
                customersNeeded: 28,
                findIn: '2026-12',
              },
            ],
            newOpportunitiesPerPeriod: [{ period: '2026-12', opportunities: 50 }],
            newCustomersPerPeriod: [{ period: '2026-12', customers: 28 }],
          });
        }
        return json(200, data);
      }) as typeof fetch;
    });
    afterEach(() => (window.fetch = realFetch));

    it('loads win/loss and stale deals beside the figures, and win/loss again per quarter', async () => {
      const el = await fixture<SalesFunnelChart>(
        html`<sales-funnel-chart token=${token} base-url="http://x" process-id="p1"></sales-funnel-chart>`,
      );
      await until(() => el.shadowRoot!.querySelector('table[part="stale"]'), 2000, 'the stale deals');
      expect(urls.some((u) => u.endsWith('/analytics/stale-deals?processId=p1&limit=20'))).to.equal(true);
      expect(urls.some((u) => u.endsWith('/analytics/win-loss?processId=p1&period=month'))).to.equal(true);
      const select = $(el, 'table[part="win-loss"]').closest('.tbl')!.previousElementSibling!.querySelector('select')!;
      select.value = 'quarter';
      select.dispatchEvent(new Event('change'));
      await until(() => $(el, 'table[part="win-loss"] tbody tr')?.textContent?.includes('2026-Q3'), 2000, 'quarters');
      expect(el.winLossPeriod).to.equal('quarter');
      await expect(el).to.be.accessible();
    });

    it('shows the figures without them when the server has none', async () => {
      const el = await fixture<SalesFunnelChart>(
        html`<sales-funnel-chart token=${token} base-url="http://x" process-id="p-old"></sales-funnel-chart>`,
      );
      await until(() => el.shadowRoot!.querySelector('table[part="win-loss"]'), 2000, 'win/loss');
      expect(el.shadowRoot!.querySelector('table[part="stale"]')).to.equal(null);
      expect(el.shadowRoot!.querySelector('[part="error"]')).to.equal(null);
    });

    it('plans with a given deal size, and shows the customers to find and what the plan stood on', async () => {
      const el = await fixture<SalesFunnelChart>(
        html`<sales-funnel-chart token=${token} base-url="http://x" process-id="p1"></sales-funnel-chart>`,
      );
      await until(() => el.shadowRoot!.querySelector('form'), 2000, 'the form');
      const deal = $<HTMLInputElement>(el, 'input[name="deal"]');
      deal.value = '200000';
      $<HTMLFormElement>(el, 'form').requestSubmit();
      await until(() => el.shadowRoot!.querySelector('table[part="plan"]'), 2000, 'the plan');
      expect(posted[0]).to.deep.equal({
        processId: 'p1',
        target: 1_000_000,
        period: 'month',
        averageDealAmount: 200_000,
      });
      const row = [...$(el, 'table[part="plan"] tbody tr').children].map((c) => c.textContent!.trim());
      expect(row).to.deep.equal(['2027-01', '¥1,000,000', '5', '50', '28', '2026-12']);
      expect(text(el.shadowRoot!)).to.contain('尚无赢单记录：按流程设定估算');
      await expect(el).to.be.accessible();
    });
  });
});
