import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import type { OpportunityView } from '@sales-process/core';
import '../index.js';
import { opportunityFixture } from '../testing/fixtures.js';
import { fakeJwt, headersOf, until } from '../testing/network.js';
import type { OpportunityStagePath } from './opportunity-stage-path.js';

const L = (zh: string, en = zh) => ({ zh, en });
const USERS = [
  { id: 'sun', name: '孙七', roles: ['sales'] },
  { id: 'zhang', name: '张三', roles: ['sales'] },
  { id: 'li', name: '李经理', roles: ['supervisor', 'sales'] },
  { id: 'chen', name: '陈工', roles: ['postsale'] },
];
const PREVIEW = {
  processId: 'proc_2',
  processName: '大客户流程',
  version: 3,
  landing: { stageId: 'needs', stageName: '需求分析匹配', reason: 'sameId' },
  stages: [
    { id: 'visit', name: '初次拜访' },
    { id: 'needs', name: '需求分析匹配' },
    { id: 'poc', name: '测试验证' },
  ],
  gates: [
    { gate: 'minContacts', have: 3, need: 2, met: true, message: L('客户至少需要 2 个联系人（现有 3 个）') },
    {
      gate: 'contactRole',
      role: 'decisionMaker',
      met: false,
      message: L('客户还没有“关键决策人”角色的联系人', 'The customer has no contact with the role "Decision maker"'),
    },
  ],
};

interface Call {
  url: string;
  method: string;
  body: unknown;
  headers: Record<string, string>;
}

