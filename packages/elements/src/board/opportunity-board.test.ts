import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../index.js';
import { FakeSocket, FakeStream, fakeJwt, json, until } from '../testing/network.js';
import type { BoardCard, BoardCommand, BoardResult, OpportunityBoard } from './opportunity-board.js';

const L = (zh: string, en = zh) => ({ zh, en });
const PROCESS = {
  id: 'proc_1',
  definition: {
    presale: [
      { id: 'visit', name: '初次拜访', winRate: 10 },
      { id: 'needs', name: '需求分析匹配', winRate: 30 },
      { id: 'solution', name: '方案设计', winRate: 50, requiresApproval: true },
      { id: 'quote', name: '报价竞标', winRate: 80 },
    ],
    postsale: [{ id: 'install', name: '上门安装' }],
  },
};
const DIRECTORY = {
  departments: [
    { id: 'sales', name: '销售部', parentId: null },
    { id: 'east', name: '华东销售部', parentId: 'sales' },
    { id: 'north', name: '华北销售部', parentId: 'sales' },
  ],
  users: [
    { id: 'zhang', name: '张三', departmentId: 'east', roles: ['sales'] },
    { id: 'zhao', name: '赵六', departmentId: 'east', roles: ['sales'] },
    { id: 'sun', name: '孙七', departmentId: 'north', roles: ['sales'] },
    { id: 'li', name: '李经理', departmentId: 'sales', roles: ['supervisor', 'sales'] },
  ],
};
const FIELDS = {
  items: [
    {
      key: 'lostReason',
      options: [
        { value: 'price', label: L('价格', 'Price') },
        { value: 'old', label: L('旧原因', 'Old'), archived: true },
        { value: 'competitor', label: L('竞争对手', 'Competitor') },
      ],
    },
  ],
};

const card = (id: string, o: Partial<BoardCard> = {}): BoardCard => ({
  id,
  name: `商机 ${id}`,
  customerName: '宝钢股份',
  amount: 100_000,
  currency: 'CNY',
  ownerId: 'zhang',
  ownerName: '张三',
  departmentId: 'east',
  stageId: 'visit',
  stageEnteredAt: new Date(Date.now() - 3 * 864e5).toISOString(),
  status: 'open',
  phase: 'presale',
  rev: 1,
  overdue: false,
  stale: false,
  ...o,
});

let cards: BoardCard[] = [];
let commands: BoardCommand[][] = [];
let reassigned: unknown[] = [];
const views = new Map<string, BoardCard>();
const moved = (c: BoardCommand): BoardResult => ({
  opportunityId: c.opportunityId,
  result: 'moved',
  status: c.type === 'lose' ? 'lost' : 'open',
  phase: 'presale',
  stageId: c.type === 'lose' ? c.expectedStageId : (c.toStageId ?? c.stageId ?? next(c.expectedStageId)),
  rev: 2,
});
let answer = moved;
const next = (s: string | null) =>
  PROCESS.definition.presale[PROCESS.definition.presale.findIndex((x) => x.id === s) + 1]!.id;
let streams: FakeStream[] = [];
/** Sends to every open stream (an element of the test before may still hold one). */
const send = (event: string, data: unknown) => streams.forEach((s) => s.closed || s.send(event, data));
const realFetch = window.fetch;
let restoreSocket: () => void;

