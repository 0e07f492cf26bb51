import { CONTACT_ROLE_KEY, DEFAULT_CUSTOM_FIELDS } from '@sales-process/core';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../index.js';
import { FakeStream, json, until } from '../testing/network.js';
import type { ManagedField, SalesFieldManager } from './sales-field-manager.js';

/** The server, as far as the element sees it: the tenant's fields and what was sent. */
let fields: Record<string, ManagedField[]>;
let sent: { method: string; url: string; body: unknown }[];
let streams: FakeStream[];
const realFetch = window.fetch;

const lostReason = (): ManagedField => ({
  key: 'lostReason',
  label: { zh: '输单原因', en: 'Lost reason' },
  type: 'select',
  required: true,
  options: [
    { value: 'price', label: { zh: '价格', en: 'Price' } },
    { value: 'competitor', label: { zh: '竞争对手', en: 'Competitor' } },
    { value: 'noBudget', label: { zh: '无预算', en: 'No budget' } },
    { value: 'other', label: { zh: '其他', en: 'Other' } },
  ],
});

/** The contact roles every tenant starts with (直接联系人, 关键决策人, 技术负责人, 采购). */
const contactRole = (): ManagedField =>
  structuredClone(DEFAULT_CUSTOM_FIELDS.contact.find((f) => f.key === CONTACT_ROLE_KEY)!) as ManagedField;

beforeEach(() => {
  fields = {
    customer: [
      { key: 'name', label: { zh: '客户名称', en: 'Customer name' }, type: 'text', system: true },
      {
        key: 'industry',
        label: { zh: '行业', en: 'Industry' },
        type: 'select',
        options: [{ value: 'it', label: { zh: '信息技术', en: 'IT' } }],
      },
      { key: 'tier', label: { zh: '客户级别', en: 'Tier' }, type: 'text' },
      { key: 'old', label: { zh: '旧字段', en: 'Old field' }, type: 'text', archived: true },
    ],
    opportunity: [{ key: 'amount', label: { zh: '金额', en: 'Amount' }, type: 'currency', system: true }, lostReason()],
    contact: [
      { key: 'name', label: { zh: '姓名', en: 'Name' }, type: 'text', system: true },
      { key: 'title', label: { zh: '职务', en: 'Title' }, type: 'text', system: true },
      { key: 'phone', label: { zh: '电话', en: 'Phone' }, type: 'text', system: true },
      contactRole(),
    ],
  };
  sent = [];
  streams = [];
  window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    if (url.pathname.endsWith('/fields/stream')) {
      const s = new FakeStream(String(input), {}, init?.signal);
      streams.push(s);
      return s.response;
    }
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    if (method !== 'GET') sent.push({ method, url: url.pathname, body });
    const [, object, key] = /\/fields\/(\w+)(?:\/(\w+))?$/.exec(url.pathname) ?? [];
    const list = fields[object!]!;
    if (method === 'GET') return json(200, { items: list });
    if (method === 'POST') {
      list.push({ ...body, system: false });
      return json(201, body);
    }
    if (method === 'PUT' && key === 'order') {
      const rest = list.filter((f) => f.system || f.archived);
      fields[object!] = [
        ...rest.filter((f) => f.system),
        ...body.keys.map((k: string) => list.find((f) => f.key === k)!),
        ...rest.filter((f) => !f.system),
      ];
      return json(200, { items: fields[object!] });
    }
    const f = list.find((x) => x.key === key)!;
    if (method === 'DELETE') {
      if (key === 'industry')
        return json(409, {
          error: {
            code: 'CONFLICT',
            message: 'A published process uses this field: it cannot be archived',
            messages: {
              zh: '字段正被已发布的销售流程使用，不能归档',
              en: 'A published process uses this field: it cannot be archived',
            },
            details: [
              {
                processId: 'p1',
                processName: '重要客户销售流程',
                message: {
                  zh: '已发布的销售流程「重要客户销售流程」的阶段表单使用此字段',
                  en: 'The published process "重要客户销售流程" uses this field in a stage form',
                },
              },
            ],
          },
        });
      f.archived = true;
      return json(200, f);
    }
    Object.assign(f, body);
    if (body.archived === false) delete f.archived;
    return json(200, f);
  }) as typeof fetch;
});
afterEach(() => (window.fetch = realFetch));

