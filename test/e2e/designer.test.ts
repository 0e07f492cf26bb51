import { seedProcessDefinition } from '@sales-process/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, openAs, startDemo } from './harness.js';

type Demo = Awaited<ReturnType<typeof startDemo>>;
/** A field's id in the designer's controls (`source:key`). */
const fieldUid = (source: string, key: string) => `${source}:${key}`;
const designer = (page: Page) => page.locator('sales-process-designer');
const stageItem = (page: Page, name: string) => designer(page).locator('ol.stages li', { hasText: name });

async function addStage(page: Page, name: string, winRate?: number) {
  await designer(page).getByRole('button', { name: '+ 添加阶段' }).click();
  await designer(page).locator('#stage-name').fill(name);
  if (winRate !== undefined) {
    await designer(page).locator('#stage-win-rate').fill(String(winRate));
    await designer(page).locator('#stage-win-rate').blur();
  }
  await expect.poll(() => stageItem(page, name).count()).toBe(1);
}

async function addStageField(page: Page, zh: string, en: string, type: string, required: boolean) {
  const d = designer(page);
  await d.locator('#new-field-zh').fill(zh);
  await d.locator('input[name="en"]').fill(en);
  await d.locator('select[name="type"]').selectOption(type);
  await d.locator('#new-field-zh').press('Enter');
  const key = en.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ? c.toUpperCase() : ''));
  const row = d.locator(`tr[data-field="stage:${key[0]!.toLowerCase()}${key.slice(1)}"]`);
  await expect.poll(() => row.count()).toBe(1);
  if (required) await row.locator('input[type="checkbox"]').check();
}

async function setNumber(page: Page, selector: string, value: number) {
  const input = designer(page).locator(selector);
  await input.fill(String(value));
  await input.blur();
}

async function publish(page: Page) {
  await designer(page).getByRole('button', { name: '发布…' }).click();
  const dialog = designer(page).locator('dialog');
  const confirm = dialog.getByRole('button', { name: '确认发布' });
  await expect.poll(() => confirm.isEnabled(), { timeout: 5000 }).toBe(true);
  await confirm.click();
  await expect
    .poll(() => dialog.locator('[role="status"] strong').innerText(), { timeout: 5000 })
    .toMatch(/已发布：版本 v\d+/);
  const text = await dialog.locator('[role="status"] strong').innerText();
  await dialog.getByRole('button', { name: '关闭' }).click();
  return text;
}

