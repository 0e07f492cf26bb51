/**
 * The board with 5,000 open opportunities over six stages (ten pages of 500 from a stand-in
 * server): the first render (the element in the page until the first cards show, and until
 * all 5,000 are on the board), then a drag across the columns, one `dragover` a frame: each
 * frame's time (requestAnimationFrame to requestAnimationFrame) and the element's own work
 * per frame (the event until `updateComplete`), as median and p95; then a scroll of a column
 * the same way. Prints figures, asserts no times (they depend on the machine). Not part of
 * `pnpm test`: `pnpm exec wtr --config web-test-runner.bench.config.mjs --files packages/elements/bench/board.bench.ts`.
 */
import { fixture, html } from '@open-wc/testing';
import '../src/index.js';
import type { BoardCard, OpportunityBoard } from '../src/board/opportunity-board.js';
import { FakeStream, fakeJwt, json } from '../src/testing/network.js';

const CARDS = 5000;
const PAGE = 500;
const FRAMES = 120;
const STAGES = ['s1', 's2', 's3', 's4', 's5', 's6'];

const cards: BoardCard[] = Array.from({ length: CARDS }, (_, i) => ({
  id: `opp_${i}`,
  name: `商机 ${i}`,
  customerName: `客户 ${i % 300}`,
  amount: 10_000 + (i % 97) * 1_000,
  currency: 'CNY',
  ownerId: `u${i % 40}`,
  ownerName: `销售 ${i % 40}`,
  departmentId: `d${i % 5}`,
  stageId: STAGES[i % STAGES.length]!,
  stageEnteredAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
  status: 'open',
  phase: 'presale',
  rev: 1,
  overdue: i % 11 === 0,
  stale: i % 7 === 0,
}));

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const frame = () => new Promise<number>((r) => requestAnimationFrame(r));

function report(what: string, times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `board bench (${CARDS} cards), ${what}: ${times.length} frames, median ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`,
  );
}

const realFetch = window.fetch;
before(() => {
  window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
    const url = new URL(String(input));
    const path = url.pathname.replace('/api/v1', '');
    if (path === '/opportunities/stream') return new FakeStream(String(input), {}, init?.signal).response;
    if (path === '/processes/bench')
      return json(200, {
        definition: {
          presale: STAGES.map((id, i) => ({ id, name: `阶段 ${i + 1}`, winRate: 15 * (i + 1) })),
          postsale: [],
        },
      });
    if (path === '/directory')
      return json(200, {
        departments: Array.from({ length: 5 }, (_, i) => ({ id: `d${i}`, name: `部门 ${i}`, parentId: null })),
        users: Array.from({ length: 40 }, (_, i) => ({
          id: `u${i}`,
          name: `销售 ${i}`,
          departmentId: `d${i % 5}`,
          roles: ['sales'],
        })),
      });
    if (path === '/fields/opportunity') return json(200, { items: [] });
    if (path === '/opportunities') {
      const from = Number(url.searchParams.get('cursor') ?? 0);
      return json(200, {
        items: cards.slice(from, from + PAGE),
        nextCursor: from + PAGE < CARDS ? String(from + PAGE) : null,
      });
    }
    if (path === '/opportunities/commands') {
      const { commands } = JSON.parse(String(init!.body)) as {
        commands: { opportunityId: string; toStageId?: string }[];
      };
      return json(200, {
        items: commands.map((c) => ({
          opportunityId: c.opportunityId,
          result: 'moved',
          status: 'open',
          phase: 'presale',
          stageId: 's2',
          rev: 2,
        })),
      });
    }
    return json(404, { error: { code: 'NOT_FOUND', message: path } });
  }) as typeof fetch;
});
after(() => (window.fetch = realFetch));

describe('board benchmark', function () {
  this.timeout(120_000);

  it('renders 5,000 cards, drags a card across the columns and scrolls a column', async () => {
    const start = performance.now();
    const el = await fixture<OpportunityBoard>(
      html`<opportunity-board process-id="bench" base-url="http://x" token=${fakeJwt({ sub: 'u0', roles: ['sales'] })}></opportunity-board>`,
    );
    const root = el.shadowRoot!;
    while (!root.querySelector('li[data-id]')) await frame();
    const first = performance.now() - start;
    while (el.cards.size < CARDS) await frame();
    await el.updateComplete;
    await frame();
    const all = performance.now() - start;
    console.log(
      `board bench (${CARDS} cards), first render: first cards on screen ${first.toFixed(0)} ms, all ${CARDS} on the board ${all.toFixed(0)} ms; ${root.querySelectorAll('li[data-id]').length} cards in the DOM`,
    );

    // A drag: dragstart on a card, then one dragover a frame over the columns in turn.
    const card = root.querySelector<HTMLElement>('section[data-stage="s1"] li[data-id]')!;
    const id = card.dataset.id!;
    const dt = new DataTransfer();
    card.dispatchEvent(new DragEvent('dragstart', { bubbles: true, composed: true, dataTransfer: dt }));
    const sections = [...root.querySelectorAll<HTMLElement>('section[part="column"]')];
    const frames: number[] = [];
    const work: number[] = [];
    let last = await frame();
    for (let i = 0; i < FRAMES; i++) {
      // Over one column for a few frames, then the next (as a hand moves).
      const t0 = performance.now();
      sections[Math.floor(i / 4) % sections.length]!.dispatchEvent(
        new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }),
      );
      await el.updateComplete;
      work.push(performance.now() - t0);
      const now = await frame();
      frames.push(now - last);
      last = now;
    }
    report('drag, frame time', frames);
    report("drag, the element's work per frame", work);
    const t0 = performance.now();
    sections[1]!.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    while (el.cards.get(id)?.stageId !== 's2') await new Promise((r) => setTimeout(r));
    await el.updateComplete;
    console.log(
      `board bench (${CARDS} cards), drop until the board shows the card in its new column: ${(performance.now() - t0).toFixed(1)} ms (the stand-in server answers at once)`,
    );

    // A scroll down a column, one step a frame.
    const list = sections[2]!.querySelector<HTMLElement>('.cards')!;
    const scroll: number[] = [];
    last = await frame();
    for (let i = 0; i < FRAMES; i++) {
      list.scrollTop += 120;
      const now = await frame();
      scroll.push(now - last);
      last = now;
    }
    report('scroll, frame time', scroll);
  });
});
