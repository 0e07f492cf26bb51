import { FORM_ROOT, SERVER_ROOT } from '@sales-process/core';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import * as Y from 'yjs';
import '../index.js';
import { opportunityFixture } from '../testing/fixtures.js';
import { json, until } from '../testing/network.js';
import type { StageFeedbackForm } from './stage-feedback-form.js';

const L = (zh: string, en = zh) => ({ zh, en });
const ROLE_FIELD = {
  key: 'role',
  type: 'multiselect',
  label: L('角色', 'Role'),
  options: [
    { value: 'directContact', label: L('直接联系人', 'Direct contact') },
    { value: 'decisionMaker', label: L('关键决策人', 'Decision maker') },
    { value: 'technical', label: L('技术负责人', 'Technical lead') },
    { value: 'purchasing', label: L('采购', 'Purchasing'), archived: true },
  ],
};
const GATES = [
  { gate: 'minContacts', have: 1, need: 2, met: false, message: L('客户至少需要 2 个联系人（现有 1 个）') },
  {
    gate: 'contactRole',
    role: 'directContact',
    met: true,
    message: L('客户还没有“直接联系人”角色的联系人', 'The customer has no contact with the role "Direct contact"'),
  },
  {
    gate: 'contactRole',
    role: 'decisionMaker',
    met: false,
    message: L('客户还没有“关键决策人”角色的联系人', 'The customer has no contact with the role "Decision maker"'),
  },
];

function docWith(gates: unknown[]) {
  const doc = new Y.Doc();
  const server = doc.getMap(SERVER_ROOT);
  for (const [k, v] of Object.entries({ ...opportunityFixture({ gates: gates as never }), formFields: [] }))
    server.set(k, v);
  doc.getMap(FORM_ROOT);
  return doc;
}