describe('<opportunity-stage-path> more actions (edit, reassign, reopen, change process)', () => {
  const realFetch = window.fetch;
  let calls: Call[] = [];
  let reply: (url: string, method: string, body: unknown) => Response;
  beforeEach(() => {
    calls = [];
    window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
      const call = {
        url: String(input),
        method: init?.method ?? 'GET',
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
        headers: headersOf(init),
      };
      calls.push(call);
      return reply(call.url, call.method, call.body);
    }) as typeof fetch;
  });
  afterEach(() => (window.fetch = realFetch));
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

  const $ = <T extends Element>(el: OpportunityStagePath, sel: string) => el.shadowRoot!.querySelector<T>(sel);
  const menuItems = (el: OpportunityStagePath) =>
    [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('[role="menuitem"]')].map((b) => b.textContent!.trim());

  async function path(
    user: { sub: string; roles: string[] },
    o: OpportunityView = opportunityFixture(),
    lang = 'zh-CN',
  ) {
    return fixture<OpportunityStagePath>(
      html`<opportunity-stage-path lang=${lang} base-url="http://x" .token=${fakeJwt(user)} .live=${false} .opportunity=${o}></opportunity-stage-path>`,
    );
  }
  async function openMenu(el: OpportunityStagePath) {
    $<HTMLButtonElement>(el, '[part~="more"]')!.click();
    await until(() => $(el, '[role="menu"]'), 3000, 'the menu');
    await el.updateComplete;
  }
  async function openDialog(el: OpportunityStagePath, action: string) {
    await openMenu(el);
    $<HTMLButtonElement>(el, `[role="menuitem"][data-action="${action}"]`)!.click();
    await until(() => $<HTMLDialogElement>(el, 'dialog')?.open, 2000, 'the dialog');
    return $<HTMLDialogElement>(el, 'dialog')!;
  }
  const submit = (dialog: HTMLDialogElement) =>
    dialog.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
  const set = (dialog: HTMLDialogElement, name: string, value: string) => {
    const control = dialog.querySelector<HTMLInputElement | HTMLSelectElement>(`[name="${name}"]`)!;
    control.value = value;
    control.dispatchEvent(new Event('change', { bubbles: true }));
  };

  it('offers the menu to the owner only among salespeople; it opens, moves with the arrows and closes with Escape', async () => {
    reply = () => json(200, {});
    const staff = await path({ sub: 'chen', roles: ['postsale'] });
    expect($(staff, '[part~="more"]')).to.be.null;

    const el = await path({ sub: 'sun', roles: ['sales'] });
    const more = $<HTMLButtonElement>(el, '[part~="more"]')!;
    expect(more.getAttribute('aria-haspopup')).to.equal('menu');
    expect(more.getAttribute('aria-expanded')).to.equal('false');
    await openMenu(el);
    expect(more.getAttribute('aria-expanded')).to.equal('true');
    // Open and pre-sale, the owner: edit and change process (reassigning is for supervisors and admins).
    expect(menuItems(el)).to.deep.equal(['编辑商机', '更换销售流程']);
    expect(el.shadowRoot!.activeElement!.textContent!.trim()).to.equal('编辑商机');
    await expect(el).to.be.accessible();
    const menu = $<HTMLElement>(el, '[role="menu"]')!;
    menu.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    expect(el.shadowRoot!.activeElement!.textContent!.trim()).to.equal('更换销售流程');
    menu.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    expect(el.shadowRoot!.activeElement!.textContent!.trim()).to.equal('编辑商机');
    menu.dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
    expect(el.shadowRoot!.activeElement!.textContent!.trim()).to.equal('更换销售流程');
    menu.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    await el.updateComplete;
    expect($(el, '[role="menu"]')).to.be.null;
    expect(el.shadowRoot!.activeElement).to.equal(more);
    expect(more.getAttribute('aria-expanded')).to.equal('false');
    // A click outside closes it too.
    await openMenu(el);
    document.body.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, composed: true }));
    await el.updateComplete;
    expect($(el, '[role="menu"]')).to.be.null;
  });

  it('offers reassigning to the supervisor and to admins, and reopening a won one to admins only', async () => {
    reply = () => json(200, {});
    expect(menuItems(await openedFor({ sub: 'li', roles: ['supervisor', 'sales'] }))).to.deep.equal([
      '编辑商机',
      '转移负责人',
      '更换销售流程',
    ]);
    const won = opportunityFixture({ status: 'won', phase: 'done', stageId: 'acceptance', actions: ['reopen'] });
    expect(menuItems(await openedFor({ sub: 'sun', roles: ['sales'] }, won))).to.deep.equal(['编辑商机']);
    expect(menuItems(await openedFor({ sub: 'admin', roles: ['admin'] }, won))).to.deep.equal(['编辑商机', '重新打开']);
    // A process that does not allow reopening: the view offers no `reopen`.
    const lost = opportunityFixture({ status: 'lost', phase: 'done', actions: [] });
    expect(menuItems(await openedFor({ sub: 'sun', roles: ['sales'] }, lost))).to.deep.equal(['编辑商机']);

    async function openedFor(user: { sub: string; roles: string[] }, o?: OpportunityView) {
      const el = await path(user, o);
      await openMenu(el);
      return el;
    }
  });

  it('edits name, amount, currency and close date: only what changed, with If-Match, then the new view and an event', async () => {
    const edited = opportunityFixture({ amount: 2_500_000, expectedCloseDate: '2027-03-31' });
    reply = (_url, method) =>
      method === 'PATCH' ? json(200, edited, { etag: 'W/"8"' }) : json(200, opportunityFixture(), { etag: 'W/"7"' });
    const el = await path({ sub: 'sun', roles: ['sales'] });
    const dialog = await openDialog(el, 'edit');
    expect(dialog.getAttribute('aria-labelledby')).to.equal('sp-record-title');
    await until(() => dialog.querySelector('input[name="name"]'), 2000, 'the record');
    await el.updateComplete;
    expect(calls[0]).to.include({ url: 'http://x/api/v1/opportunities/opp_1', method: 'GET' });
    expect(dialog.querySelector<HTMLInputElement>('input[name="name"]')!.value).to.equal('宝钢股份 数据中台');
    expect(dialog.querySelector<HTMLInputElement>('input[name="currency"]')!.value).to.equal('CNY');
    expect(el.shadowRoot!.activeElement).to.equal(dialog.querySelector('input[name="name"]'));
    await expect(el).to.be.accessible();
    set(dialog, 'amount', '2500000');
    set(dialog, 'expectedCloseDate', '2027-03-31');
    set(dialog, 'reason', '客户追加预算');
    setTimeout(() => submit(dialog));
    const event = await oneEvent(el, 'sp-opportunity-edited');
    expect(event.detail).to.deep.equal({
      opportunityId: 'opp_1',
      changes: { amount: 2_500_000, expectedCloseDate: '2027-03-31' },
    });
    const patch = calls.find((c) => c.method === 'PATCH')!;
    expect(patch.url).to.equal('http://x/api/v1/opportunities/opp_1');
    expect(patch.body).to.deep.equal({ amount: 2_500_000, expectedCloseDate: '2027-03-31', reason: '客户追加预算' });
    expect(patch.headers['if-match']).to.equal('W/"7"');
    await until(() => !$(el, 'dialog'), 2000, 'the dialog to close');
    expect(el.opportunity!.amount).to.equal(2_500_000);
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~="more"]'));
  });

  it('edit: a record changed meanwhile says so and shows the values as they are now', async () => {
    let rev = 7;
    reply = (_url, method) =>
      method === 'PATCH'
        ? json(409, {
            error: {
              code: 'STALE_STATE',
              message: 'stale',
              messages: { zh: '商机已被他人更新', en: 'The opportunity changed' },
              details: [],
            },
          })
        : json(200, opportunityFixture({ name: rev === 7 ? '宝钢股份 数据中台' : '宝钢 数据中台二期' }), {
            etag: `W/"${rev++}"`,
          });
    const el = await path({ sub: 'sun', roles: ['sales'] });
    const dialog = await openDialog(el, 'edit');
    await until(() => dialog.querySelector('input[name="name"]'), 2000, 'the record');
    set(dialog, 'name', '宝钢 数据中台 V2');
    setTimeout(() => submit(dialog));
    const refused = await oneEvent(el, 'sp-transition-refused');
    expect(refused.detail).to.include({ action: 'edit', code: 'STALE_STATE' });
    await until(() => dialog.querySelector('[role="alert"]'), 2000, 'the message');
    expect(dialog.querySelector('[role="alert"]')!.textContent).to.contain('商机已被他人更新');
    await until(
      () => dialog.querySelector<HTMLInputElement>('input[name="name"]')!.value === '宝钢 数据中台二期',
      2000,
      'the fresh values',
    );
    expect(dialog.open).to.be.true;
  });

  it('reassigns to a salesperson from the directory (supervisor), with an event and a fresh view', async () => {
    let moved = false;
    reply = (url) => {
      if (url.endsWith('/directory')) return json(200, { departments: [], users: USERS });
      if (!url.endsWith('/reassign'))
        return json(200, moved ? opportunityFixture({ ownerId: 'zhang', ownerName: '张三' }) : opportunityFixture());
      moved = true;
      return json(200, {
        toOwnerId: 'zhang',
        moved: 1,
        refused: 0,
        items: [{ opportunityId: 'opp_1', result: 'moved', ownerId: 'zhang', etag: 'W/"9"' }],
      });
    };
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path opportunity-id="opp_1" base-url="http://x" .token=${fakeJwt({ sub: 'li', roles: ['supervisor'] })} .live=${false}></opportunity-stage-path>`,
    );
    await until(() => el.opportunity, 2000, 'the opportunity');
    await el.updateComplete;
    const dialog = await openDialog(el, 'reassign');
    await until(() => dialog.querySelector('select[name="toOwnerId"]'), 2000, 'the directory');
    expect(dialog.textContent).to.contain('当前负责人：孙七');
    // Salespeople other than the owner: the post-sale engineer and the owner are not offered.
    const offered = [...dialog.querySelectorAll('select[name="toOwnerId"] option')].map((o) => o.textContent);
    expect(offered).to.deep.equal(['请选择', '张三', '李经理']);
    await expect(el).to.be.accessible();
    set(dialog, 'toOwnerId', 'zhang');
    set(dialog, 'reason', '离职交接');
    setTimeout(() => submit(dialog));
    const event = await oneEvent(el, 'sp-opportunity-reassigned');
    expect(event.detail).to.deep.equal({
      opportunityId: 'opp_1',
      fromOwnerId: 'sun',
      toOwnerId: 'zhang',
      opportunityIds: ['opp_1'],
    });
    expect(calls.find((c) => c.url.endsWith('/reassign'))!.body).to.deep.equal({
      opportunityIds: ['opp_1'],
      toOwnerId: 'zhang',
      reason: '离职交接',
    });
    await until(() => el.opportunity!.ownerId === 'zhang', 2000, 'the fresh view');
  });

  it("hands over all of the owner's open opportunities in one request when asked to", async () => {
    reply = (url) => {
      if (url.endsWith('/directory')) return json(200, { departments: [], users: USERS });
      if (!url.endsWith('/reassign')) return json(200, opportunityFixture());
      return json(200, {
        toOwnerId: 'zhang',
        moved: 2,
        refused: 1,
        items: [
          { opportunityId: 'opp_0', result: 'moved', ownerId: 'zhang', etag: 'W/"3"' },
          { opportunityId: 'opp_1', result: 'moved', ownerId: 'zhang', etag: 'W/"9"' },
          { opportunityId: 'opp_2', result: 'refused', error: { code: 'FORBIDDEN', message: 'x' } },
        ],
      });
    };
    const el = await fixture<OpportunityStagePath>(
      html`<opportunity-stage-path opportunity-id="opp_1" base-url="http://x" .token=${fakeJwt({ sub: 'li', roles: ['supervisor'] })} .live=${false}></opportunity-stage-path>`,
    );
    await until(() => el.opportunity, 2000, 'the opportunity');
    await el.updateComplete;
    const dialog = await openDialog(el, 'reassign');
    await until(() => dialog.querySelector('select[name="toOwnerId"]'), 2000, 'the directory');
    expect(dialog.textContent).to.contain('同时转移 孙七 的全部进行中商机');
    set(dialog, 'toOwnerId', 'zhang');
    dialog.querySelector<HTMLInputElement>('input[name="allOfOwner"]')!.checked = true;
    setTimeout(() => submit(dialog));
    const event = await oneEvent(el, 'sp-opportunity-reassigned');
    expect(event.detail.opportunityIds).to.deep.equal(['opp_0', 'opp_1']);
    expect(calls.find((c) => c.url.endsWith('/reassign'))!.body).to.deep.equal({
      fromOwnerId: 'sun',
      toOwnerId: 'zhang',
    });
  });

  it("reassign: the server's refusal is shown in the dialog, per item and as a 403", async () => {
    let forbidden = false;
    reply = (url) =>
      url.endsWith('/directory')
        ? json(200, { departments: [], users: USERS })
        : forbidden
          ? json(403, {
              error: {
                code: 'FORBIDDEN',
                message: 'forbidden',
                messages: { zh: '只有管理员和直属上级可以转移商机', en: 'Only admins and the supervisor may reassign' },
                details: [],
              },
            })
          : json(200, {
              toOwnerId: 'zhang',
              moved: 0,
              refused: 1,
              items: [
                {
                  opportunityId: 'opp_1',
                  result: 'refused',
                  error: {
                    code: 'INVALID_TRANSITION',
                    message: '已结束的商机不能转移',
                    messages: { zh: '已结束的商机不能转移', en: 'A closed opportunity keeps its owner' },
                    details: [],
                  },
                },
              ],
            });
    const el = await path({ sub: 'admin', roles: ['admin'] });
    const dialog = await openDialog(el, 'reassign');
    await until(() => dialog.querySelector('select[name="toOwnerId"]'), 2000, 'the directory');
    set(dialog, 'toOwnerId', 'zhang');
    setTimeout(() => submit(dialog));
    const refused = await oneEvent(el, 'sp-transition-refused');
    expect(refused.detail).to.include({ action: 'reassign', code: 'INVALID_TRANSITION' });
    await el.updateComplete;
    expect(dialog.querySelector('[role="alert"]')!.textContent).to.equal('未能执行：已结束的商机不能转移');
    forbidden = true;
    setTimeout(() => submit(dialog));
    const error = await oneEvent(el, 'sp-error');
    expect(error.detail.code).to.equal('FORBIDDEN');
    await el.updateComplete;
    expect(dialog.querySelector('[role="alert"]')!.textContent).to.equal('未能执行：只有管理员和直属上级可以转移商机');
    expect(dialog.open).to.be.true;
  });

  it('reopens a lost one into a pre-sale stage (the one it closed from first), moving the path', async () => {
    const lost = opportunityFixture({
      status: 'lost',
      phase: 'done',
      stageId: 'solution',
      terminalName: '输单',
      winRate: 0,
      actions: ['reopen'],
    });
    reply = () => json(200, opportunityFixture({ stageId: 'needs' }));
    const el = await path({ sub: 'sun', roles: ['sales'] }, lost);
    await openMenu(el);
    expect(menuItems(el)).to.deep.equal(['编辑商机', '重新打开']);
    $<HTMLButtonElement>(el, '[data-action="reopen"]')!.click();
    await until(() => $<HTMLDialogElement>(el, 'dialog')?.open, 2000, 'the dialog');
    const dialog = $<HTMLDialogElement>(el, 'dialog')!;
    const stage = dialog.querySelector<HTMLSelectElement>('select[name="stageId"]')!;
    expect([...stage.options].map((o) => o.value)).to.deep.equal(['visit', 'needs', 'solution', 'quote']);
    expect(stage.value).to.equal('solution');
    await expect(el).to.be.accessible();
    set(dialog, 'stageId', 'needs');
    set(dialog, 'comment', '客户重新启动项目');
    setTimeout(() => submit(dialog));
    const changed = await oneEvent(el, 'sp-stage-changed');
    expect(changed.detail).to.deep.equal({
      opportunityId: 'opp_1',
      action: 'reopen',
      stageId: 'needs',
      status: 'open',
    });
    expect(calls[0]).to.deep.include({
      url: 'http://x/api/v1/opportunities/opp_1/reopen',
      method: 'POST',
      body: { stageId: 'needs', comment: '客户重新启动项目', expectedStageId: 'solution' },
    });
    await until(() => !$(el, 'dialog'), 2000, 'the dialog to close');
    expect($(el, 'li[aria-current="step"]')!.textContent).to.contain('需求分析匹配');
  });

  it('reopen: a refusal (the process does not allow it any more) stays in the dialog, in English too', async () => {
    reply = () =>
      json(422, {
        error: {
          code: 'INVALID_TRANSITION',
          message: 'no',
          messages: { zh: '不能重新打开', en: 'Cannot reopen' },
          details: [
            {
              rule: 'allowReopen',
              message: L('此销售流程不允许重新打开商机', 'This process does not allow reopening'),
            },
          ],
        },
      });
    const lost = opportunityFixture({ status: 'invalid', phase: 'done', actions: ['reopen'] });
    const el = await path({ sub: 'sun', roles: ['sales'] }, lost, 'en');
    const dialog = await openDialog(el, 'reopen');
    expect(dialog.querySelector('h3')!.textContent).to.equal('Reopen');
    setTimeout(() => submit(dialog));
    const refused = await oneEvent(el, 'sp-transition-refused');
    expect(refused.detail.details[0]).to.include({ rule: 'allowReopen' });
    await el.updateComplete;
    expect(dialog.querySelector('[role="alert"]')!.textContent).to.equal(
      'Not done: Cannot reopen；This process does not allow reopening',
    );
  });

  it('changes process: the processes the owner may use, a preview of where it lands and its gates, then confirm', async () => {
    reply = (url, method) => {
      if (url.includes('/processes?'))
        return json(200, {
          items: [
            { id: 'proc_1', name: '标准销售流程', applies: true },
            { id: 'proc_2', name: '大客户流程', applies: true },
            { id: 'proc_3', name: '硬件流程', applies: false, unmet: [] },
          ],
        });
      if (url.includes('/change-process?'))
        return json(
          200,
          url.includes('stageId=poc')
            ? {
                ...PREVIEW,
                landing: { stageId: 'poc', stageName: '测试验证', reason: 'chosen' },
                gates: [PREVIEW.gates[0]],
              }
            : PREVIEW,
        );
      if (method === 'POST') return json(200, opportunityFixture({ processId: 'proc_2', stageId: 'poc' }));
      return json(404, {});
    };
    const el = await path({ sub: 'sun', roles: ['sales'] });
    const dialog = await openDialog(el, 'changeProcess');
    await until(() => dialog.querySelector('select[name="processId"]'), 2000, 'the processes');
    const list = new URL(calls[0]!.url);
    expect(list.pathname).to.equal('/api/v1/processes');
    expect(Object.fromEntries(list.searchParams)).to.deep.equal({ usableBy: 'sun', customerId: 'cus_1', fields: '{}' });
    const options = [...dialog.querySelectorAll<HTMLOptionElement>('select[name="processId"] option')];
    // The current process is not offered; one whose conditions do not hold is shown, not choosable.
    expect(options.map((o) => [o.textContent, o.disabled])).to.deep.equal([
      ['请选择', false],
      ['大客户流程', false],
      ['硬件流程（不适用）', true],
    ]);
    expect(dialog.querySelector<HTMLButtonElement>('button[type="submit"]')!.disabled).to.be.true;
    set(dialog, 'processId', 'proc_2');
    await until(() => dialog.querySelector('.preview'), 2000, 'the preview');
    await el.updateComplete;
    expect(new URL(calls[1]!.url).search).to.equal('?processId=proc_2');
    expect(dialog.querySelector<HTMLSelectElement>('select[name="stageId"]')!.value).to.equal('needs');
    expect(dialog.textContent).to.contain('目标流程有同一阶段，商机留在该阶段');
    // What is still missing there, in the server's words; the met ones are counted.
    const gates = [...dialog.querySelectorAll('.gates li')].map((li) => li.textContent!.trim());
    expect(gates).to.deep.equal(['✗ 客户还没有“关键决策人”角色的联系人']);
    expect(dialog.querySelector('.preview')!.textContent).to.contain('另有 1 项条件已满足');
    await expect(el).to.be.accessible();
    // Another landing stage: the preview follows it.
    set(dialog, 'stageId', 'poc');
    await until(() => dialog.textContent!.includes('已按您的选择'), 2000, 'the chosen stage');
    expect(dialog.querySelector('.gates')).to.be.null;
    expect(dialog.querySelector('.preview')!.textContent).to.contain('该阶段的完成条件均已满足');
    expect(new URL(calls[2]!.url).search).to.equal('?processId=proc_2&stageId=poc');
    const events: string[] = [];
    el.addEventListener('sp-stage-changed', (e) => events.push(`stage:${e.detail.action}`));
    setTimeout(() => submit(dialog));
    const changed = await oneEvent(el, 'sp-process-changed');
    expect(changed.detail).to.deep.equal({
      opportunityId: 'opp_1',
      fromProcessId: 'proc_1',
      processId: 'proc_2',
      stageId: 'poc',
    });
    expect(events).to.deep.equal(['stage:changeProcess']);
    expect(calls.at(-1)).to.deep.include({
      url: 'http://x/api/v1/opportunities/opp_1/change-process',
      method: 'POST',
      body: { processId: 'proc_2', stageId: 'poc', expectedStageId: 'needs' },
    });
    await until(() => !$(el, 'dialog'), 2000, 'the dialog to close');
    expect(el.opportunity!.processId).to.equal('proc_2');
  });

  it('can be cancelled before anything is sent; Cancel closes the dialog and gives focus back', async () => {
    reply = () => json(200, opportunityFixture({ status: 'lost', phase: 'done', actions: ['reopen'] }));
    const lost = opportunityFixture({ status: 'lost', phase: 'done', actions: ['reopen'] });
    const el = await path({ sub: 'sun', roles: ['sales'] }, lost);
    el.addEventListener('sp-before-action', (e) => e.preventDefault());
    const dialog = await openDialog(el, 'reopen');
    submit(dialog);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).to.deep.equal([]);
    [...dialog.querySelectorAll('button')].find((b) => b.textContent === '取消')!.click();
    await until(() => !$(el, 'dialog'), 2000, 'the dialog to close');
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~="more"]'));
  });
});