const $ = <T extends Element>(el: SalesFieldManager, sel: string) => el.shadowRoot!.querySelector<T>(sel)!;
const $$ = <T extends Element>(el: SalesFieldManager, sel: string) => [...el.shadowRoot!.querySelectorAll<T>(sel)];
/** A field's row in the list of the tab shown (archived ones are listed apart). */
const rowOf = (el: SalesFieldManager, key: string) => $<HTMLLIElement>(el, `ul[part="list"] li[data-key="${key}"]`);
const type = (input: HTMLInputElement, value: string) => {
  input.value = value;
  input.dispatchEvent(new Event('input'));
};

async function manager(lang = 'zh-CN') {
  const el = await fixture<SalesFieldManager>(
    html`<sales-field-manager lang=${lang} token="t" base-url="http://x"></sales-field-manager>`,
  );
  await until(() => $$(el, 'ul.fields li').length > 0, 2000, 'the fields');
  return el;
}

describe('<sales-field-manager>', () => {
  it('lists the customer and opportunity fields in tabs, built-in, custom and archived ones, and is accessible', async () => {
    const el = await manager();
    expect($$(el, '[role="tab"]').map((t) => t.textContent!.trim())).to.deep.equal([
      '客户字段',
      '商机字段',
      '联系人字段',
    ]);
    expect(rowOf(el, 'name').textContent).to.contain('系统');
    expect(rowOf(el, 'industry').textContent).to.contain('行业');
    expect(rowOf(el, 'industry').textContent).to.contain('信息技术');
    expect($(el, 'details summary').textContent).to.contain('已归档的字段（1）');
    await expect(el).to.be.accessible();
    // Arrow keys move between the tabs.
    $<HTMLButtonElement>(el, '#tab-customer').focus();
    $(el, '[role="tablist"]').dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    await el.updateComplete;
    expect(el.object).to.equal('opportunity');
    expect(rowOf(el, 'lostReason').textContent).to.contain('输单原因');
    expect(rowOf(el, 'lostReason').textContent).to.contain('必填');
    await expect(el).to.be.accessible();
  });

  it('adds a select field with its options', async () => {
    const el = await manager();
    $<HTMLButtonElement>(el, 'button.add').click();
    await el.updateComplete;
    type($(el, 'input[name="key"]'), 'region');
    type($(el, 'input[name="zh"]'), '区域');
    type($(el, 'input[name="en"]'), 'Region');
    const select = $<HTMLSelectElement>(el, 'select[name="type"]');
    select.value = 'select';
    select.dispatchEvent(new Event('change'));
    await el.updateComplete;
    type($(el, 'ol.options li input.option-zh'), '北区');
    type($(el, 'ol.options li input.option-en'), 'North area');
    await el.updateComplete;
    await expect(el).to.be.accessible();
    setTimeout(() => $<HTMLButtonElement>(el, 'form.editor button[type="submit"]').click());
    const changed = await oneEvent(el, 'sp-fields-changed');
    expect(changed.detail).to.deep.equal({ object: 'customer', key: 'region', action: 'create' });
    expect(sent).to.deep.equal([
      {
        method: 'POST',
        url: '/api/v1/fields/customer',
        body: {
          key: 'region',
          label: { zh: '区域', en: 'Region' },
          type: 'select',
          required: false,
          options: [{ value: 'northArea', label: { zh: '北区', en: 'North area' } }],
        },
      },
    ]);
    await until(() => rowOf(el, 'region'), 2000, 'the new field in the list');
    expect($(el, 'form.editor')).to.be.null;
  });

  it('renames a lost reason, adds one and archives one, sending the whole list of options', async () => {
    const el = await manager('en');
    $<HTMLButtonElement>(el, '#tab-opportunity').click();
    await el.updateComplete;
    rowOf(el, 'lostReason').querySelector<HTMLButtonElement>('button.edit')!.click();
    await el.updateComplete;
    const rows = () => $$<HTMLLIElement>(el, 'ol.options li');
    expect(rows()).to.have.length(4);
    // Saved options keep their value; their names change.
    expect(rows()[0]!.querySelector<HTMLInputElement>('input.option-value')!.readOnly).to.be.true;
    type(rows()[0]!.querySelector('input.option-zh')!, '价格过高');
    type(rows()[0]!.querySelector('input.option-en')!, 'Too expensive');
    rows()[1]!.querySelector<HTMLButtonElement>('button.archive-option')!.click();
    $<HTMLButtonElement>(el, 'button.add-option').click();
    await el.updateComplete;
    type(rows()[4]!.querySelector('input.option-zh')!, '时机不对');
    type(rows()[4]!.querySelector('input.option-en')!, 'Bad timing');
    // A value made from a name that is taken gets a number, still in lower camel case.
    $<HTMLButtonElement>(el, 'button.add-option').click();
    await el.updateComplete;
    type(rows()[5]!.querySelector('input.option-zh')!, '价格（年费）');
    type(rows()[5]!.querySelector('input.option-en')!, 'Price');
    await el.updateComplete;
    expect(rows()[1]!.classList.contains('archived')).to.be.true;
    await expect(el).to.be.accessible();
    setTimeout(() => $<HTMLButtonElement>(el, 'form.editor button[type="submit"]').click());
    await oneEvent(el, 'sp-fields-changed');
    expect(sent).to.have.length(1);
    expect(sent[0]!.method).to.equal('PATCH');
    expect(sent[0]!.url).to.equal('/api/v1/fields/opportunity/lostReason');
    expect(sent[0]!.body).to.deep.equal({
      label: { zh: '输单原因', en: 'Lost reason' },
      required: true,
      options: [
        { value: 'price', label: { zh: '价格过高', en: 'Too expensive' } },
        { value: 'competitor', label: { zh: '竞争对手', en: 'Competitor' }, archived: true },
        { value: 'noBudget', label: { zh: '无预算', en: 'No budget' } },
        { value: 'other', label: { zh: '其他', en: 'Other' } },
        { value: 'badTiming', label: { zh: '时机不对', en: 'Bad timing' } },
        { value: 'price2', label: { zh: '价格（年费）', en: 'Price' } },
      ],
    });
    // The list shows the reasons offered now.
    await until(() => rowOf(el, 'lostReason').textContent!.includes('Too expensive'), 2000, 'the renamed reason');
    expect(rowOf(el, 'lostReason').textContent).to.contain('Bad timing');
    expect(rowOf(el, 'lostReason').textContent).not.to.contain('Competitor');
  });

  it('archives a field after confirming, and shows why the server refused one (the processes using it)', async () => {
    const el = await manager();
    rowOf(el, 'tier').querySelector<HTMLButtonElement>('button.archive')!.click();
    await el.updateComplete;
    expect(rowOf(el, 'tier').textContent).to.contain('归档字段「客户级别」？');
    setTimeout(() => rowOf(el, 'tier').querySelector<HTMLButtonElement>('button.confirm')!.click());
    const changed = await oneEvent(el, 'sp-fields-changed');
    expect(changed.detail).to.deep.equal({ object: 'customer', key: 'tier', action: 'archive' });
    expect(sent).to.deep.equal([{ method: 'DELETE', url: '/api/v1/fields/customer/tier', body: undefined }]);
    await until(() => !rowOf(el, 'tier'), 2000, 'the field out of the list');
    expect($(el, 'details summary').textContent).to.contain('（2）');

    rowOf(el, 'industry').querySelector<HTMLButtonElement>('button.archive')!.click();
    await el.updateComplete;
    setTimeout(() => rowOf(el, 'industry').querySelector<HTMLButtonElement>('button.confirm')!.click());
    const error = await oneEvent(el, 'sp-error');
    expect(error.detail.code).to.equal('CONFLICT');
    await el.updateComplete;
    const alert = $(el, '.error[role="alert"]');
    expect(alert.textContent).to.contain('字段正被已发布的销售流程使用，不能归档');
    expect(alert.textContent).to.contain('重要客户销售流程');
    expect(rowOf(el, 'industry')).to.exist;
    await expect(el).to.be.accessible();
  });

  it('reorders fields with the keyboard (pick up, move, drop), announcing each step', async () => {
    const el = await manager();
    const row = rowOf(el, 'tier');
    row.focus();
    const key = (k: string) => row.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
    key('Enter');
    await el.updateComplete;
    expect($(el, '[role="status"]').textContent).to.contain('已拿起“客户级别”，位置 2/2');
    rowOf(el, 'tier').dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true }));
    await el.updateComplete;
    expect($$<HTMLElement>(el, 'ul.fields li[tabindex]').map((li) => li.dataset.key)).to.deep.equal([
      'tier',
      'industry',
    ]);
    setTimeout(() => rowOf(el, 'tier').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true })));
    const changed = await oneEvent(el, 'sp-fields-changed');
    expect(changed.detail.action).to.equal('reorder');
    expect(sent).to.deep.equal([
      { method: 'PUT', url: '/api/v1/fields/customer/order', body: { keys: ['tier', 'industry'] } },
    ]);
  });

  it('follows changes another admin makes (the fields stream), and warns an open editor of its field', async () => {
    const el = await manager();
    await until(() => streams.some((s) => !s.closed), 3000, 'the stream');
    rowOf(el, 'industry').querySelector<HTMLButtonElement>('button.edit')!.click();
    await el.updateComplete;
    // Elsewhere: industry renamed, a field added.
    fields.customer![1]!.label = { zh: '所属行业', en: 'Industry' };
    fields.customer!.push({ key: 'source', label: { zh: '客户来源', en: 'Source' }, type: 'text' });
    for (const s of streams) if (!s.closed) s.send('fields', { object: 'customer', key: 'industry', action: 'update' });
    await until(() => rowOf(el, 'source'), 2000, 'the field added elsewhere');
    expect(rowOf(el, 'industry').textContent).to.contain('所属行业');
    expect($(el, 'form.editor .note').textContent).to.contain('其他管理员刚刚修改了此字段');
    expect($(el, '.live').textContent).to.contain('实时');
  });

  it('manages the contact fields in a third tab: the built-in ones, and the roles as options to rename, add and archive', async () => {
    const el = await manager();
    $<HTMLButtonElement>(el, '#tab-opportunity').focus();
    $(el, '[role="tablist"]').dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
    await el.updateComplete;
    expect(el.object).to.equal('contact');
    expect(el.shadowRoot!.activeElement!.id).to.equal('tab-contact');
    await until(() => rowOf(el, 'role'), 2000, 'the contact fields');
    for (const key of ['name', 'title', 'phone']) {
      expect(rowOf(el, key).classList.contains('system')).to.be.true;
      expect(rowOf(el, key).textContent).to.contain('系统');
      expect(rowOf(el, key).querySelector('button')).to.equal(null);
    }
    expect(rowOf(el, 'role').textContent).to.contain('直接联系人 · 关键决策人 · 技术负责人 · 采购');
    await expect(el).to.be.accessible();

    rowOf(el, 'role').querySelector<HTMLButtonElement>('button.edit')!.click();
    await el.updateComplete;
    const rows = () => $$<HTMLLIElement>(el, 'ol.options li');
    type(rows()[1]!.querySelector('input.option-zh')!, '决策人');
    rows()[3]!.querySelector<HTMLButtonElement>('button.archive-option')!.click();
    $<HTMLButtonElement>(el, 'button.add-option').click();
    await el.updateComplete;
    type(rows()[4]!.querySelector('input.option-zh')!, '财务负责人');
    type(rows()[4]!.querySelector('input.option-en')!, 'Finance lead');
    await el.updateComplete;
    setTimeout(() => $<HTMLButtonElement>(el, 'form.editor button[type="submit"]').click());
    const changed = await oneEvent(el, 'sp-fields-changed');
    expect(changed.detail).to.deep.equal({ object: 'contact', key: 'role', action: 'update' });
    expect(sent).to.deep.equal([
      {
        method: 'PATCH',
        url: '/api/v1/fields/contact/role',
        body: {
          label: { zh: '联系人角色', en: 'Contact role' },
          required: false,
          options: [
            { value: 'direct', label: { zh: '直接联系人', en: 'Direct contact' } },
            { value: 'decisionMaker', label: { zh: '决策人', en: 'Decision maker' } },
            { value: 'technical', label: { zh: '技术负责人', en: 'Technical lead' } },
            { value: 'procurement', label: { zh: '采购', en: 'Procurement' }, archived: true },
            { value: 'financeLead', label: { zh: '财务负责人', en: 'Finance lead' } },
          ],
        },
      },
    ]);
    await until(() => rowOf(el, 'role').textContent!.includes('财务负责人'), 2000, 'the roles offered now');
    expect(rowOf(el, 'role').textContent).to.contain('直接联系人 · 决策人 · 技术负责人 · 财务负责人');

    // A contact field of the tenant's own.
    $<HTMLButtonElement>(el, 'button.add').click();
    await el.updateComplete;
    expect($(el, '#editor-title').textContent).to.equal('添加联系人字段');
    type($(el, 'input[name="key"]'), 'wechat');
    type($(el, 'input[name="zh"]'), '微信');
    setTimeout(() => $<HTMLButtonElement>(el, 'form.editor button[type="submit"]').click());
    await oneEvent(el, 'sp-fields-changed');
    expect(sent.at(-1)).to.deep.include({ method: 'POST', url: '/api/v1/fields/contact' });
    await until(() => rowOf(el, 'wechat'), 2000, 'the new contact field');
  });
});
