import { FIELD_TYPES, readDraft, seedProcessDefinition, writeDraft, type ProcessDraft } from '@sales-process/core';
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
  contact: [{ key: 'name', label: { zh: '姓名', en: 'Name' }, type: 'text' as const, system: true }],
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
  it('names field types in the page language, never by their ids', async () => {
    const el = await render();
    $<HTMLElement>(el, 'ol.stages li[data-id="needs"]').click();
    await el.updateComplete;
    const options = () => $$<HTMLOptionElement>(el, 'select[name="type"] option');
    expect(options().map((o) => o.value)).to.deep.equal([...FIELD_TYPES]);
    for (const o of options()) expect(o.textContent).to.not.equal(o.value);
    expect(new Set(options().map((o) => o.textContent)).size).to.equal(FIELD_TYPES.length);
    expect(
      options()
        .slice(0, 3)
        .map((o) => o.textContent),
    ).to.deep.equal(['单行文本', '多行文本', '数字']);
    document.documentElement.lang = 'en';
    try {
      await new Promise((r) => setTimeout(r, 0));
      await el.updateComplete;
      expect(
        options()
          .slice(0, 3)
          .map((o) => o.textContent),
      ).to.deep.equal(['Text', 'Long text', 'Number']);
    } finally {
      document.documentElement.lang = 'zh-CN';
    }
  });

  it('edits the allowReopen rule (on by default)', async () => {
    const doc = seedDoc();
    const el = await render(doc);
    $<HTMLButtonElement>(el, '#tab-rules').click();
    await el.updateComplete;
    const reopen = $<HTMLInputElement>(el, '#rule-reopen');
    expect(reopen.checked).to.be.true;
    expect(reopen.parentElement!.textContent).to.contain('允许重新打开已关闭的商机');
    reopen.click();
    await el.updateComplete;
    expect(draftOf(doc).definition.rules.allowReopen).to.be.false;
  });

  describe('history', () => {
    const realFetch = window.fetch;
    let audits: { url: string; signal: AbortSignal | null | undefined }[] = [];
    let hold: Promise<void> | null = null;
    let status = 'enabled';
    const entry = (id: string, action: string, diff: Record<string, unknown>, actorName: string | null = 'Admin') => ({
      id,
      at: '2026-12-01T08:30:00.000Z',
      actorId: actorName ? 'admin' : null,
      actorName,
      action,
      targetType: 'process',
      targetId: 'p1',
      diff,
    });
    const publish = entry('9', 'process.publish', {
      version: [1, 2],
      moved: 2,
      remapped: 1,
      stageMapping: { old: 'quote' },
      stages: [
        { kind: 'removed', phase: 'presale', stageId: 'old', name: '旧阶段' },
        { kind: 'added', phase: 'presale', stageId: 'quote', name: '报价竞标' },
        { kind: 'renamed', phase: 'presale', stageId: 'needs', from: '需求', to: '需求分析匹配' },
        { kind: 'changed', phase: 'presale', stageId: 'visit', name: '初次拜访', keys: ['winRate', 'fields'] },
      ],
      rules: { allowSkipStages: [false, true] },
      terminal: {
        lost: [
          { name: '输单', winRate: 0 },
          { name: '丢单', winRate: 0 },
        ],
      },
    });
    const pages: Record<string, unknown> = {
      first: {
        items: [publish, entry('8', 'process.disable', { status: ['enabled', 'disabled'] })],
        nextCursor: '8',
      },
      8: {
        items: [
          entry(
            '3',
            'process.create',
            { name: [null, '重要客户销售流程'], departments: [null, ['sales']], version: [null, 1] },
            null,
          ),
        ],
        nextCursor: null,
      },
    };
    beforeEach(() => {
      audits = [];
      hold = null;
      status = 'enabled';
      window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
        const url = String(input);
        if (url.includes('/audit?')) {
          audits.push({ url, signal: init?.signal });
          if (hold) await hold;
          init?.signal?.throwIfAborted();
          const cursor = new URL(url).searchParams.get('cursor');
          const page = pages[cursor ?? 'first'] as { items: unknown[] };
          // After a status change the newest entry is that change.
          const items =
            status === 'disabled' && !cursor
              ? [entry('10', 'process.disable', { status: ['enabled', 'disabled'] }), ...page.items]
              : page.items;
          return json(200, { ...page, items });
        }
        if (url.endsWith('/disable')) status = 'disabled';
        return json(200, { id: 'p1', name: '重要客户销售流程', status, version: 2 });
      }) as typeof fetch;
    });
    afterEach(() => (window.fetch = realFetch));

    const open = async (lang?: string) => {
      const host = await fixture<HTMLElement>(
        html`<div lang=${lang ?? 'zh-CN'}><sales-process-designer base-url="http://x" token="t" process-id="p1" .doc=${seedDoc()} .catalog=${catalog} .departments=${departments}></sales-process-designer></div>`,
      );
      const el = host.querySelector('sales-process-designer')!;
      await el.updateComplete;
      expect(audits).to.have.length(0);
      $<HTMLButtonElement>(el, '#tab-history').click();
      await until(() => $$(el, 'ol.history > li').length > 0, 2000, 'the history');
      return el;
    };
    const lines = (li: Element) => [...li.querySelectorAll('ul > li')].map((x) => x.textContent!.trim());

    it("lists the process's trail newest first when opened: who, when, what; more pages by the cursor", async () => {
      const el = await open();
      expect(new URL(audits[0]!.url).search).to.equal('?targetType=process&targetId=p1');
      const items = $$(el, 'ol.history > li');
      expect(items.map((li) => li.getAttribute('data-action'))).to.deep.equal(['process.publish', 'process.disable']);
      expect(items[0]!.querySelector('strong')!.textContent).to.equal('发布');
      expect(items[0]!.textContent).to.contain('Admin');
      expect(items[0]!.querySelector('time')!.getAttribute('datetime')).to.equal('2026-12-01T08:30:00.000Z');
      expect(lines(items[0]!)).to.deep.equal([
        '版本：v1 → v2',
        '2 个商机更新到新版本',
        '其中 1 个移出已删除的阶段',
        '“旧阶段”的商机移到“报价竞标”',
        '删除售前阶段“旧阶段”',
        '新增售前阶段“报价竞标”',
        '阶段“需求”改名为“需求分析匹配”',
        '修改阶段“初次拜访”：赢率、字段',
        '允许跳过阶段：否 → 是',
        '输单：输单 0% → 丢单 0%',
      ]);
      expect(items[1]!.querySelector('strong')!.textContent).to.equal('停用');
      expect(lines(items[1]!)).to.deep.equal(['状态：启用中 → 已停用']);

      $<HTMLButtonElement>(el, '#history-more').click();
      await until(() => $$(el, 'ol.history > li').length === 3, 2000, 'the second page');
      expect(new URL(audits[1]!.url).searchParams.get('cursor')).to.equal('8');
      const created = $$(el, 'ol.history > li')[2]!;
      expect(created.querySelector('strong')!.textContent).to.equal('创建流程');
      // No actor: a change the system made.
      expect(created.textContent).to.contain('系统');
      expect(lines(created)).to.deep.equal(['版本：v1', '销售流程名称：重要客户销售流程', '适用部门：销售部']);
      expect($(el, '#history-more')).to.equal(null);
      await expect(el).to.be.accessible();
    });

    it('loads afresh after a change the designer makes, and aborts a load nobody waits for', async () => {
      const el = await open();
      $$<HTMLButtonElement>(el, '.toolbar button')
        .find((b) => b.textContent === '停用')!
        .click();
      await until(() => $$(el, 'ol.history > li').length === 3, 2000, 'the refreshed history');
      expect(audits).to.have.length(2);
      expect(new URL(audits[1]!.url).searchParams.has('cursor')).to.be.false;
      expect($$(el, 'ol.history > li')[0]!.getAttribute('data-action')).to.equal('process.disable');

      // Leaving the tab mid-load aborts it; coming back loads the first page again.
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      $<HTMLButtonElement>(el, '#history-more').click();
      await until(() => audits.length === 3, 2000, 'the next page requested');
      $<HTMLButtonElement>(el, '#tab-presale').click();
      await el.updateComplete;
      expect(audits[2]!.signal!.aborted).to.be.true;
      release();
      hold = null;
      $<HTMLButtonElement>(el, '#tab-history').click();
      await until(() => audits.length === 4 && $$(el, 'ol.history > li').length === 3, 2000, 'the history again');
      expect(new URL(audits[3]!.url).searchParams.has('cursor')).to.be.false;
    });

    it('speaks English', async () => {
      const el = await open('en');
      expect($(el, '#tab-history').textContent).to.equal('History');
      const first = $$(el, 'ol.history > li')[0]!;
      expect(first.querySelector('strong')!.textContent).to.equal('Published');
      expect(lines(first)).to.include.members([
        'Version: v1 → v2',
        '2 opportunities moved to the new version',
        'Pre-sale stages: "报价竞标" added',
        'Stage "初次拜访" changed: win rate, fields',
        'Allow skipping stages: no → yes',
      ]);
    });
  });

  describe('contact roles, post-sale team and applicability conditions', () => {
    const option = (value: string, zh: string, en: string, archived = false) => ({
      value,
      label: { zh, en },
      ...(archived ? { archived } : {}),
    });
    /** The catalog as the server gives it: contact roles (采购 archived), choice fields to condition on. */
    const full = {
      customer: [
        { key: 'name', label: { zh: '客户名称', en: 'Customer name' }, type: 'text' as const, system: true },
        {
          key: 'industry',
          label: { zh: '行业', en: 'Industry' },
          type: 'select' as const,
          options: [option('it', '信息技术', 'IT')],
        },
        {
          key: 'customerType',
          label: { zh: '客户类型', en: 'Customer type' },
          type: 'select' as const,
          options: [
            option('key', '大客户', 'Key account'),
            option('strategic', '战略客户', 'Strategic'),
            option('small', '小客户', 'Small', true),
          ],
        },
        { key: 'tier', label: { zh: '客户级别', en: 'Tier' }, type: 'text' as const },
        {
          key: 'region',
          label: { zh: '区域', en: 'Region' },
          type: 'select' as const,
          archived: true,
          options: [option('north', '北区', 'North')],
        },
      ],
      opportunity: [
        { key: 'amount', label: { zh: '金额', en: 'Amount' }, type: 'currency' as const, system: true },
        {
          key: 'productLines',
          label: { zh: '产品线', en: 'Product lines' },
          type: 'multiselect' as const,
          options: [option('hardware', '硬件', 'Hardware'), option('network', '网络', 'Network')],
        },
        {
          key: 'lostReason',
          label: { zh: '输单原因', en: 'Lost reason' },
          type: 'select' as const,
          options: [option('price', '价格', 'Price')],
        },
      ],
      contact: [
        { key: 'name', label: { zh: '姓名', en: 'Name' }, type: 'text' as const, system: true },
        {
          key: 'role',
          label: { zh: '联系人角色', en: 'Contact role' },
          type: 'multiselect' as const,
          options: [
            option('direct', '直接联系人', 'Direct contact'),
            option('decisionMaker', '关键决策人', 'Decision maker'),
            option('technical', '技术负责人', 'Technical lead'),
            option('procurement', '采购', 'Procurement', true),
          ],
        },
      ],
    };
    const users = [
      { id: 'zhao', name: '赵售后', roles: ['postsale'] },
      { id: 'qian', name: '钱服务', roles: ['postsale', 'sales'] },
      { id: 'zhang', name: '张三', roles: ['sales'] },
    ];
    const open = (doc = seedDoc(), lang = 'zh-CN') =>
      fixture<SalesProcessDesigner>(
        html`<sales-process-designer lang=${lang} process-id="p1" .doc=${doc} .catalog=${full} .departments=${departments} .users=${users}></sales-process-designer>`,
      );
    const tab = async (el: SalesProcessDesigner, name: string) => {
      $<HTMLButtonElement>(el, `#tab-${name}`).click();
      await el.updateComplete;
    };
    const stage = async (el: SalesProcessDesigner, id: string) => {
      $<HTMLElement>(el, `ol.stages li[data-id="${id}"]`).click();
      await el.updateComplete;
    };
    const pick = async (el: SalesProcessDesigner, select: string, value: string, submit = true) => {
      const s = $<HTMLSelectElement>(el, select);
      s.value = value;
      s.dispatchEvent(new Event('change'));
      await el.updateComplete;
      if (submit) {
        s.closest('form')!.requestSubmit();
        await el.updateComplete;
      }
    };
    const check = async (el: SalesProcessDesigner, selector: string) => {
      $<HTMLInputElement>(el, selector).click();
      await el.updateComplete;
    };
    const text = (el: Element | null) => el!.textContent!.replace(/\s+/g, ' ').trim();
    const definition = (doc: Y.Doc) => draftOf(doc).definition;
    /** Two admins' docs, each update of one applied to the other (as the server relays them). */
    const linkedDocs = () => {
      const a = seedDoc();
      const b = new Y.Doc();
      Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
      a.on('update', (u: Uint8Array, origin: unknown) => origin !== b && Y.applyUpdate(b, u, a));
      b.on('update', (u: Uint8Array, origin: unknown) => origin !== a && Y.applyUpdate(a, u, b));
      return [a, b] as const;
    };

    it("offers the contact roles not archived next to a pre-sale stage's minimum contacts and writes the chosen ones", async () => {
      const doc = seedDoc();
      const el = await open(doc);
      await stage(el, 'visit');
      const roles = $(el, '#stage-contact-roles');
      expect(roles.previousElementSibling!.querySelector('#stage-min-contacts')).to.exist;
      expect(text(roles.querySelector('legend'))).to.equal('必需联系人角色');
      expect($$<HTMLInputElement>(el, '#stage-contact-roles input').map((i) => i.dataset.role)).to.deep.equal([
        'direct',
        'decisionMaker',
        'technical',
      ]);
      await check(el, 'input[data-role="direct"]');
      await check(el, 'input[data-role="decisionMaker"]');
      expect(definition(doc).presale[0]!.requiredContactRoles).to.deep.equal(['direct', 'decisionMaker']);
      await check(el, 'input[data-role="direct"]');
      expect(definition(doc).presale[0]!.requiredContactRoles).to.deep.equal(['decisionMaker']);
      expect($<HTMLInputElement>(el, 'input[data-role="decisionMaker"]').checked).to.be.true;
      // Post-sale stages have no contact gate.
      await tab(el, 'postsale');
      await stage(el, 'install');
      expect($(el, '#stage-contact-roles')).to.equal(null);
      await expect(el).to.be.accessible();
    });

    it('picks the post-sale team (post-sale staff first, anyone allowed, departments) and a stage team of its own', async () => {
      const doc = seedDoc();
      const el = await open(doc);
      await tab(el, 'settings');
      const groups = $$<HTMLOptGroupElement>(el, '#team optgroup');
      expect(groups.map((g) => [g.label, [...g.querySelectorAll('option')].map((o) => o.textContent)])).to.deep.equal([
        ['售后', ['赵售后', '钱服务']],
        ['其他', ['张三']],
        ['部门', ['总部', '销售部', '华东']],
      ]);
      await pick(el, '#team', 'uzhao');
      await pick(el, '#team', 'uzhang');
      await pick(el, '#team', 'dsales');
      expect(definition(doc).postsaleTeam).to.deep.equal({ userIds: ['zhao', 'zhang'], departments: ['sales'] });
      expect($$(el, '#postsale-team ul.chips li').map(text)).to.deep.equal(['赵售后 ×', '张三 ×', '销售部 ×']);
      // Chosen ones are not offered again; the select is back on "choose".
      expect($$<HTMLOptionElement>(el, '#team option').map((o) => o.value)).to.deep.equal([
        '',
        'uqian',
        'dhq',
        'deast',
      ]);
      expect($<HTMLSelectElement>(el, '#team').value).to.equal('');
      $<HTMLButtonElement>(el, '#postsale-team button[aria-label="移除：张三"]').click();
      await el.updateComplete;
      expect(definition(doc).postsaleTeam).to.deep.equal({ userIds: ['zhao'], departments: ['sales'] });

      // A post-sale stage uses the process's team until it names its own.
      await tab(el, 'postsale');
      await stage(el, 'install');
      const own = $<HTMLInputElement>(el, '#stage-process-team');
      expect(own.checked).to.be.true;
      expect(text(own.closest('fieldset')!.querySelector('p'))).to.equal('赵售后、销售部');
      await check(el, '#stage-process-team');
      expect(definition(doc).postsale[0]!.team).to.deep.equal({ userIds: ['zhao'], departments: ['sales'] });
      await pick(el, '#stage-team', 'uqian');
      expect(definition(doc).postsale[0]!.team).to.deep.equal({ userIds: ['zhao', 'qian'], departments: ['sales'] });
      expect(definition(doc).postsaleTeam).to.deep.equal({ userIds: ['zhao'], departments: ['sales'] });
      await expect(el).to.be.accessible();
      await check(el, '#stage-process-team');
      expect(definition(doc).postsale[0]!.team).to.equal(null);
    });

    it('adds applicability conditions on choice fields, tells them as sentences, and removes them', async () => {
      const doc = seedDoc();
      const el = await open(doc);
      await tab(el, 'settings');
      expect(text($(el, '#conditions ul.conditions'))).to.equal('不限');
      // Choice fields with options offered, not built in, archived or the lost reason.
      expect($$<HTMLOptionElement>(el, '#condition-field option').map((o) => o.value)).to.deep.equal([
        '',
        'customer:industry',
        'customer:customerType',
        fieldUid('opportunity', 'productLines'),
      ]);
      expect($<HTMLButtonElement>(el, '#add-condition button[type="submit"]').disabled).to.be.true;
      await pick(el, '#condition-field', 'customer:customerType', false);
      // The archived option is not offered.
      expect($$<HTMLInputElement>(el, '#add-condition input[name="value"]').map((i) => i.value)).to.deep.equal([
        'key',
        'strategic',
      ]);
      // Nothing chosen: nothing added, and the user is told.
      $<HTMLFormElement>(el, '#add-condition').requestSubmit();
      await el.updateComplete;
      expect(definition(doc).appliesWhen).to.deep.equal([]);
      expect($(el, '[aria-live="assertive"]').textContent).to.equal('请选择取值');
      await check(el, '#add-condition input[value="key"]');
      await check(el, '#add-condition input[value="strategic"]');
      $<HTMLFormElement>(el, '#add-condition').requestSubmit();
      await el.updateComplete;
      await pick(el, '#condition-field', fieldUid('opportunity', 'productLines'), false);
      // Another field: nothing chosen yet.
      expect($$<HTMLInputElement>(el, '#add-condition input[name="value"]').some((i) => i.checked)).to.be.false;
      await check(el, '#add-condition input[value="hardware"]');
      await check(el, '#add-condition input[value="network"]');
      $<HTMLFormElement>(el, '#add-condition').requestSubmit();
      await el.updateComplete;
      expect(definition(doc).appliesWhen).to.deep.equal([
        { source: 'customer', key: 'customerType', values: ['key', 'strategic'] },
        { source: 'opportunity', key: 'productLines', values: ['hardware', 'network'] },
      ]);
      expect($$(el, 'ul.conditions li').map(text)).to.deep.equal([
        '客户的“客户类型”为“大客户”或“战略客户” ×',
        '商机的“产品线”包含“硬件”或“网络” ×',
      ]);
      // A field with a condition is not offered again.
      expect($$<HTMLOptionElement>(el, '#condition-field option').map((o) => o.value)).to.deep.equal([
        '',
        'customer:industry',
      ]);
      await expect(el).to.be.accessible();
      $<HTMLButtonElement>(el, 'li[data-condition="customer:customerType"] button').click();
      await el.updateComplete;
      expect(definition(doc).appliesWhen.map((c) => c.key)).to.deep.equal(['productLines']);
    });

    it('speaks English', async () => {
      const doc = seedDoc();
      const el = await open(doc, 'en');
      await tab(el, 'settings');
      expect($(el, '#tab-settings').textContent).to.equal('Post-sale team and conditions');
      await pick(el, '#condition-field', 'customer:customerType', false);
      await check(el, '#add-condition input[value="key"]');
      $<HTMLFormElement>(el, '#add-condition').requestSubmit();
      await el.updateComplete;
      expect(text($(el, 'ul.conditions li'))).to.equal('Customer "Customer type" is "Key account" ×');
      await tab(el, 'presale');
      await stage(el, 'visit');
      expect(text($(el, '#stage-contact-roles'))).to.equal(
        'Required contact roles Direct contact Decision maker Technical lead',
      );
    });

    it('shows the publish problems of roles and conditions at their controls', async () => {
      const doc = seedDoc();
      const d = draftOf(doc);
      d.definition.presale[0]!.requiredContactRoles = ['decisionMaker', 'procurement', 'ceo'];
      d.definition.appliesWhen = [
        { source: 'customer', key: 'customerType', values: ['key', 'gone'] },
        { source: 'customer', key: 'region', values: ['north'] },
      ];
      writeDraft(doc, d);
      const el = await open(doc);
      await stage(el, 'visit');
      const role = (r: string) => $<HTMLInputElement>(el, `input[data-role="${r}"]`).parentElement!;
      // A stored archived or unknown role is shown, checked, with its problem beside it.
      expect(
        $$<HTMLInputElement>(el, '#stage-contact-roles input').map((i) => [i.dataset.role, i.checked]),
      ).to.deep.equal([
        ['direct', false],
        ['decisionMaker', true],
        ['technical', false],
        ['procurement', true],
        ['ceo', true],
      ]);
      expect(role('decisionMaker').querySelector('.err')).to.equal(null);
      expect(role('procurement').querySelector('.err')!.textContent).to.equal('联系人角色 procurement 已归档');
      expect(role('ceo').querySelector('.err')!.textContent).to.equal('联系人角色 ceo 不存在');
      expect($(el, '.summary').textContent).to.contain('发布前需处理 4 个问题');
      // The summary leads to the conditions, where each problem sits at its condition.
      $$<HTMLButtonElement>(el, '.summary button')
        .find((b) => b.textContent!.includes('没有选项'))!
        .click();
      await el.updateComplete;
      expect($(el, '#tab-settings').getAttribute('aria-selected')).to.equal('true');
      const condition = (ref: string) => $(el, `li[data-condition="${ref}"]`);
      expect(text(condition('customer:customerType'))).to.equal(
        '客户的“客户类型”为“大客户”或“gone” × 字段 customer.customerType 没有选项 gone',
      );
      expect(condition('customer:region').querySelector('.err')!.textContent).to.equal(
        '适用条件的字段 customer.region 不存在、已归档或不是选项字段',
      );
      await expect(el).to.be.accessible();
      // Unchecking the archived role takes it away (it is not offered again).
      await tab(el, 'presale');
      await check(el, 'input[data-role="procurement"]');
      expect(definition(doc).presale[0]!.requiredContactRoles).to.deep.equal(['decisionMaker', 'ceo']);
      expect($(el, 'input[data-role="procurement"]')).to.equal(null);
    });

    it('loads the fields, archived ones included but not offered, and the directory when the host gives none', async () => {
      const realFetch = window.fetch;
      const asked: string[] = [];
      window.fetch = (async (input: RequestInfo) => {
        const url = new URL(String(input));
        asked.push(url.pathname + url.search);
        if (url.pathname.endsWith('/directory')) return json(200, { departments, users });
        const object = /\/fields\/(\w+)$/.exec(url.pathname)?.[1] as keyof typeof full | undefined;
        if (object) return json(200, { items: full[object] });
        return json(200, { id: 'p1', name: '重要客户销售流程', status: 'enabled', version: 1 });
      }) as typeof fetch;
      try {
        const doc = seedDoc();
        const d = draftOf(doc);
        d.definition.presale[0]!.requiredContactRoles = ['procurement'];
        writeDraft(doc, d);
        const el = await fixture<SalesProcessDesigner>(
          html`<sales-process-designer base-url="http://x" token="t" process-id="p1" .doc=${doc}></sales-process-designer>`,
        );
        await until(() => el.catalog && el.users, 2000, 'the fields and the directory');
        expect(asked.filter((u) => u.includes('/fields/')).sort()).to.deep.equal([
          '/api/v1/fields/contact?includeArchived=true',
          '/api/v1/fields/customer?includeArchived=true',
          '/api/v1/fields/opportunity?includeArchived=true',
        ]);
        await el.updateComplete;
        await stage(el, 'visit');
        // An archived role the stage holds: by its label, said to be archived.
        expect(text($<HTMLInputElement>(el, 'input[data-role="procurement"]').parentElement)).to.equal(
          '采购 联系人角色 procurement 已归档',
        );
        // An archived field is not offered.
        expect($$<HTMLOptionElement>(el, '#add-existing option').map((o) => o.value)).to.not.include('customer:region');
        await tab(el, 'settings');
        expect($$<HTMLOptionElement>(el, '#team option').map((o) => o.textContent)).to.include.members([
          '赵售后',
          '张三',
          '销售部',
        ]);
      } finally {
        window.fetch = realFetch;
      }
    });

    it('two admins see each other change roles, the team and conditions', async () => {
      const [a, b] = linkedDocs();
      const one = await open(a);
      const two = await open(b);
      await stage(one, 'visit');
      await stage(two, 'visit');
      await check(one, 'input[data-role="decisionMaker"]');
      await two.updateComplete;
      expect($<HTMLInputElement>(two, 'input[data-role="decisionMaker"]').checked).to.be.true;
      await check(two, 'input[data-role="direct"]');
      await one.updateComplete;
      expect(definition(a).presale[0]!.requiredContactRoles).to.deep.equal(['decisionMaker', 'direct']);
      expect($<HTMLInputElement>(one, 'input[data-role="direct"]').checked).to.be.true;

      await tab(one, 'settings');
      await tab(two, 'settings');
      await pick(one, '#team', 'uqian');
      await two.updateComplete;
      expect($$(two, '#postsale-team ul.chips li').map(text)).to.deep.equal(['钱服务 ×']);
      await pick(two, '#condition-field', 'customer:customerType', false);
      await check(two, '#add-condition input[value="key"]');
      $<HTMLFormElement>(two, '#add-condition').requestSubmit();
      await one.updateComplete;
      expect($$(one, 'ul.conditions li').map(text)).to.deep.equal(['客户的“客户类型”为“大客户” ×']);
      // The field taken is no longer offered to the other admin either.
      expect($$<HTMLOptionElement>(one, '#condition-field option').map((o) => o.value)).to.deep.equal([
        '',
        'customer:industry',
        fieldUid('opportunity', 'productLines'),
      ]);
      expect(definition(a)).to.deep.equal(definition(b));
    });
  });
});
