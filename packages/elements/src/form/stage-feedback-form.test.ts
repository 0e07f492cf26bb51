import { FORM_ROOT, SERVER_ROOT } from '@sales-process/core';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import * as Y from 'yjs';
import '../index.js';
import { opportunityFixture } from '../testing/fixtures.js';
import { FakeSocket, fakeJwt, fakeSyncServer, headersOf, json, until } from '../testing/network.js';
import type { StageFeedbackForm } from './stage-feedback-form.js';

const L = (zh: string, en = zh) => ({ zh, en });
const OPTIONS = [
  { value: 'a', label: L('甲', 'A') },
  { value: 'b', label: L('乙', 'B') },
];
const FIELDS = [
  {
    source: 'stage',
    key: 'notes',
    type: 'textarea',
    required: true,
    label: L('拜访记录', 'Visit notes'),
    options: null,
  },
  { source: 'stage', key: 'title', type: 'text', required: false, label: L('标题'), options: null },
  { source: 'opportunity', key: 'amount', type: 'currency', required: false, label: L('金额'), options: null },
  { source: 'stage', key: 'count', type: 'number', required: false, label: L('人数'), options: null },
  {
    source: 'opportunity',
    key: 'expectedCloseDate',
    type: 'date',
    required: false,
    label: L('预计成交日期'),
    options: null,
  },
  { source: 'stage', key: 'meetAt', type: 'datetime', required: false, label: L('会面时间'), options: null },
  { source: 'stage', key: 'signed', type: 'boolean', required: false, label: L('已签约'), options: null },
  { source: 'customer', key: 'industry', type: 'select', required: false, label: L('行业'), options: OPTIONS },
  { source: 'stage', key: 'tags', type: 'multiselect', required: false, label: L('标签'), options: OPTIONS },
  { source: 'stage', key: 'mail', type: 'email', required: false, label: L('邮箱'), options: null },
  { source: 'stage', key: 'tel', type: 'phone', required: false, label: L('电话'), options: null },
  { source: 'stage', key: 'site', type: 'url', required: false, label: L('网址'), options: null },
  { source: 'stage', key: 'helper', type: 'user', required: false, label: L('协助人'), options: null },
  { source: 'stage', key: 'doc', type: 'file', required: false, label: L('方案文件'), options: null },
];

function docWith(values: Record<string, unknown> = {}, gates: unknown[] = []) {
  const doc = new Y.Doc();
  const server = doc.getMap(SERVER_ROOT);
  for (const [k, v] of Object.entries({ ...opportunityFixture({ gates: gates as never }), formFields: FIELDS }))
    server.set(k, v);
  const form = doc.getMap(FORM_ROOT);
  for (const [k, v] of Object.entries(values)) form.set(k, v);
  return doc;
}

const q = <T extends Element>(el: StageFeedbackForm, sel: string) => el.shadowRoot!.querySelector<T>(sel)!;
const field = <T extends Element>(el: StageFeedbackForm, key: string) => q<T>(el, `[data-key="${key}"]`);
async function type(el: StageFeedbackForm, key: string, value: string) {
  const input = field<HTMLInputElement>(el, key);
  input.value = value;
  input.dispatchEvent(new Event('input'));
  input.dispatchEvent(new Event('change'));
  await el.updateComplete;
}

