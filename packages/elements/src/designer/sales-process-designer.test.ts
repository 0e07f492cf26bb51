import { readDraft, seedProcessDefinition, writeDraft, type ProcessDraft } from '@sales-process/core';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import * as Y from 'yjs';
import '../index.js';
import { FakeSocket, fakeSyncServer, json, until } from '../testing/network.js';
import type { SalesProcessDesigner } from './sales-process-designer.js';

const catalog = {
  customer: [
    { key: 'name', label: { zh: '客户名称', en: 'Customer name' }, type: 'text' as const },
    {
      key: 'industry',
      label: { zh: '行业', en: 'Industry' },
      type: 'select' as const,
      options: [{ value: 'it', label: { zh: 'IT', en: 'IT' } }],
    },
  ],
  opportunity: [{ key: 'amount', label: { zh: '金额', en: 'Amount' }, type: 'currency' as const }],
};
const departments = [
  { id: 'hq', name: '总部', parentId: null },
  { id: 'sales', name: '销售部', parentId: 'hq' },
  { id: 'east', name: '华东', parentId: 'sales' },
];
function seedDoc(): Y.Doc {
  const doc = new Y.Doc();
  writeDraft(doc, { name: '重要客户销售流程', departments: ['sales'], definition: seedProcessDefinition });
  return doc;
}
/** A field's id in the designer's controls (`source:key`). */
const fieldUid = (source: string, key: string) => `${source}:${key}`;
const draftOf = (doc: Y.Doc) => readDraft(doc) as ProcessDraft;
const $ = <T extends Element>(el: SalesProcessDesigner, sel: string) => el.shadowRoot!.querySelector<T>(sel)!;
const $$ = <T extends Element>(el: SalesProcessDesigner, sel: string) => [...el.shadowRoot!.querySelectorAll<T>(sel)];
async function setInput(el: SalesProcessDesigner, sel: string, value: string, event = 'input') {
  const input = $<HTMLInputElement>(el, sel);
  input.value = value;
  input.dispatchEvent(new Event(event));
  await el.updateComplete;
}
async function render(doc = seedDoc(), extra = {}) {
  return fixture<SalesProcessDesigner>(
    html`<sales-process-designer process-id="p1" .doc=${doc} .catalog=${catalog} .departments=${departments} ...=${extra}></sales-process-designer>`,
  );
}