beforeEach(() => {
  cards = [
    card('o1', { amount: 200_000 }),
    card('o2', { ownerId: 'zhao', ownerName: '赵六', overdue: true }),
    card('o3', { stageId: 'needs', ownerId: 'sun', ownerName: '孙七', departmentId: 'north', stale: true }),
    card('o4', { stageId: 'quote', currency: 'USD', amount: 50_000 }),
  ];
  commands = [];
  reassigned = [];
  views.clear();
  streams = [];
  answer = moved;
  restoreSocket = FakeSocket.install();
  window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
    const url = new URL(String(input));
    const path = url.pathname.replace('/api/v1', '');
    if (path === '/opportunities/stream') {
      const stream = new FakeStream(String(input), {}, init?.signal);
      streams.push(stream);
      return stream.response;
    }
    if (path === '/processes/proc_1') return json(200, PROCESS);
    if (path === '/directory') return json(200, DIRECTORY);
    if (path === '/fields/opportunity') return json(200, FIELDS);
    if (path === '/opportunities/commands') {
      const body = JSON.parse(String(init!.body)) as { commands: BoardCommand[] };
      commands.push(body.commands);
      return json(200, { items: body.commands.map((c) => answer(c)) });
    }
    if (path === '/opportunities/reassign') {
      const body = JSON.parse(String(init!.body)) as { opportunityIds: string[]; toOwnerId: string };
      reassigned.push(body);
      for (const id of body.opportunityIds.slice(1))
        views.set(id, {
          ...cards.find((c) => c.id === id)!,
          ownerId: body.toOwnerId,
          ownerName: '赵六',
          rev: undefined as never,
        });
      return json(200, {
        items: body.opportunityIds.map((id, i) =>
          i === 0
            ? {
                opportunityId: id,
                result: 'refused',
                error: { code: 'FORBIDDEN', message: 'no', messages: L('无权转交', 'Not yours') },
              }
            : { opportunityId: id, result: 'moved' },
        ),
      });
    }
    if (path === '/opportunities') {
      // Two pages: the board follows the cursor.
      const cursor = url.searchParams.get('cursor');
      expect(url.searchParams.get('processId')).to.equal('proc_1');
      expect(url.searchParams.get('status')).to.equal('open');
      const half = Math.ceil(cards.length / 2);
      return json(
        200,
        cursor ? { items: cards.slice(half), nextCursor: null } : { items: cards.slice(0, half), nextCursor: 'c2' },
      );
    }
    if (path.startsWith('/opportunities/')) {
      const id = path.split('/')[2]!;
      return json(200, views.get(id) ?? { ...card(id, { name: '新商机', stageId: 'needs' }), rev: undefined });
    }
    return json(404, { error: { code: 'NOT_FOUND', message: path } });
  }) as typeof fetch;
});
afterEach(() => {
  window.fetch = realFetch;
  restoreSocket();
});

const token = (sub = 'zhang', roles = ['sales']) => fakeJwt({ sub, roles });
async function board(sub?: string, roles?: string[], lang = 'zh-CN') {
  const el = await fixture<OpportunityBoard>(
    html`<opportunity-board lang=${lang} process-id="proc_1" base-url="http://x" token=${token(sub, roles)}></opportunity-board>`,
  );
  await until(() => el.cards.size === cards.length && el.shadowRoot!.querySelector('[data-id]'), 3000, 'cards');
  await el.updateComplete;
  return el;
}
const $ = <T extends Element = HTMLElement>(el: OpportunityBoard, sel: string) => el.shadowRoot!.querySelector<T>(sel)!;
const $$ = (el: OpportunityBoard, sel: string) => [...el.shadowRoot!.querySelectorAll<HTMLElement>(sel)];
const column = (el: OpportunityBoard, stage: string) => $(el, `section[data-stage="${stage}"]`);
const ids = (el: OpportunityBoard, stage: string) =>
  [...column(el, stage).querySelectorAll<HTMLElement>('li[data-id]')].map((li) => li.dataset.id);
const li = (el: OpportunityBoard, id: string) => $(el, `li[data-id="${id}"]`);
const key = (target: HTMLElement, k: string) =>
  target.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, composed: true, cancelable: true }));