describe('<stage-feedback-form> contact gates and roles', () => {
  const realFetch = window.fetch;
  let calls: { url: string; method: string; body: unknown }[] = [];
  let reply: (url: string, method: string) => Response;
  beforeEach(() => {
    calls = [];
    window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
      const call = {
        url: String(input),
        method: init?.method ?? 'GET',
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
      };
      calls.push(call);
      return reply(call.url, call.method);
    }) as typeof fetch;
  });
  afterEach(() => (window.fetch = realFetch));

  const $ = <T extends Element>(el: StageFeedbackForm, sel: string) => el.shadowRoot!.querySelector<T>(sel);
  const form = (gates: unknown[], lang = 'zh-CN', disabled = false) =>
    fixture<StageFeedbackForm>(
      html`<stage-feedback-form lang=${lang} base-url="http://x" token="t" opportunity-id="opp_1" ?disabled=${disabled} .doc=${docWith(gates)}></stage-feedback-form>`,
    );
  const gateLines = (el: StageFeedbackForm) =>
    [...el.shadowRoot!.querySelectorAll('.contacts li')].map((li) => [li.className, li.textContent!.trim()]);

  it('shows each contact gate met or not, and adds a contact with the roles it holds', async () => {
    reply = (url) => (url.endsWith('/fields/contact') ? json(200, { items: [ROLE_FIELD] }) : json(201, { id: 'c9' }));
    const el = await form(GATES);
    await until(() => $(el, '.contacts fieldset'), 3000, 'the roles');
    await el.updateComplete;
    expect(gateLines(el)).to.deep.equal([
      ['unmet', '✗ 客户联系人：1/2 (未满足)'],
      ['met', '✓ 已有“直接联系人”角色的联系人 (已满足)'],
      ['unmet', '✗ 客户还没有“关键决策人”角色的联系人 (未满足)'],
    ]);
    // The options of contact.role, archived ones left out; the ones this stage still needs are marked.
    const roles = [...el.shadowRoot!.querySelectorAll<HTMLInputElement>('.contacts input[name="roles"]')];
    expect(roles.map((r) => [r.value, r.parentElement!.textContent!.trim()])).to.deep.equal([
      ['directContact', '直接联系人'],
      ['decisionMaker', '关键决策人（本阶段需要）'],
      ['technical', '技术负责人'],
    ]);
    await expect(el).to.be.accessible();
    $<HTMLInputElement>(el, '.contacts input[name="name"]')!.value = '林总';
    $<HTMLInputElement>(el, '.contacts input[name="title"]')!.value = 'CIO';
    roles[1]!.checked = true;
    roles[2]!.checked = true;
    $<HTMLButtonElement>(el, '.contacts button[type="submit"]')!.click();
    await until(() => calls.some((c) => c.method === 'POST'), 2000, 'the contact post');
    expect(calls.find((c) => c.method === 'POST')).to.deep.equal({
      url: 'http://x/api/v1/customers/cus_1/contacts',
      method: 'POST',
      body: { name: '林总', title: 'CIO', roles: ['decisionMaker', 'technical'] },
    });
    await until(() => !$<HTMLInputElement>(el, '.contacts input[name="name"]')!.value, 2000, 'the form reset');
  });

  it('asks no roles of the server and shows no form once every contact gate is met; without one, loads nothing', async () => {
    reply = (url) => (url.endsWith('/fields/contact') ? json(200, { items: [ROLE_FIELD] }) : json(404, {}));
    const met = GATES.map((g) => ({ ...g, met: true }));
    const el = await form(met);
    await until(() => $(el, '.contacts li'), 3000, 'the contact gates');
    await until(() => calls.length, 2000, 'the roles');
    await el.updateComplete;
    expect($(el, '.contacts form')).to.be.null;
    expect(gateLines(el).map(([c]) => c)).to.deep.equal(['met', 'met', 'met']);
    calls = [];
    const none = await form([]);
    await new Promise((r) => setTimeout(r, 50));
    expect($(none, '.contacts')).to.be.null;
    expect(calls).to.deep.equal([]);
  });

  it('speaks English, and shows no form when the form is disabled', async () => {
    reply = () => json(200, { items: [ROLE_FIELD] });
    const el = await form(GATES, 'en', true);
    await until(() => $(el, '.contacts li'), 3000, 'the contact gates');
    await until(() => el.shadowRoot!.textContent!.includes('Direct contact'), 2000, 'the role names');
    expect(gateLines(el).map(([, text]) => text)).to.deep.equal([
      '✗ Customer contacts: 1/2 (not met)',
      '✓ A contact has the role "Direct contact" (met)',
      '✗ The customer has no contact with the role "Decision maker" (not met)',
    ]);
    expect($(el, '.contacts form')).to.be.null;
  });

  it("shows the server's refusal of a contact, and still adds one when the roles cannot be loaded", async () => {
    let refuse = true;
    reply = (url, method) =>
      url.endsWith('/fields/contact')
        ? json(500, { error: { code: 'INTERNAL', message: 'boom' } })
        : method === 'POST' && refuse
          ? json(400, {
              error: {
                code: 'VALIDATION_FAILED',
                message: 'bad',
                messages: { zh: '请求内容不正确', en: 'The request is not valid' },
                details: [],
              },
            })
          : json(201, { id: 'c9' });
    const el = await form(GATES);
    await until(() => $(el, '.contacts form'), 3000, 'the contact form');
    await until(() => calls.some((c) => c.url.endsWith('/fields/contact')), 2000, 'the roles request');
    await el.updateComplete;
    expect($(el, '.contacts fieldset')).to.be.null;
    $<HTMLInputElement>(el, '.contacts input[name="name"]')!.value = '林总';
    setTimeout(() => $<HTMLButtonElement>(el, '.contacts button[type="submit"]')!.click());
    const error = await oneEvent(el, 'sp-error');
    expect(error.detail.code).to.equal('VALIDATION_FAILED');
    await el.updateComplete;
    expect($(el, '.contacts [role="alert"]')!.textContent).to.equal('请求内容不正确');
    refuse = false;
    $<HTMLButtonElement>(el, '.contacts button[type="submit"]')!.click();
    await until(() => !$(el, '.contacts [role="alert"]'), 2000, 'the message to go');
    expect(calls.filter((c) => c.method === 'POST').at(-1)!.body).to.deep.equal({ name: '林总' });
  });
});