describe('<sales-process-designer>', () => {
  it('shows the stages in order and edits a stage: name, win rate, requirements, reminder, approval, contacts', async () => {
    const doc = seedDoc();
    const el = await render(doc);
    expect($$(el, 'ol.stages li').map((li) => li.textContent!.replace(/\s+/g, ' ').trim())).to.deep.equal([
      '1. 初次拜访 10%',
      '2. 需求分析匹配 30%',
      '3. 方案设计 50%',
      '4. 报价竞标 80%',
    ]);
    $<HTMLElement>(el, 'ol.stages li[data-id="needs"]').click();
    await el.updateComplete;
    await setInput(el, '#stage-name', '需求分析');
    await setInput(el, '#stage-win-rate', '35', 'change');
    await setInput(el, '#stage-requirements', '确认预算');
    await setInput(el, '#stage-remind', '5', 'change');
    await setInput(el, '#stage-min-contacts', '1', 'change');
    $<HTMLInputElement>(el, '#stage-approval').click();
    await el.updateComplete;
    const needs = draftOf(doc).definition.presale[1]!;
    expect(needs).to.include({
      name: '需求分析',
      winRate: 35,
      requirements: '确认预算',
      remindAfterDays: 5,
      minContacts: 1,
      requiresApproval: true,
    });
  });

  it('adds, removes and edits fields of a stage (existing and stage-only)', async () => {
    const doc = seedDoc();
    const el = await render(doc);
    $<HTMLElement>(el, 'ol.stages li[data-id="needs"]').click();
    await el.updateComplete;
    const existing = $<HTMLSelectElement>(el, '#add-existing');
    existing.value = fieldUid('opportunity', 'amount');
    existing.closest('form')!.requestSubmit();
    await el.updateComplete;
    await setInput(el, '#new-field-zh', '预算');
    $<HTMLInputElement>(el, 'input[name="en"]').value = 'Budget range';
    $<HTMLSelectElement>(el, 'select[name="type"]').value = 'select';
    $<HTMLTextAreaElement>(el, 'textarea[name="options"]').value = '10 万以下\n10–50 万';
    $<HTMLInputElement>(el, '#new-field-zh').closest('form')!.requestSubmit();
    await el.updateComplete;
    let fields = draftOf(doc).definition.presale[1]!.fields;
    expect(fields.map((f) => `${f.source}.${f.key}`)).to.deep.equal([
      'stage.needsSummary',
      'opportunity.amount',
      'stage.budgetRange',
    ]);
    expect(fields[2]).to.deep.include({ type: 'select', label: { zh: '预算', en: 'Budget range' } });
    $<HTMLInputElement>(el, `tr[data-field="${fieldUid('opportunity', 'amount')}"] input[type="checkbox"]`).click();
    $<HTMLButtonElement>(el, 'tr[data-field="stage:needsSummary"] button.danger').click();
    await el.updateComplete;
    fields = draftOf(doc).definition.presale[1]!.fields;
    expect(fields.map((f) => [f.key, f.required])).to.deep.equal([
      ['amount', true],
      ['budgetRange', false],
    ]);
  });

  it('adds a stage, edits post-sale overdue days, terminal states, rules and departments', async () => {
    const doc = seedDoc();
    const el = await render(doc);
    $$<HTMLButtonElement>(el, 'button')
      .find((b) => b.textContent!.includes('添加阶段'))!
      .click();
    await el.updateComplete;
    await setInput(el, '#stage-name', '商务谈判');
    expect(draftOf(doc).definition.presale.at(-1)).to.include({ name: '商务谈判', winRate: 90 });
    $<HTMLButtonElement>(el, '#tab-postsale').click();
    await el.updateComplete;
    $<HTMLElement>(el, 'ol.stages li[data-id="install"]').click();
    await el.updateComplete;
    await setInput(el, '#stage-overdue', '4', 'change');
    expect(draftOf(doc).definition.postsale[0]!.overdueAfterDays).to.equal(4);
    $<HTMLButtonElement>(el, '#tab-terminal').click();
    await el.updateComplete;
    await setInput(el, '#terminal-lost-name', '丢单', 'change');
    await setInput(el, '#terminal-won-rate', '100', 'change');
    expect(draftOf(doc).definition.terminal.lost.name).to.equal('丢单');
    $<HTMLButtonElement>(el, '#tab-rules').click();
    await el.updateComplete;
    $<HTMLInputElement>(el, '#rule-skip').click();
    const after = $<HTMLSelectElement>(el, '#rule-order-after');
    after.value = 'needs';
    after.dispatchEvent(new Event('change'));
    await el.updateComplete;
    expect(draftOf(doc).definition.rules).to.include({ allowSkipStages: true, orderAllowedAfterStage: 'needs' });
    $<HTMLButtonElement>(el, '#tab-departments').click();
    await el.updateComplete;
    $<HTMLInputElement>(el, 'input[data-department="hq"]').click();
    $<HTMLInputElement>(el, 'input[data-department="sales"]').click();
    await el.updateComplete;
    expect(draftOf(doc).departments).to.deep.equal(['hq']);
    await setInput(el, '#process-name', '重要客户销售流程 2027');
    expect(draftOf(doc).name).to.equal('重要客户销售流程 2027');
  });

  it('reorders stages by keyboard, announcing each step', async () => {
    const doc = seedDoc();
    const el = await render(doc);
    const first = $<HTMLElement>(el, 'ol.stages li[data-id="visit"]');
    first.focus();
    const key = (k: string) =>
      el.shadowRoot!.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
    key('Enter');
    await el.updateComplete;
    expect($(el, '[aria-live="assertive"]').textContent).to.equal('已拿起“初次拜访”，位置 1/4');
    key('ArrowDown');
    await el.updateComplete;
    key('ArrowDown');
    await el.updateComplete;
    expect($(el, '[aria-live="assertive"]').textContent).to.equal('“初次拜访”移到位置 3/4');
    key('Enter');
    await el.updateComplete;
    expect(draftOf(doc).definition.presale.map((s) => s.id)).to.deep.equal(['needs', 'solution', 'visit', 'quote']);
    expect($(el, '[aria-live="assertive"]').textContent).to.equal('“初次拜访”放在位置 3/4');
    // Escape cancels.
    key('Enter');
    key('ArrowUp');
    key('Escape');
    await el.updateComplete;
    expect(draftOf(doc).definition.presale.map((s) => s.id)).to.deep.equal(['needs', 'solution', 'visit', 'quote']);
  });

  it('places validation problems at their controls and in the summary, and fires sp-change', async () => {
    const doc = seedDoc();
    const el = await render(doc);
    $<HTMLElement>(el, 'ol.stages li[data-id="needs"]').click();
    await el.updateComplete;
    setTimeout(() => setInput(el, '#stage-name', ''));
    const change = await oneEvent(el, 'sp-change');
    expect(change.detail.problems.map((p: { code: string }) => p.code)).to.include('STAGE_NAME_REQUIRED');
    await el.updateComplete;
    expect($(el, '#stage-name').parentElement!.textContent).to.contain('阶段名称不能为空');
    expect($(el, '.summary').textContent).to.contain('发布前需处理 1 个问题');
    await setInput(el, '#stage-win-rate', '5', 'change');
    expect($(el, '.summary').textContent).to.contain('赢率低于上一阶段');
  });

  it('speaks English', async () => {
    const el = await fixture<SalesProcessDesigner>(
      html`<div lang="en"><sales-process-designer process-id="p1" .doc=${seedDoc()} .catalog=${catalog} .departments=${departments}></sales-process-designer></div>`,
    );
    const designer = el.querySelector('sales-process-designer')!;
    await designer.updateComplete;
    expect(designer.shadowRoot!.textContent).to.contain('Pre-sale stages');
    expect(designer.shadowRoot!.textContent).to.contain('Ready to publish');
  });

  it('switches language live when the host page changes <html lang>', async () => {
    const el = await render();
    expect($(el, '#tab-presale').textContent).to.equal('售前阶段');
    document.documentElement.lang = 'en';
    try {
      await new Promise((r) => setTimeout(r, 0));
      await el.updateComplete;
      expect($(el, '#tab-presale').textContent).to.equal('Pre-sale stages');
    } finally {
      document.documentElement.lang = 'zh-CN';
    }
    await new Promise((r) => setTimeout(r, 0));
    await el.updateComplete;
    expect($(el, '#tab-presale').textContent).to.equal('售前阶段');
  });

  it('is accessible', async () => {
    const el = await render();
    $<HTMLElement>(el, 'ol.stages li[data-id="needs"]').click();
    await el.updateComplete;
    await expect(el).to.be.accessible();
  });

  describe('publishing', () => {
    const realFetch = window.fetch;
    let bodies: unknown[] = [];
    beforeEach(() => {
      bodies = [];
      window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
        const url = String(input);
        if (init?.body) bodies.push(JSON.parse(String(init.body)));
        const json = (b: unknown) =>
          new Response(JSON.stringify(b), { status: 200, headers: { 'content-type': 'application/json' } });
        if (url.endsWith('/publish/preview')) {
          const mapped = (JSON.parse(String(init!.body)) as { stageMapping: Record<string, string> }).stageMapping
            .quote;
          return json({
            affected: 3,
            perStage: [
              { stageId: 'visit', name: '初次拜访', count: 2, removed: false, target: 'visit' },
              { stageId: 'quote', name: '报价竞标', count: 1, removed: true, target: mapped ?? null },
            ],
            unmapped: mapped ? [] : [{ stageId: 'quote', name: '报价竞标', count: 1 }],
          });
        }
        if (url.endsWith('/publish')) return json({ processId: 'p1', version: 2, moved: 3 });
        return json({ id: 'p1', name: 'x', status: 'enabled', version: 1 });
      }) as typeof fetch;
    });
    afterEach(() => (window.fetch = realFetch));

    it('previews the impact, asks a target for a removed stage, publishes and says so', async () => {
      const el = await render(seedDoc(), {});
      el.token = 't';
      el.baseUrl = 'http://x';
      await el.updateComplete;
      $$<HTMLButtonElement>(el, 'button')
        .find((b) => b.textContent!.includes('发布'))!
        .click();
      for (let i = 0; i < 50 && !$(el, 'dialog .preview'); i++) await new Promise((r) => setTimeout(r, 10));
      const dialog = $<HTMLDialogElement>(el, 'dialog');
      expect(dialog.open).to.be.true;
      expect(dialog.textContent).to.contain('受影响的商机：3 个');
      expect(dialog.textContent).to.contain('阶段“报价竞标”已删除，其中 1 个商机移到');
      const confirm = [...dialog.querySelectorAll('button')].find((b) => b.textContent!.includes('确认发布'))!;
      expect(confirm.disabled).to.be.true;
      const target = dialog.querySelector<HTMLSelectElement>('select[data-unmapped="quote"]')!;
      target.value = 'solution';
      target.dispatchEvent(new Event('change'));
      for (let i = 0; i < 50 && dialog.querySelector('select[data-unmapped]'); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(confirm.disabled).to.be.false;
      setTimeout(() => confirm.click());
      const published = await oneEvent(el, 'sp-publish');
      expect(published.detail).to.deep.equal({ processId: 'p1', version: 2, mode: 'update-existing', moved: 3 });
      expect(bodies.at(-1)).to.deep.equal({
        mode: 'update-existing',
        stageMapping: { quote: 'solution' },
        disableOld: false,
      });
      await el.updateComplete;
      expect(dialog.textContent).to.contain('已发布：版本 v2');
      await expect(el).to.be.accessible();
    });

    it('offers to disable the old process when publishing as a new one', async () => {
      const el = await render();
      el.token = 't';
      el.baseUrl = 'http://x';
      await el.updateComplete;
      $$<HTMLButtonElement>(el, 'button')
        .find((b) => b.textContent!.includes('发布'))!
        .click();
      await el.updateComplete;
      $<HTMLInputElement>(el, 'input[value="new-process"]').click();
      await el.updateComplete;
      $<HTMLInputElement>(el, '#disable-old').click();
      await el.updateComplete;
      const confirm = $$<HTMLButtonElement>(el, 'dialog button').find((b) => b.textContent!.includes('确认发布'))!;
      for (let i = 0; i < 50 && confirm.disabled; i++) await new Promise((r) => setTimeout(r, 10));
      setTimeout(() => confirm.click());
      const published = await oneEvent(el, 'sp-publish');
      expect(published.detail.mode).to.equal('new-process');
      expect(bodies.at(-1)).to.deep.include({ mode: 'new-process', disableOld: true });
    });
  });

  it('publishing waits until the server has the last edit', async () => {
    const serverDoc = seedDoc();
    const restore = FakeSocket.install();
    fakeSyncServer(serverDoc, 150);
    const realFetch = window.fetch;
    let nameAtPreview: unknown = 'no preview';
    window.fetch = (async (input: RequestInfo) => {
      const url = String(input);
      if (url.endsWith('/publish/preview')) {
        nameAtPreview = draftOf(serverDoc).name;
        return json(200, { affected: 0, perStage: [], unmapped: [] });
      }
      return json(200, { id: 'p1', name: '重要客户销售流程', status: 'enabled', version: 1 });
    }) as typeof fetch;
    try {
      const el = await fixture<SalesProcessDesigner>(
        html`<sales-process-designer base-url="http://x" token="t" process-id="p1" .catalog=${catalog} .departments=${departments}></sales-process-designer>`,
      );
      await until(
        () => el.shadowRoot!.querySelector<HTMLInputElement>('#process-name')?.value === '重要客户销售流程',
        3000,
        'the draft from the server',
      );
      await setInput(el, '#process-name', '大客户流程');
      $<HTMLButtonElement>(el, '.toolbar button.primary').click();
      await until(() => nameAtPreview !== 'no preview', 3000, 'the preview');
      expect(nameAtPreview).to.equal('大客户流程');
    } finally {
      window.fetch = realFetch;
      restore();
    }
  });
});