describe('<opportunity-board>', () => {
  it('shows a column per pre-sale stage with cards, totals, weighted totals and marks, and is accessible', async () => {
    const el = await board();
    expect($$(el, 'section h3').map((h) => h.textContent)).to.deep.equal([
      '初次拜访',
      '需求分析匹配',
      '方案设计',
      '报价竞标',
    ]);
    expect(ids(el, 'visit')).to.have.members(['o1', 'o2']);
    expect(ids(el, 'needs')).to.deep.equal(['o3']);
    const o1 = li(el, 'o1').textContent!;
    expect(o1)
      .to.contain('商机 o1')
      .and.contain('宝钢股份')
      .and.contain('¥200,000')
      .and.contain('张三')
      .and.contain('3 天');
    expect(li(el, 'o2').querySelector('[part~="overdue"]')!.textContent).to.equal('超时');
    expect(li(el, 'o3').querySelector('[part~="stale"]')!.textContent).to.equal('停滞');
    // The header counts what the filters show, and the stale ones among them.
    expect($(el, '[part="headline"]').textContent).to.match(/^\d+ 个商机，1 个停滞超过提醒天数$/);
    // 300,000 at 10 %; the dollars apart.
    expect(column(el, 'visit').querySelector('[part="total"]')!.textContent)
      .to.contain('¥300,000')
      .and.contain('¥30,000');
    expect(column(el, 'quote').querySelector('[part="total"]')!.textContent)
      .to.contain('US$50,000')
      .and.contain('US$40,000');
    await expect(el).to.be.accessible();
  });

  it('speaks English', async () => {
    const el = await board('zhang', ['sales'], 'en');
    expect($(el, '[part="toolbar"]').textContent).to.contain('Owner').and.contain('Mine only');
    expect(li(el, 'o2').textContent).to.contain('Overdue').and.contain('3 d');
  });

  it('filters by owner, by department with its sub-departments, and "mine"', async () => {
    const el = await board();
    const [owner, dept] = $$(el, '[part="toolbar"] select') as HTMLSelectElement[];
    owner!.value = 'zhao';
    owner!.dispatchEvent(new Event('change'));
    await el.updateComplete;
    expect($$(el, 'li[data-id]').map((x) => x.dataset.id)).to.deep.equal(['o2']);
    owner!.value = '';
    owner!.dispatchEvent(new Event('change'));
    dept!.value = 'north';
    dept!.dispatchEvent(new Event('change'));
    await el.updateComplete;
    expect($$(el, 'li[data-id]').map((x) => x.dataset.id)).to.deep.equal(['o3']);
    dept!.value = 'sales';
    dept!.dispatchEvent(new Event('change'));
    await el.updateComplete;
    expect($$(el, 'li[data-id]')).to.have.length(4);
    el.mine = true;
    await el.updateComplete;
    expect($$(el, 'li[data-id]').map((x) => x.dataset.id)).to.have.members(['o1', 'o4']);
  });

  it('moves a dragged card one stage on with completeStage, and back with moveBack', async () => {
    const el = await board();
    const dt = new DataTransfer();
    li(el, 'o1').dispatchEvent(new DragEvent('dragstart', { bubbles: true, composed: true, dataTransfer: dt }));
    column(el, 'needs').dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    await el.updateComplete;
    expect(column(el, 'needs').classList.contains('over')).to.be.true;
    setTimeout(() =>
      column(el, 'needs').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt })),
    );
    const changed = await oneEvent(el, 'sp-stage-changed');
    expect(changed.detail).to.deep.equal({
      opportunityId: 'o1',
      action: 'completeStage',
      stageId: 'needs',
      status: 'open',
    });
    expect(commands).to.deep.equal([[{ opportunityId: 'o1', expectedStageId: 'visit', type: 'completeStage' }]]);
    await el.updateComplete;
    expect(ids(el, 'needs')).to.include('o1');
    expect(column(el, 'needs').classList.contains('over')).to.be.false;

    li(el, 'o4').dispatchEvent(new DragEvent('dragstart', { bubbles: true, composed: true, dataTransfer: dt }));
    column(el, 'visit').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    await until(() => ids(el, 'visit').includes('o4'));
    expect(commands[1]).to.deep.equal([
      { opportunityId: 'o4', expectedStageId: 'quote', type: 'moveBack', stageId: 'visit' },
    ]);
  });

  it('moves a card with the keyboard (pick up, move, drop), saying each step', async () => {
    const el = await board();
    const live = $(el, '[aria-live]');
    const o1 = li(el, 'o1');
    expect(o1.tabIndex).to.equal(0);
    o1.focus();
    key(o1, ' ');
    await el.updateComplete;
    expect(live.textContent).to.contain('已拿起「商机 o1」');
    expect(o1.classList.contains('grabbed')).to.be.true;
    key(o1, 'ArrowRight');
    key(o1, 'ArrowRight');
    await el.updateComplete;
    expect(live.textContent).to.contain('目标：「方案设计」');
    expect(column(el, 'solution').classList.contains('over')).to.be.true;
    key(o1, 'Escape');
    await el.updateComplete;
    expect(live.textContent).to.contain('已取消移动');
    expect(commands).to.have.length(0);

    key(o1, ' ');
    key(o1, 'ArrowRight');
    key(o1, ' ');
    await until(() => ids(el, 'needs').includes('o1'));
    expect(commands[0]).to.deep.equal([{ opportunityId: 'o1', expectedStageId: 'visit', type: 'completeStage' }]);
    await until(() => live.textContent!.includes('「商机 o1」已移到「需求分析匹配」'));

    // Skipping a stage names the target; arrows move the focus between cards.
    const o2 = li(el, 'o2');
    o2.focus();
    key(o2, ' ');
    key(o2, 'ArrowRight');
    key(o2, 'ArrowRight');
    key(o2, 'ArrowRight');
    key(o2, ' ');
    await until(() => commands.length === 2);
    expect(commands[1]).to.deep.equal([
      { opportunityId: 'o2', expectedStageId: 'visit', type: 'completeStage', toStageId: 'quote' },
    ]);
    await until(() => ids(el, 'quote').includes('o2'));
    const o4 = li(el, 'o4');
    o4.focus();
    key(o4, 'ArrowDown');
    await until(() => el.shadowRoot!.activeElement === li(el, 'o2'));
    key(li(el, 'o2'), 'ArrowLeft');
    await until(
      () =>
        (el.shadowRoot!.activeElement as HTMLElement)?.dataset.id === ids(el, 'solution')[0] ||
        ids(el, 'solution').length === 0,
    );
  });

  it('shows a refused move on the card in place: the unmet gates, the stage form and a request for approval', async () => {
    answer = (c) => ({
      opportunityId: c.opportunityId,
      result: 'refused',
      error: {
        code: 'STAGE_GATES_UNMET',
        message: '阶段完成条件未满足',
        details: [
          {
            gate: 'requiredField',
            key: 'designDoc',
            message: L('必填字段“方案文档”未填写', 'Required field "Design document" is empty'),
          },
          { gate: 'approval', state: 'notRequested', message: L('需直属上级确认', "Needs the supervisor's approval") },
        ],
      },
    });
    cards = [card('o3', { stageId: 'solution' })];
    const el = await board();
    const o3 = li(el, 'o3');
    o3.focus();
    key(o3, ' ');
    key(o3, 'ArrowRight');
    setTimeout(() => key(o3, ' '));
    const refused = await oneEvent(el, 'sp-transition-refused');
    expect(refused.detail.code).to.equal('STAGE_GATES_UNMET');
    expect(refused.detail.details).to.have.length(2);
    await el.updateComplete;
    // Still in its column, with the gates in words.
    expect(ids(el, 'solution')).to.deep.equal(['o3']);
    const refusal = li(el, 'o3').querySelector<HTMLElement>('[part="refusal"]')!;
    expect(refusal.getAttribute('role')).to.equal('alert');
    expect(refusal.textContent).to.contain('必填字段“方案文档”未填写').and.contain('需直属上级确认');
    expect($(el, '[aria-live]').textContent).to.contain('「商机 o3」未能移动：必填字段“方案文档”未填写');
    const [fill, retry] = [...refusal.querySelectorAll('button')];
    expect(retry!.textContent).to.equal('提交直属上级确认');
    await expect(el).to.be.accessible();

    // The form to fill them, in a dialog over the board.
    fill!.click();
    await until(() => $<HTMLDialogElement>(el, 'dialog').open);
    expect($(el, 'dialog stage-feedback-form').getAttribute('opportunity-id')).to.equal('o3');

    // Filled in: the retry asks for approval.
    answer = (c) => ({ opportunityId: c.opportunityId, result: 'approvalRequested' });
    $(el, 'dialog form button').click();
    setTimeout(() => retry!.click());
    const requested = await oneEvent(el, 'sp-approval-requested');
    expect(requested.detail).to.deep.equal({ opportunityId: 'o3', stageId: 'solution' });
    expect(commands[1]).to.deep.equal(commands[0]);
    await el.updateComplete;
    expect(li(el, 'o3').querySelector('[part="refusal"]')!.textContent).to.contain('等待直属上级确认');
  });

  it("follows other users' moves live", async () => {
    const el = await board();
    await until(() => streams.length);
    send('opportunity', {
      id: 'o1',
      rev: 5,
      processId: 'proc_1',
      stageId: 'quote',
      status: 'open',
      phase: 'presale',
      ownerId: 'zhang',
    });
    await until(() => ids(el, 'quote').includes('o1'));
    // An old event changes nothing.
    send('opportunity', {
      id: 'o1',
      rev: 4,
      processId: 'proc_1',
      stageId: 'visit',
      status: 'open',
      phase: 'presale',
      ownerId: 'zhang',
    });
    // A new one is fetched.
    send('opportunity', {
      id: 'o9',
      rev: 1,
      processId: 'proc_1',
      stageId: 'needs',
      status: 'open',
      phase: 'presale',
      ownerId: 'zhang',
    });
    await until(() => ids(el, 'needs').includes('o9'));
    expect(ids(el, 'quote')).to.include('o1');
    // Lost elsewhere, or removed: off the board.
    send('opportunity', {
      id: 'o2',
      rev: 2,
      processId: 'proc_1',
      stageId: 'visit',
      status: 'lost',
      phase: 'presale',
      ownerId: 'zhao',
    });
    send('removed', { id: 'o3' });
    await until(() => !el.cards.has('o2') && !el.cards.has('o3'));
    expect($$(el, 'li[data-id]').map((x) => x.dataset.id)).to.have.members(['o1', 'o4', 'o9']);
  });

  it('moves, reassigns and loses selected cards in bulk, with per-card results', async () => {
    const el = await board('li', ['supervisor', 'sales']);
    // A checkbox, the X key and a column's select-all.
    li(el, 'o1').querySelector<HTMLInputElement>('input')!.click();
    key(li(el, 'o3'), 'x');
    await el.updateComplete;
    const bulk = $(el, '[part="bulk"]');
    expect(bulk.textContent).to.contain('已选 2 个');
    const selectAll = column(el, 'visit').querySelector<HTMLInputElement>('header input')!;
    selectAll.click();
    await el.updateComplete;
    expect($(el, '[part="bulk"]').textContent).to.contain('已选 3 个');
    await expect(el).to.be.accessible();

    // Move all three to 报价竞标: two skip forward, one of them refused.
    answer = (c) =>
      c.opportunityId === 'o2'
        ? {
            opportunityId: 'o2',
            result: 'refused',
            error: {
              code: 'INVALID_TRANSITION',
              message: '不允许跳过阶段',
              messages: L('不允许跳过阶段', 'Skipping stages is not allowed'),
            },
          }
        : c.opportunityId === 'o3'
          ? { opportunityId: 'o3', result: 'stale', error: { code: 'STALE_STATE', message: 'stale' } }
          : {
              opportunityId: c.opportunityId,
              result: 'moved',
              status: 'open',
              phase: 'presale',
              stageId: 'quote',
              rev: 3,
            };
    const to = $(el, '[part="bulk"] select[name="to"]') as HTMLSelectElement;
    to.value = 'quote';
    setTimeout(() => $(el, '[part="bulk"] button[value="move"]').click());
    const done = await oneEvent(el, 'sp-bulk-done');
    expect(done.detail.action).to.equal('move');
    expect(done.detail.items.map((r: BoardResult) => r.result)).to.have.members(['moved', 'refused', 'stale']);
    expect(commands).to.have.length(1);
    expect(commands[0]).to.have.deep.members([
      { opportunityId: 'o1', expectedStageId: 'visit', type: 'completeStage', toStageId: 'quote' },
      { opportunityId: 'o2', expectedStageId: 'visit', type: 'completeStage', toStageId: 'quote' },
      { opportunityId: 'o3', expectedStageId: 'needs', type: 'completeStage', toStageId: 'quote' },
    ]);
    await el.updateComplete;
    expect(ids(el, 'quote')).to.include('o1');
    expect(li(el, 'o2').querySelector('[part="refusal"]')!.textContent).to.contain('不允许跳过阶段');
    expect(li(el, 'o3').querySelector('[part="refusal"]')!.textContent).to.contain('商机已被他人更新');
    expect($(el, '[aria-live]').textContent).to.contain('已完成 1 个，被拒绝 1 个，已过期 1 个');
    expect($(el, '[part="bulk"]')).to.be.null;

    // Reassign two to 赵六: one refused.
    key(li(el, 'o1'), 'x');
    key(li(el, 'o4'), 'x');
    await el.updateComplete;
    ($(el, '[part="bulk"] select[name="owner"]') as HTMLSelectElement).value = 'zhao';
    setTimeout(() => $(el, '[part="bulk"] button[value="reassign"]').click());
    const reassign = await oneEvent(el, 'sp-bulk-done');
    expect(reassign.detail.items.map((r: BoardResult) => r.result)).to.deep.equal(['refused', 'moved']);
    expect(reassigned).to.deep.equal([{ opportunityIds: ['o1', 'o4'], toOwnerId: 'zhao' }]);
    await until(() => li(el, 'o4').textContent!.includes('赵六'));
    expect(li(el, 'o1').querySelector('[part="refusal"]')!.textContent).to.contain('无权转交');

    // Lose with a reason (archived reasons are not offered).
    answer = (c) => ({
      opportunityId: c.opportunityId,
      result: 'moved',
      status: 'lost',
      phase: 'presale',
      stageId: c.expectedStageId,
      rev: 9,
    });
    key(li(el, 'o1'), 'x');
    key(li(el, 'o4'), 'x');
    await el.updateComplete;
    const reason = $(el, '[part="bulk"] select[name="reason"]') as HTMLSelectElement;
    expect([...reason.options].map((o) => o.value)).to.deep.equal(['price', 'competitor']);
    reason.value = 'competitor';
    setTimeout(() => $(el, '[part="bulk"] button[value="lose"]').click());
    await oneEvent(el, 'sp-bulk-done');
    expect(commands[1]).to.deep.equal([
      { opportunityId: 'o1', type: 'lose', expectedStageId: 'quote', reason: 'competitor' },
      { opportunityId: 'o4', type: 'lose', expectedStageId: 'quote', reason: 'competitor' },
    ]);
    await el.updateComplete;
    expect(el.cards.has('o1') || el.cards.has('o4')).to.be.false;
  });

  it('renders only the cards in view of a long column', async () => {
    cards = Array.from({ length: 2000 }, (_, i) =>
      card(`c${i}`, { stageEnteredAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString() }),
    );
    const el = await board();
    const rendered = () => ids(el, 'visit');
    expect(rendered().length).to.be.below(60);
    expect(rendered()[0]).to.equal('c0');
    expect(column(el, 'visit').querySelector('[part="column-header"]')!.textContent).to.contain('2000');
    const list = column(el, 'visit').querySelector<HTMLElement>('.cards')!;
    list.scrollTop = 98 * 1000;
    await until(() => rendered().includes('c1000'));
    expect(rendered().length).to.be.below(60);
    // The keyboard reaches the last card (End), scrolling it into the window.
    const first = li(el, rendered()[0]!);
    first.focus();
    key(first, 'End');
    await until(() => (el.shadowRoot!.activeElement as HTMLElement)?.dataset.id === 'c1999');
  });
});
