import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiAs,
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

/**
 * Issue 20's scenario end to end, in the demo at the server's default timings: an admin
 * manages lost reasons and the process (a required contact role, a post-sale team), a
 * salesperson loses and reopens, a missing 关键决策人 blocks 初次拜访 until one is added, a
 * won deal's post-sale work goes to the team, a supervisor hands over a salesperson's open
 * opportunities in one step, and the audit trail shows each admin step.
 */
type Demo = Awaited<ReturnType<typeof startDemo>>;

const designer = (page: Page) => page.locator('sales-process-designer');
const manager = (page: Page) => page.locator('sales-field-manager');

async function openMenuItem(page: Page, item: string) {
  await stagePath(page).getByRole('button', { name: '更多' }).click();
  await stagePath(page).getByRole('menuitem', { name: item }).click();
}

describe("issue 20's scenario: fields, reopening, contact roles, post-sale teams, reassigning, the audit trail", () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo();
  });
  afterAll(() => demo?.close());

  it('runs from the admin through the salespeople and the supervisor, and the trail shows the admin steps', async () => {
    const errors: string[] = [];

    // ---- The admin renames a lost reason and adds one in <sales-field-manager>.
    const admin = await openAs(demo.browser, demo.url, 'admin');
    errors.push(...admin.errors);
    const fm = manager(admin.page);
    await fm.locator('#tab-opportunity').click();
    await fm.locator('ul[part="list"] li[data-key="lostReason"] button.edit').click();
    const options = fm.locator('ol.options li');
    await expect.poll(() => options.count()).toBe(4);
    await options.nth(0).locator('input.option-zh').fill('价格过高');
    await fm.locator('button.add-option').click();
    await options.nth(4).locator('input.option-zh').fill('项目取消');
    await options.nth(4).locator('input.option-en').fill('Project cancelled');
    await fm.locator('form.editor button[type="submit"]').click();
    await expect.poll(() => fm.locator('ul[part="list"] li[data-key="lostReason"]').innerText()).toContain('项目取消');
    expect(await fm.locator('ul[part="list"] li[data-key="lostReason"]').innerText()).toContain('价格过高');

    // ---- In the designer: 初次拜访 needs a 关键决策人; the process's post-sale team is 陈工.
    await admin.page.locator('[data-edit]:has-text("重要客户销售流程")').click();
    const d = designer(admin.page);
    await d.locator('ol.stages li', { hasText: '初次拜访' }).click();
    await d.locator('#stage-contact-roles input[data-role="decisionMaker"]').check();
    await d.getByRole('tab', { name: '售后人员与适用条件' }).click();
    await d.locator('#postsale-team select[name="member"]').selectOption('uchen');
    await d.locator('#postsale-team').getByRole('button', { name: '添加' }).click();
    await expect.poll(() => d.locator('#postsale-team ul.chips').innerText()).toContain('陈工');
    await d.getByRole('button', { name: '发布…' }).click();
    const dialog = d.locator('dialog');
    const confirm = dialog.getByRole('button', { name: '确认发布' });
    await expect.poll(() => confirm.isEnabled(), { timeout: 5000 }).toBe(true);
    await confirm.click();
    await expect
      .poll(() => dialog.locator('[role="status"] strong').innerText(), { timeout: 5000 })
      .toMatch(/已发布：版本 v2/);
    await dialog.getByRole('button', { name: '关闭' }).click();

    // ---- A missing 关键决策人 blocks 初次拜访 until a contact with that role is added (赵六, 海尔集团: no contacts).
    const zhao = await openAs(demo.browser, demo.url, 'zhao');
    errors.push(...zhao.errors);
    await selectOpportunity(zhao.page, '海尔集团 产线数字化');
    await expect.poll(() => currentStep(zhao.page).innerText()).toBe('初次拜访');
    await fillField(zhao.page, 'stage.visitNotes', '拜访了生产部');
    await zhao.page.locator('stage-feedback-form [data-key="customer.industry"]').selectOption('manufacturing');
    const addContact = async (name: string, role: string) => {
      const contacts = stageForm(zhao.page).locator('.contacts form');
      await contacts.locator('input[name="name"]').fill(name);
      await contacts.getByRole('checkbox', { name: new RegExp(role) }).check();
      await contacts.getByRole('button', { name: '添加联系人' }).click();
      // The form clears once the server has the contact (or goes, with every contact gate met):
      // typing the next one before that would be wiped by this one's reset.
      const input = contacts.locator('input[name="name"]');
      await expect
        .poll(async () => ((await input.count()) ? input.inputValue({ timeout: 1000 }).catch(() => '') : ''))
        .toBe('');
    };
    await addContact('周主任', '直接联系人');
    await addContact('孙工', '技术负责人');
    await expect.poll(() => stageForm(zhao.page).locator('.contacts').innerText()).toContain('2/2');
    await stagePath(zhao.page).getByRole('button', { name: '完成阶段' }).click();
    await expect
      .poll(() => stagePath(zhao.page).locator('.refusal').innerText())
      .toContain('客户还没有“关键决策人”角色的联系人');
    expect(await currentStep(zhao.page).innerText()).toBe('初次拜访');
    await addContact('钱总', '关键决策人');
    await expect
      .poll(() => stageForm(zhao.page).locator('.contacts').innerText())
      .toContain('已有“关键决策人”角色的联系人');
    await stagePath(zhao.page).getByRole('button', { name: '完成阶段' }).click();
    await stageBecomes(zhao.page, '需求分析匹配');

    // ---- 张三 loses a deal with the new reason, then reopens it to 需求分析匹配.
    const zhang = await openAs(demo.browser, demo.url, 'zhang');
    errors.push(...zhang.errors);
    await selectOpportunity(zhang.page, '华润置地 门店系统升级');
    await stagePath(zhang.page).getByRole('button', { name: '输单' }).click();
    await stagePath(zhang.page).locator('select[name="reason"]').selectOption({ label: '项目取消' });
    await stagePath(zhang.page).locator('form.panel').getByRole('button', { name: '确认' }).click();
    await expect.poll(() => stagePath(zhang.page).locator('li.lost').count()).toBe(1);
    await settled(zhang.page);
    await expect.poll(() => stagePath(zhang.page).locator('li.lost').count()).toBe(1);
    const lost = (await apiAs(demo, 'zhang', ['sales'], 'GET', '/opportunities?limit=100')).body.items.find(
      (o: { name: string }) => o.name === '华润置地 门店系统升级',
    );
    expect(lost).toMatchObject({ status: 'lost' });
    expect((await apiAs(demo, 'zhang', ['sales'], 'GET', `/opportunities/${lost.id}`)).body.lostReason).toBe(
      'projectCancelled',
    );
    await openMenuItem(zhang.page, '重新打开');
    const reopen = stagePath(zhang.page).locator('dialog[open]');
    await reopen.locator('select').first().selectOption({ label: '需求分析匹配' });
    await reopen.getByRole('button', { name: '重新打开' }).click();
    await stageBecomes(zhang.page, '需求分析匹配');

    // ---- A won deal's post-sale stages go to the process's team (孙七's 宝钢, driven to 报价竞标 over the API).
    const sun = (method: string, url: string, body?: unknown) => apiAs(demo, 'sun', ['sales'], method, url, body);
    const baosteel = (await sun('GET', '/opportunities?limit=100')).body.items.find(
      (o: { name: string }) => o.name === '宝钢股份 数据中台',
    );
    const id = baosteel.id as string;
    expect(
      (await sun('PUT', `/opportunities/${id}/stage-form`, { values: { needsSummary: '数据中台一期' } })).status,
    ).toBe(200);
    expect((await sun('POST', `/opportunities/${id}/complete-stage`, {})).status).toBe(200);
    await sun('PUT', `/opportunities/${id}/stage-form`, { values: { designDoc: '方案 v1', customerFeedback: '认可' } });
    expect((await sun('POST', `/opportunities/${id}/complete-stage`, {})).status).toBe(202);
    const pending = (await apiAs(demo, 'li', ['supervisor', 'sales'], 'GET', '/approvals?state=pending')).body.items;
    const approval = pending.find((a: { opportunityId: string }) => a.opportunityId === id);
    expect(
      (await apiAs(demo, 'li', ['supervisor', 'sales'], 'POST', `/approvals/${approval.id}/approve`, {})).status,
    ).toBe(200);
    expect((await sun('POST', `/opportunities/${id}/orders`, { amount: 2_300_000 })).status).toBe(201);
    const sunPage = await openAs(demo.browser, demo.url, 'sun');
    errors.push(...sunPage.errors);
    await selectOpportunity(sunPage.page, '宝钢股份 数据中台');
    await expect.poll(() => currentStep(sunPage.page).innerText()).toBe('报价竞标');
    await stagePath(sunPage.page).getByRole('button', { name: '赢单' }).click();
    await stageBecomes(sunPage.page, '上门安装');
    await expect
      .poll(() => stagePath(sunPage.page).locator('form.panel').last().innerText())
      .toContain('售后人员：陈工');
    const chen = await openAs(demo.browser, demo.url, 'chen');
    errors.push(...chen.errors);
    await selectOpportunity(chen.page, '宝钢股份 数据中台');
    // The path shows the name before its actions for this viewer: wait for them.
    await expect.poll(() => stagePath(chen.page).getByRole('button', { name: '完成售后阶段' }).count()).toBe(1);

    // ---- The supervisor hands all of 张三's open opportunities to 赵六 in one step.
    const li = await openAs(demo.browser, demo.url, 'li');
    errors.push(...li.errors);
    await selectOpportunity(li.page, '中信银行 网点改造');
    await openMenuItem(li.page, '转移负责人');
    const reassign = stagePath(li.page).locator('dialog[open]');
    await reassign.locator('select[name="toOwnerId"]').selectOption('zhao');
    await reassign.locator('input[name="allOfOwner"]').check();
    await reassign.getByRole('button', { name: '转移负责人' }).click();
    await expect.poll(() => reassign.count()).toBe(0);
    await settled(li.page);
    const open = (await apiAs(demo, 'admin', ['admin'], 'GET', '/opportunities?limit=100')).body.items.filter(
      (o: { status: string; phase: string }) => o.status === 'open',
    );
    const owners = Object.fromEntries(open.map((o: { name: string; ownerId: string }) => [o.name, o.ownerId]));
    expect(owners['中信银行 网点改造']).toBe('zhao');
    expect(owners['华润置地 门店系统升级']).toBe('zhao');

    // ---- The audit trail shows each admin step: the designer's 变更记录 for the process, GET /audit for all.
    await d.getByRole('tab', { name: '变更记录' }).click();
    await expect.poll(() => d.locator('[part="history"]').innerText(), { timeout: 5000 }).toContain('发布');
    const trail = (await apiAs(demo, 'admin', ['admin'], 'GET', '/audit')).body.items as { action: string }[];
    const actions = trail.map((e) => e.action);
    expect(actions).toContain('field.update');
    expect(actions).toContain('process.publish');
    const publish = trail.find((e) => e.action === 'process.publish') as unknown as { diff: Record<string, unknown> };
    expect(publish.diff.postsaleTeam).toEqual([
      { userIds: [], departments: [] },
      { userIds: ['chen'], departments: [] },
    ]);
    expect(JSON.stringify(publish.diff.stages)).toContain('requiredContactRoles');
    expect(errors).toEqual([]);
  });
});
