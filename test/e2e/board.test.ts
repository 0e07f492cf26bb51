import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAs, startDemo } from './harness.js';

type Demo = Awaited<ReturnType<typeof startDemo>>;

const board = (page: Page) => page.locator('opportunity-board');
const column = (page: Page, name: string) => board(page).locator('section[part="column"]', { hasText: name });
const cardIn = (page: Page, col: string, name: string) =>
  column(page, col).locator('li[part="card"]', { hasText: name });
const count = (page: Page, col: string) => column(page, col).locator('header > span').innerText();

describe('the pipeline board, in the demo', () => {
  let demo: Demo;
  let api: (user: string, method: string, path: string, body?: unknown) => Promise<any>;
  beforeAll(async () => {
    demo = await startDemo();
    const tokens = new Map<string, string>();
    api = async (user, method, path, body) => {
      if (!tokens.has(user)) {
        const res = await fetch(`${demo.url}/api/v1/dev/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sub: user, tenant: 'demo', roles: ['sales'] }),
        });
        tokens.set(user, ((await res.json()) as { token: string }).token);
      }
      const res = await fetch(`${demo.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${tokens.get(user)}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = await res.json();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
  });
  afterAll(() => demo?.close());

  it("two salespeople on two boards see each other's moves within a second; a bulk move of 50 cards lands with per-card results", async () => {
    // 张三 and his supervisor 李经理 (a salesperson too) both see 张三's opportunities.
    const { items } = await api('zhang', 'GET', '/opportunities?status=open&limit=100');
    const store = items.find((o: { name: string }) => o.name === '华润置地 门店系统升级');
    await api('zhang', 'PUT', `/opportunities/${store.id}/stage-form`, {
      values: { visitNotes: '拜访了刘总与钱经理，门店系统三期' },
    });

    const zhang = await openAs(demo.browser, demo.url, 'zhang', '&view=board');
    const li = await openAs(demo.browser, demo.url, 'li', '&view=board');
    for (const { page } of [zhang, li])
      await expect.poll(() => cardIn(page, '初次拜访', '华润置地 门店系统升级').count(), { timeout: 10_000 }).toBe(1);

    // 张三 drags his card to 需求分析匹配; 李经理's board follows within a second.
    await cardIn(zhang.page, '初次拜访', '华润置地').dragTo(column(zhang.page, '需求分析匹配').locator('.cards'));
    await expect.poll(() => cardIn(zhang.page, '需求分析匹配', '华润置地').count()).toBe(1);
    const moved = Date.now();
    await expect
      .poll(() => cardIn(li.page, '需求分析匹配', '华润置地').count(), { timeout: 1000, interval: 50 })
      .toBe(1);
    expect(Date.now() - moved).toBeLessThan(1000);
    expect(await cardIn(li.page, '初次拜访', '华润置地').count()).toBe(0);

    // 李经理 moves it back with the keyboard (pick up, ←, drop); 张三 sees it.
    const card = cardIn(li.page, '需求分析匹配', '华润置地');
    await card.focus();
    await card.press(' ');
    await card.press('ArrowLeft');
    await card.press(' ');
    const back = Date.now();
    await expect
      .poll(() => cardIn(zhang.page, '初次拜访', '华润置地').count(), { timeout: 1000, interval: 50 })
      .toBe(1);
    expect(Date.now() - back).toBeLessThan(1000);

    // A refused drag shows the unmet gates on the card, in place.
    await cardIn(zhang.page, '初次拜访', '中信银行').dragTo(column(zhang.page, '需求分析匹配').locator('.cards'));
    const refusal = cardIn(zhang.page, '初次拜访', '中信银行').locator('[part="refusal"]');
    await expect.poll(() => refusal.innerText()).toContain('必填字段“拜访记录”未填写');
    await refusal.getByRole('button', { name: '填写' }).click();
    await expect
      .poll(() => board(zhang.page).locator('dialog stage-feedback-form [data-key="stage.visitNotes"]').count())
      .toBe(1);
    await board(zhang.page).locator('dialog').getByRole('button', { name: '关闭' }).click();

    // 50 new opportunities of 张三, half of them with their visit notes.
    const customers = (await api('zhang', 'GET', '/customers')).items as { id: string; name: string }[];
    const customerId = customers.find((c) => c.name === '华润置地')!.id;
    const processId = store.processId;
    for (let i = 0; i < 50; i++) {
      const o = await api('zhang', 'POST', '/opportunities', {
        name: `批量商机 ${String(i).padStart(2, '0')}`,
        customerId,
        amount: 10_000 * (i + 1),
        processId,
      });
      if (i % 2 === 0)
        await api('zhang', 'PUT', `/opportunities/${o.id}/stage-form`, { values: { visitNotes: `拜访 ${i}` } });
    }
    // New opportunities reach both boards live (李经理 also sees 赵六's 海尔集团).
    await expect.poll(() => count(zhang.page, '初次拜访'), { timeout: 10_000 }).toBe('52');
    await expect.poll(() => count(li.page, '初次拜访'), { timeout: 10_000 }).toBe('53');

    // Select the column, leave out the two older ones, move the 50 in one request.
    await column(zhang.page, '初次拜访').locator('header input[type="checkbox"]').check();
    for (const name of ['华润置地 门店系统升级', '中信银行 网点改造'])
      await cardIn(zhang.page, '初次拜访', name).locator('input[type="checkbox"]').uncheck();
    const bulk = board(zhang.page).locator('[part="bulk"]');
    await expect.poll(() => bulk.innerText()).toContain('已选 50 个');
    await bulk.locator('select[name="to"]').selectOption({ label: '需求分析匹配' });
    const [response] = await Promise.all([
      zhang.page.waitForResponse((r) => r.url().endsWith('/api/v1/opportunities/commands')),
      bulk.getByRole('button', { name: '移动', exact: true }).click(),
    ]);
    const answer = (await response.json()) as { items: { result: string; error?: { code: string } }[] };
    expect(answer.items).toHaveLength(50);
    expect(answer.items.filter((r) => r.result === 'moved')).toHaveLength(25);
    expect(answer.items.filter((r) => r.result === 'refused').map((r) => r.error?.code)).toEqual(
      Array(25).fill('STAGE_GATES_UNMET'),
    );
    // Per card: the moved ones in their new column, the refused ones with their gates, and a summary.
    await expect.poll(() => count(zhang.page, '需求分析匹配')).toBe('25');
    // 李经理's board follows (beside 孙七's 宝钢股份, already there).
    await expect.poll(() => count(li.page, '需求分析匹配'), { timeout: 2000 }).toBe('26');
    expect(await count(zhang.page, '初次拜访')).toBe('27');
    expect(await board(zhang.page).locator('[aria-live]').innerText()).toContain(
      '已完成 25 个，被拒绝 25 个，已过期 0 个',
    );
    const refused = column(zhang.page, '初次拜访').locator('li[part="card"]', { hasText: '批量商机 01' });
    await expect.poll(() => refused.locator('[part="refusal"]').innerText()).toContain('拜访记录');

    await zhang.page.screenshot({ path: '/tmp/shots-board/e2e-zhang.png' }).catch(() => {});
    expect(zhang.errors).toEqual([]);
    expect(li.errors).toEqual([]);
  }, 120_000);
});