describe('the process designer, in the demo', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo();
  });
  afterAll(() => demo?.close());

  it('lets two admins edit one draft live, then publishes it to existing and new opportunities', async () => {
    const a = await openAs(demo.browser, demo.url, 'admin');
    const b = await openAs(demo.browser, demo.url, 'admin');
    for (const { page } of [a, b]) {
      await page.locator('[data-edit]').first().click();
      await expect.poll(() => designer(page).locator('ol.stages li').count()).toBe(4);
    }
    // A adds a stage and sets its win rate; B sees it within a second.
    await addStage(a.page, '资格审查', 5);
    let started = Date.now();
    await expect.poll(() => stageItem(b.page, '资格审查').innerText(), { timeout: 1000 }).toContain('5%');
    expect(Date.now() - started).toBeLessThan(1000);
    // B edits its requirements; A sees that.
    await stageItem(b.page, '资格审查').click();
    await designer(b.page).locator('#stage-requirements').fill('确认预算与决策人');
    started = Date.now();
    await expect
      .poll(() => designer(a.page).locator('#stage-requirements').inputValue(), { timeout: 1000 })
      .toBe('确认预算与决策人');
    expect(Date.now() - started).toBeLessThan(1000);
    // Presence: A sees B on that stage.
    await expect.poll(() => stageItem(a.page, '资格审查').locator('.dot').count()).toBeGreaterThan(0);
    // A moves it to the front by keyboard and publishes, updating existing data.
    await stageItem(a.page, '资格审查').focus();
    await a.page.keyboard.press('Enter');
    for (let i = 0; i < 4; i++) await a.page.keyboard.press('ArrowUp');
    await a.page.keyboard.press('Enter');
    await expect.poll(() => designer(a.page).locator('ol.stages li').first().innerText()).toContain('资格审查');
    await expect
      .poll(() => designer(b.page).locator('ol.stages li').first().innerText(), { timeout: 1000 })
      .toContain('资格审查');
    expect(await publish(a.page)).toBe('已发布：版本 v2');
    // An opportunity created afterwards starts in the new stage.
    const processes = (await apiAs(demo, 'zhang', ['sales'], 'GET', '/processes?usableBy=zhang')).body.items;
    const customers = (await apiAs(demo, 'zhang', ['sales'], 'GET', '/customers')).body.items;
    const created = await apiAs(demo, 'zhang', ['sales'], 'POST', '/opportunities', {
      name: '新商机',
      customerId: customers[0].id,
      amount: 1000,
      processId: processes[0].id,
    });
    expect(created.body).toMatchObject({ processVersion: 2, stageName: '资格审查', winRate: 5 });
    expect(created.body.stageRequirements).toBe('确认预算与决策人');
    // Existing ones moved to v2 and kept their stages.
    const existing = (await apiAs(demo, 'zhang', ['sales'], 'GET', '/opportunities?limit=50')).body.items.filter(
      (o: { name: string }) => o.name !== '新商机',
    );
    expect(
      existing.every(
        (o: { processVersion: number; stageName: string }) => o.processVersion === 2 && o.stageName === '初次拜访',
      ),
    ).toBe(true);
    expect([...a.errors, ...b.errors]).toEqual([]);
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it("builds the seed's 重要客户销售流程 from an empty draft through the UI alone, and publishes it", async () => {
    const { page, errors, context } = await openAs(demo.browser, demo.url, 'admin');
    await page.locator('#new-process input[name="name"]').fill('重要客户销售流程（重建）');
    await page.locator('#new-process button').click();
    await expect.poll(() => designer(page).locator('#process-name').inputValue()).toBe('重要客户销售流程（重建）');
    expect(await designer(page).locator('.summary').innerText()).toContain('至少需要一个售前阶段');

    // Pre-sale stages, their forms and gates.
    await addStage(page, '初次拜访', 10);
    await designer(page).locator('#stage-requirements').fill('确认项目的直接联系人和关键决策人');
    await setNumber(page, '#stage-remind', 7);
    await setNumber(page, '#stage-min-contacts', 2);
    await designer(page).locator('#add-existing').selectOption('customer:industry');
    await designer(page).locator('form:has(#add-existing) button[type="submit"]').click();
    await designer(page).locator('tr[data-field="customer:industry"] input[type="checkbox"]').check();
    await designer(page).locator('#add-existing').selectOption(fieldUid('opportunity', 'amount'));
    await designer(page).locator('form:has(#add-existing) button[type="submit"]').click();
    await addStageField(page, '拜访记录', 'Visit notes', 'textarea', true);

    await addStage(page, '需求分析匹配', 30);
    await setNumber(page, '#stage-remind', 14);
    await addStageField(page, '需求摘要', 'Needs summary', 'textarea', true);

    await addStage(page, '方案设计', 50);
    await setNumber(page, '#stage-remind', 14);
    await designer(page).locator('#stage-approval').check();
    await addStageField(page, '设计方案', 'Design doc', 'textarea', true);
    await addStageField(page, '客户意见', 'Customer feedback', 'textarea', true);

    await addStage(page, '报价竞标', 80);
    await setNumber(page, '#stage-remind', 10);
    await designer(page).locator('#add-existing').selectOption(fieldUid('opportunity', 'expectedCloseDate'));
    await designer(page).locator('form:has(#add-existing) button[type="submit"]').click();
    await designer(page)
      .locator(`tr[data-field="${fieldUid('opportunity', 'expectedCloseDate')}"] input[type="checkbox"]`)
      .check();

    // Post-sale stages with reminders and timeouts.
    await designer(page).getByRole('tab', { name: '售后阶段' }).click();
    for (const [name, remind, overdue] of [
      ['上门安装', 2, 5],
      ['实施培训', 5, 10],
      ['验收', 3, 7],
    ] as const) {
      await addStage(page, name);
      await setNumber(page, '#stage-remind', remind);
      await setNumber(page, '#stage-overdue', overdue);
    }
    await stageItem(page, '实施培训').click();
    await addStageField(page, '客户反馈的问题', 'Issues', 'textarea', false);

    // Rules and scope.
    await designer(page).getByRole('tab', { name: '规则' }).click();
    await designer(page).locator('#rule-order-to-win').check();
    await designer(page).locator('#rule-order-after').selectOption({ label: '方案设计' });
    await designer(page).getByRole('tab', { name: '适用部门' }).click();
    await designer(page).locator('input[data-department="sales"]').check();
    await expect.poll(() => designer(page).locator('.summary').innerText()).toContain('可以发布');

    expect(await publish(page)).toBe('已发布：版本 v1');
    const processes = (await apiAs(demo, 'admin', ['admin'], 'GET', '/processes')).body.items;
    const rebuilt = (
      await apiAs(
        demo,
        'admin',
        ['admin'],
        'GET',
        `/processes/${processes.find((p: { name: string }) => p.name === '重要客户销售流程（重建）').id}`,
      )
    ).body;
    expect(rebuilt).toMatchObject({ status: 'enabled', version: 1, departments: ['sales'] });
    // Everything but the generated stage ids and the requirement texts we did not retype matches the seed.
    const shape = (def: typeof seedProcessDefinition) => ({
      presale: def.presale.map((s) => ({
        name: s.name,
        winRate: s.winRate,
        remind: s.remindAfterDays,
        approval: s.requiresApproval,
        minContacts: s.minContacts,
        fields: s.fields.map((f) => `${f.source}.${f.key}${f.required ? '*' : ''}`),
      })),
      postsale: def.postsale.map((s) => ({
        name: s.name,
        remind: s.remindAfterDays,
        overdue: s.overdueAfterDays,
        fields: s.fields.map((f) => `${f.source}.${f.key}${f.required ? '*' : ''}`),
      })),
      terminal: def.terminal,
      rules: {
        ...def.rules,
        orderAllowedAfterStage: def.presale.find((s) => s.id === def.rules.orderAllowedAfterStage)?.name,
      },
    });
    expect(shape(rebuilt.definition)).toEqual(shape(seedProcessDefinition));
    expect(rebuilt.definition.presale[0].requirements).toBe('确认项目的直接联系人和关键决策人');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('works inside a React host too', async () => {
    const { page, errors, context } = await openAs(demo.browser, demo.url, 'admin', '&react=1');
    await page.locator('[data-edit]').first().click();
    await expect
      .poll(() => page.locator('.react-host sales-process-designer ol.stages li').count(), { timeout: 10_000 })
      .toBeGreaterThan(3);
    await page.locator('.react-host sales-process-designer').getByRole('tab', { name: '终结态' }).click();
    await page.locator('.react-host sales-process-designer #terminal-invalid-name').fill('无效商机');
    await page.locator('.react-host sales-process-designer #terminal-invalid-name').blur();
    expect(await publish(page)).toMatch(/已发布/);
    await expect.poll(() => page.locator('.react-host > p').innerText()).toContain('update-existing');
    expect(errors).toEqual([]);
    await context.close();
  });
});