describe('<stage-feedback-form>', () => {
  it('shows the stage, its requirements and one labelled control per field type', async () => {
    const el = await fixture<StageFeedbackForm>(
      html`<stage-feedback-form opportunity-id="opp_1" .doc=${docWith()}></stage-feedback-form>`,
    );
    expect(q(el, 'h3').textContent).to.equal('需求分析匹配');
    expect(q(el, '.requirements').textContent).to.contain('梳理客户需求');
    const kinds = FIELDS.map((f) => {
      const c = field<HTMLElement>(el, `${f.source}.${f.key}`);
      return c.tagName === 'INPUT' ? (c as HTMLInputElement).type : c.tagName.toLowerCase();
    });
    expect(kinds).to.deep.equal([
      'textarea',
      'text',
      'number',
      'number',
      'date',
      'datetime-local',
      'checkbox',
      'select',
      'fieldset',
      'email',
      'tel',
      'url',
      'text',
      'file',
    ]);
    expect(q(el, 'label[for="f-stage_notes"]').textContent).to.contain('拜访记录');
  });

  it('writes typed values into the live doc, by type', async () => {
    const doc = docWith();
    const el = await fixture<StageFeedbackForm>(
      html`<stage-feedback-form opportunity-id="opp_1" .doc=${doc}></stage-feedback-form>`,
    );
    await type(el, 'stage.notes', '见了林总');
    await type(el, 'opportunity.amount', '1200.5');
    await type(el, 'stage.count', '');
    await type(el, 'opportunity.expectedCloseDate', '2027-03-31');
    const check = field<HTMLInputElement>(el, 'stage.signed');
    check.click();
    const select = field<HTMLSelectElement>(el, 'customer.industry');
    select.value = 'b';
    select.dispatchEvent(new Event('change'));
    const boxes = el.shadowRoot!.querySelectorAll<HTMLInputElement>('[data-key="stage.tags"] input');
    boxes[0]!.click();
    boxes[1]!.click();
    await el.updateComplete;
    expect(doc.getMap(FORM_ROOT).toJSON()).to.deep.equal({
      'stage.notes': '见了林总',
      'opportunity.amount': 1200.5,
      'stage.count': null,
      'opportunity.expectedCloseDate': '2027-03-31',
      'stage.signed': true,
      'customer.industry': 'b',
      'stage.tags': ['a', 'b'],
    });
  });

  it('shows values others typed, as they arrive', async () => {
    const doc = docWith({ 'stage.notes': '第一版' });
    const el = await fixture<StageFeedbackForm>(
      html`<stage-feedback-form opportunity-id="opp_1" .doc=${doc}></stage-feedback-form>`,
    );
    expect(field<HTMLTextAreaElement>(el, 'stage.notes').value).to.equal('第一版');
    doc.getMap(FORM_ROOT).set('stage.notes', '第二版');
    await el.updateComplete;
    expect(field<HTMLTextAreaElement>(el, 'stage.notes').value).to.equal('第二版');
  });

  it('marks bad values and missing required ones, in words', async () => {
    const el = await fixture<StageFeedbackForm>(
      html`<stage-feedback-form opportunity-id="opp_1" .doc=${docWith({ 'stage.mail': 'nope' })}></stage-feedback-form>`,
    );
    expect(field(el, 'stage.mail').getAttribute('aria-invalid')).to.equal('true');
    expect(el.shadowRoot!.textContent).to.contain('邮箱格式不正确');
    expect(el.checkValidity()).to.be.false;
    expect(el.validity.valueMissing).to.be.true;
    expect(el.validationMessage).to.equal('请填写“拜访记录”');
    el.reportValidity();
    await el.updateComplete;
    expect(field(el, 'stage.notes').getAttribute('aria-invalid')).to.equal('true');
  });

  it('takes part in a host <form>: value, validity and native events', async () => {
    const doc = docWith();
    const form = await fixture<HTMLFormElement>(
      html`<form><stage-feedback-form name="stageForm" opportunity-id="opp_1" .doc=${doc}></stage-feedback-form></form>`,
    );
    const el = form.querySelector('stage-feedback-form')!;
    await el.updateComplete;
    expect(el.form).to.equal(form);
    expect(form.checkValidity()).to.be.false;
    let inputs = 0;
    let changes = 0;
    form.addEventListener('input', () => inputs++);
    form.addEventListener('change', () => changes++);
    await type(el, 'stage.notes', '记录');
    expect(inputs).to.be.greaterThan(0);
    expect(changes).to.be.greaterThan(0);
    expect(form.checkValidity()).to.be.true;
    expect(JSON.parse(String(new FormData(form).get('stageForm')))).to.deep.equal({ 'stage.notes': '记录' });
  });

  it('asks for contacts when the stage needs more, with an inline form', async () => {
    const el = await fixture<StageFeedbackForm>(
      html`<stage-feedback-form opportunity-id="opp_1" .doc=${docWith({}, [{ gate: 'minContacts', have: 1, need: 2, met: false, message: L('x') }])}></stage-feedback-form>`,
    );
    // The contact gates' chunk loads when a stage first has one.
    await until(() => el.shadowRoot!.querySelector('.contacts form'), 3000, 'the contact gates');
    expect(q(el, '.contacts').textContent).to.contain('客户联系人：1/2');
    expect(q(el, '.contacts form input[name="name"]')).to.exist;
  });

  it('speaks English', async () => {
    const el = await fixture<StageFeedbackForm>(
      html`<stage-feedback-form lang="en" opportunity-id="opp_1" .doc=${docWith()}></stage-feedback-form>`,
    );
    expect(q(el, 'label[for="f-stage_notes"]').textContent).to.contain('Visit notes');
    expect(el.shadowRoot!.textContent).to.contain('Stage requirements');
  });

  it('is accessible', async () => {
    const el = await fixture<StageFeedbackForm>(
      html`<stage-feedback-form opportunity-id="opp_1" .doc=${docWith({}, [{ gate: 'minContacts', have: 1, need: 2, met: false, message: L('x') }])}></stage-feedback-form>`,
    );
    await until(() => el.shadowRoot!.querySelector('.contacts form'), 3000, 'the contact gates');
    await expect(el).to.be.accessible();
  });

  it('follows a surrounding <fieldset>: disabled then enabled, it is in FormData again', async () => {
    const form = await fixture<HTMLFormElement>(
      html`<form><fieldset><stage-feedback-form name="stageForm" opportunity-id="opp_1" .doc=${docWith({ 'stage.notes': '记录' })}></stage-feedback-form></fieldset></form>`,
    );
    const fieldset = form.querySelector('fieldset')!;
    const el = form.querySelector('stage-feedback-form')!;
    await el.updateComplete;
    expect(new FormData(form).has('stageForm')).to.be.true;
    fieldset.disabled = true;
    await el.updateComplete;
    expect(new FormData(form).has('stageForm')).to.be.false;
    expect(field<HTMLTextAreaElement>(el, 'stage.notes').disabled).to.be.true;
    fieldset.disabled = false;
    await el.updateComplete;
    expect(el.disabled).to.be.false;
    expect(el.hasAttribute('disabled')).to.be.false;
    expect(field<HTMLTextAreaElement>(el, 'stage.notes').disabled).to.be.false;
    expect(JSON.parse(String(new FormData(form).get('stageForm')))).to.deep.equal({ 'stage.notes': '记录' });
  });

  it('downloads a file through a short-lived link, never with the token in a URL', async () => {
    const realFetch = window.fetch;
    const realClick = HTMLAnchorElement.prototype.click;
    const posted: { url: string; headers: Record<string, string> }[] = [];
    const navigated: { href: string; download: string }[] = [];
    window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
      posted.push({ url: String(input), headers: headersOf(init) });
      return json(200, { url: '/api/v1/files/f1/content?sig=abc', expiresAt: '2026-12-02T01:05:00Z' });
    }) as typeof fetch;
    HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
      navigated.push({ href: this.href, download: this.download });
    };
    try {
      const el = await fixture<StageFeedbackForm>(
        html`<stage-feedback-form base-url="http://x" token="secret-token" opportunity-id="opp_1" .doc=${docWith({ 'stage.doc': { id: 'f1', name: '方案.pdf', size: 2048, type: 'application/pdf' } })}></stage-feedback-form>`,
      );
      expect(el.shadowRoot!.innerHTML).not.to.contain('secret-token');
      q<HTMLButtonElement>(el, '[part="file-link"]').click();
      await until(() => navigated.length, 2000, 'the navigation');
      const link = posted.find((p) => p.url === 'http://x/api/v1/files/f1/link')!;
      expect(link.headers.authorization).to.equal('Bearer secret-token');
      expect(navigated).to.deep.equal([{ href: 'http://x/api/v1/files/f1/content?sig=abc', download: '方案.pdf' }]);
    } finally {
      window.fetch = realFetch;
      HTMLAnchorElement.prototype.click = realClick;
    }
  });

  it('a value typed just before adding a contact reaches the server before the contact', async () => {
    // A fake live server that handles each message 150 ms after it arrives, in order.
    const serverDoc = new Y.Doc();
    const server = serverDoc.getMap(SERVER_ROOT);
    for (const [k, v] of Object.entries({
      ...opportunityFixture({
        gates: [{ gate: 'minContacts', have: 1, need: 2, met: false, message: L('x') }] as never,
      }),
      formFields: FIELDS,
    }))
      server.set(k, v);
    const restore = FakeSocket.install();
    fakeSyncServer(serverDoc, 150);
    const realFetch = window.fetch;
    let notesAtPost: unknown = 'no post';
    window.fetch = (async (input: RequestInfo) => {
      if (String(input).includes('/contacts')) notesAtPost = serverDoc.getMap(FORM_ROOT).get('stage.notes') ?? null;
      return String(input).includes('/directory') ? json(200, { users: [] }) : json(201, {});
    }) as typeof fetch;
    try {
      const el = await fixture<StageFeedbackForm>(
        html`<stage-feedback-form base-url="http://x" token="t" opportunity-id="opp_flush" no-offline></stage-feedback-form>`,
      );
      await until(() => el.shadowRoot!.querySelector('.contacts form'), 3000, 'the form from the server');
      await until(() => (el as unknown as { live: { connected: boolean } }).live.connected, 1000, 'the socket');
      await type(el, 'stage.notes', '见了林总');
      q<HTMLInputElement>(el, '.contacts input[name="name"]').value = '林总';
      q<HTMLButtonElement>(el, '.contacts button[type="submit"]').click();
      await until(() => notesAtPost !== 'no post', 3000, 'the contact post');
      expect(notesAtPost).to.equal('见了林总');
    } finally {
      window.fetch = realFetch;
      restore();
    }
  });

  it("shows its user to the others by the token's subject, read once per token, not on every keystroke", async () => {
    const serverDoc = new Y.Doc();
    for (const [k, v] of Object.entries({ ...opportunityFixture(), formFields: FIELDS }))
      serverDoc.getMap(SERVER_ROOT).set(k, v);
    const restore = FakeSocket.install();
    fakeSyncServer(serverDoc, 0);
    const realFetch = window.fetch;
    window.fetch = (async () => json(200, { users: [] })) as typeof fetch;
    const realAtob = window.atob;
    let decoded = 0;
    window.atob = (s: string) => (decoded++, realAtob(s));
    try {
      const el = await fixture<StageFeedbackForm>(
        html`<stage-feedback-form base-url="http://x" .token=${fakeJwt({ sub: 'u_zhang' })} opportunity-id="opp_presence" no-offline></stage-feedback-form>`,
      );
      await until(() => el.shadowRoot!.querySelector('[data-key="stage.notes"]'), 3000, 'the form from the server');
      const me = () =>
        (
          el as unknown as {
            live: { live: { provider: { awareness: { getLocalState(): { user?: { name: string } } | null } } } };
          }
        ).live.live.provider.awareness.getLocalState()?.user?.name;
      expect(me()).to.equal('u_zhang');
      const before = decoded;
      for (const text of ['见', '见了', '见了林', '见了林总']) await type(el, 'stage.notes', text);
      expect(decoded - before).to.equal(0);
      el.token = fakeJwt({ sub: 'u_li' });
      await el.updateComplete;
      expect(me()).to.equal('u_li');
    } finally {
      window.atob = realAtob;
      window.fetch = realFetch;
      restore();
    }
  });

  it('says so within about 5 s when the live connection cannot open and nothing is stored locally', async () => {
    const restore = FakeSocket.install();
    FakeSocket.behaviour = () => 'refuse';
    // REST answers (a proxy that drops websockets, say): the live connection is what failed.
    const realFetch = window.fetch;
    window.fetch = (async () => json(200, opportunityFixture())) as typeof fetch;
    try {
      const started = Date.now();
      const el = await fixture<StageFeedbackForm>(
        html`<stage-feedback-form lang="en" base-url="http://x" token="t" opportunity-id="opp_unreachable" no-offline></stage-feedback-form>`,
      );
      const event = await oneEvent(el, 'sp-error');
      expect(event.detail).to.include({ code: 'NETWORK', status: 0 });
      expect(Date.now() - started).to.be.lessThan(6000);
      await el.updateComplete;
      expect(q(el, '[part="error"]').textContent).to.contain('Cannot open the live connection');
      expect(q(el, '[part="retry"]')).to.exist;
      expect(el.shadowRoot!.querySelector('[aria-busy]')).to.be.null;
    } finally {
      window.fetch = realFetch;
      restore();
    }
  });

  it('names the cause when its live connection is refused: here, no access', async () => {
    const restore = FakeSocket.install();
    FakeSocket.behaviour = () => 'refuse';
    const realFetch = window.fetch;
    window.fetch = (async () => json(403, { error: { code: 'FORBIDDEN', message: 'not yours' } })) as typeof fetch;
    try {
      const el = await fixture<StageFeedbackForm>(
        html`<stage-feedback-form base-url="http://x" token="t" opportunity-id="opp_other" no-offline></stage-feedback-form>`,
      );
      const event = await oneEvent(el, 'sp-error');
      expect(event.detail).to.include({ code: 'FORBIDDEN', status: 403 });
      await el.updateComplete;
      expect(q(el, '[part="error"]').textContent).to.contain('没有权限查看此内容');
      expect(el.shadowRoot!.querySelector('[part="retry"]')).to.be.null;
    } finally {
      window.fetch = realFetch;
      restore();
    }
  });
});
