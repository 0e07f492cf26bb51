import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  currentStep,
  fillField,
  openAs,
  selectOpportunity,
  settled,
  stageBecomes,
  stageForm,
  stagePath,
  startDemo,
} from './harness.js';

type Demo = Awaited<ReturnType<typeof startDemo>>;

describe("the salesperson's side, in the demo", () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo();
  });
  afterAll(() => demo?.close());

  it('takes an opportunity from 初次拜访 to won and through post-sale, with gates, approval and an order', async () => {
    const { page, errors } = await openAs(demo.browser, demo.url, 'zhang');
    await selectOpportunity(page, '中信银行 网点改造');
    await expect.poll(() => currentStep(page).innerText()).toBe('初次拜访');

    // Blocked by the missing visit notes and a missing contact, in words.
    await stagePath(page).getByRole('button', { name: '完成阶段' }).click();
    const refusal = stagePath(page).locator('.refusal');
    await expect.poll(() => refusal.innerText()).toContain('必填字段“拜访记录”未填写');
    expect(await refusal.innerText()).toContain('客户至少需要 2 个联系人（现有 1 个）');

    await fillField(page, 'stage.visitNotes', '拜访了信息科技部，何行长牵头');
    await stageForm(page).locator('.contacts input[name="name"]').fill('马经理');
    await stageForm(page).getByRole('button', { name: '添加联系人' }).click();
    await expect.poll(() => stageForm(page).locator('.contacts').innerText()).toContain('2/2');
    await stagePath(page).getByRole('button', { name: '完成阶段' }).click();
    await stageBecomes(page, '需求分析匹配');

    await fillField(page, 'stage.needsSummary', '网点智能化改造，三期');
    await stagePath(page).getByRole('button', { name: '完成阶段' }).click();
    await stageBecomes(page, '方案设计');

    // No order before 方案设计 is completed: the action is not offered (the server refuses it too).
    expect(await stagePath(page).getByRole('button', { name: '新建订单' }).count()).toBe(0);

    // 方案设计 needs the supervisor, who approves from another browser.
    await fillField(page, 'stage.designDoc', '方案 v1：统一终端 + 数据中台');
    await fillField(page, 'stage.customerFeedback', '认可，预算待定');
    await stagePath(page).getByRole('button', { name: '提交直属上级确认' }).click();
    await expect.poll(() => stagePath(page).locator('.pending').innerText()).toContain('等待直属上级确认');

    const supervisor = await openAs(demo.browser, demo.url, 'li');
    const inbox = supervisor.page.locator('stage-approval-inbox');
    await expect.poll(() => inbox.locator('article').count(), { timeout: 10_000 }).toBe(1);
    expect(await inbox.locator('article').innerText()).toContain('张三 申请完成「方案设计」');
    expect(await inbox.locator('article').innerText()).toContain('方案 v1');
    await inbox.locator('textarea[name="comment"]').fill('同意，注意报价');
    await inbox.getByRole('button', { name: '同意' }).click();
    await expect.poll(() => inbox.locator('article').count()).toBe(0);

    // The salesperson's page follows live.
    await expect.poll(() => currentStep(page).innerText(), { timeout: 5000 }).toBe('报价竞标');

    // Win needs an order; the order is now allowed.
    await stagePath(page).getByRole('button', { name: '赢单' }).click();
    await expect.poll(() => stagePath(page).locator('.refusal').innerText()).toContain('必须新建订单方可赢单');
    await stagePath(page).getByRole('button', { name: '新建订单' }).click();
    await stagePath(page).getByRole('button', { name: '创建' }).click();
    await expect.poll(() => stagePath(page).locator('.actions').innerText()).toContain('订单 1 个');
    await stagePath(page).getByRole('button', { name: '赢单' }).click();
    await stageBecomes(page, '上门安装');
    await stagePath(page).locator('select[name="userId"]').selectOption('chen');
    await stagePath(page).getByRole('button', { name: '指派' }).click();
    await expect.poll(() => stagePath(page).locator('form.panel').last().innerText()).toContain('售后人员：陈工');

    // Post-sale staff complete the post-sale stages.
    const post = await openAs(demo.browser, demo.url, 'chen');
    await selectOpportunity(post.page, '中信银行 网点改造');
    for (const next of ['实施培训', '验收']) {
      await stagePath(post.page).getByRole('button', { name: '完成售后阶段' }).click();
      await stageBecomes(post.page, next);
    }
    await stagePath(post.page).getByRole('button', { name: '完成售后阶段' }).click();
    // The demo re-mounts the path after a stage change (to refresh its list): read the re-mounted view.
    await expect.poll(() => stagePath(post.page).locator('li.done').count()).toBe(4 + 3);
    await settled(post.page);
    await expect.poll(() => stagePath(post.page).locator('li.done').count()).toBe(4 + 3);
    expect(await stagePath(post.page).locator('li[aria-current="step"]').count()).toBe(0);
    expect([...errors, ...supervisor.errors, ...post.errors]).toEqual([]);
    await Promise.all([page.context().close(), supervisor.context.close(), post.context.close()]);
  });

  it("lets two people co-fill a form and see each other's values within a second", async () => {
    const a = await openAs(demo.browser, demo.url, 'zhang');
    const b = await openAs(demo.browser, demo.url, 'li');
    await selectOpportunity(a.page, '华润置地 门店系统升级');
    await selectOpportunity(b.page, '华润置地 门店系统升级');
    await expect.poll(() => stageForm(b.page).locator('[data-key="stage.visitNotes"]').count()).toBe(1);
    await stageForm(a.page).locator('[data-key="stage.visitNotes"]').fill('张三写的');
    const started = Date.now();
    await expect
      .poll(() => stageForm(b.page).locator('[data-key="stage.visitNotes"]').inputValue(), { timeout: 1000 })
      .toBe('张三写的');
    expect(Date.now() - started).toBeLessThan(1000);
    await stageForm(b.page).locator('[data-key="customer.industry"]').selectOption('it');
    await expect
      .poll(() => stageForm(a.page).locator('[data-key="customer.industry"]').inputValue(), { timeout: 1000 })
      .toBe('it');
    // Each sees the other present.
    await expect.poll(() => stageForm(a.page).locator('[part="presence"]').innerText()).toContain('李经理');
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('keeps a form edited offline and syncs it after reconnecting', async () => {
    const a = await openAs(demo.browser, demo.url, 'zhao');
    const b = await openAs(demo.browser, demo.url, 'li');
    await selectOpportunity(a.page, '海尔集团 产线数字化');
    await selectOpportunity(b.page, '海尔集团 产线数字化');
    await expect.poll(() => stageForm(a.page).locator('[data-key="stage.visitNotes"]').count()).toBe(1);
    await expect.poll(() => stageForm(b.page).locator('[data-key="stage.visitNotes"]').count()).toBe(1);
    // Drop the connection the way a network loss does, and edit.
    await a.context.setOffline(true);
    await expect
      .poll(() => stageForm(a.page).locator('[part="presence"]').innerText(), { timeout: 10_000 })
      .toContain('离线');
    // A's socket is closed (its page says so): what A types now stays in A until it reconnects.
    await stageForm(a.page).locator('[data-key="stage.visitNotes"]').fill('离线时写的');
    await expect.poll(() => stageForm(a.page).locator('[data-key="stage.visitNotes"]').inputValue()).toBe('离线时写的');
    expect(await stageForm(a.page).locator('[part="presence"]').innerText()).toContain('离线');
    expect(await stageForm(b.page).locator('[data-key="stage.visitNotes"]').inputValue()).not.toBe('离线时写的');
    // A command while offline is refused, clearly.
    await stagePath(a.page).getByRole('button', { name: '完成阶段' }).click();
    await expect.poll(() => stagePath(a.page).locator('.refusal').innerText()).toContain('离线');
    await a.context.setOffline(false);
    await expect
      .poll(() => stageForm(b.page).locator('[data-key="stage.visitNotes"]').inputValue(), { timeout: 15_000 })
      .toBe('离线时写的');
    await Promise.all([a.context.close(), b.context.close()]);
  });
});
