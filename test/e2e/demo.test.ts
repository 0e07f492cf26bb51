import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createServer, openDatabase, seedDemo, type SalesProcessServer } from '@sales-process/server';
import type { Browser } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';

const DIST = resolve(import.meta.dirname, '../../apps/demo/dist');

describe('the demo app', () => {
  let server: SalesProcessServer;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(resolve(DIST, 'index.html'))) throw new Error('build the demo first: pnpm build');
    const database = await openDatabase({ dataDir: 'memory://' });
    server = await createServer({ database, dev: true, logger: pino({ level: 'silent' }), staticDir: DIST });
    await seedDemo(server.services);
    ({ url } = await server.listen(0, '127.0.0.1'));
    browser = await launchChromium();
    // Close the database after the server stops.
    const close = server.close;
    server.close = async () => {
      await close();
      await database.close();
    };
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("renders the seeded process' stages and an opportunity's path from the database", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/?user=sun`);
    const processes = page.locator('[data-process]');
    await expect.poll(() => processes.count()).toBe(1);
    const text = await processes.first().innerText();
    for (const stage of ['初次拜访', '需求分析匹配', '方案设计', '报价竞标', '上门安装', '实施培训', '验收'])
      expect(text).toContain(stage);
    // The element's shadow DOM: the seeded opportunity of 孙七 sits in 需求分析匹配.
    const current = page.locator('opportunity-stage-path li[aria-current="step"]');
    await expect.poll(() => current.count(), { timeout: 10_000 }).toBe(1);
    expect(await current.innerText()).toContain('需求分析匹配');
    expect(await page.locator('opportunity-stage-path .name').first().innerText()).toBe('宝钢股份 数据中台');
    expect(errors).toEqual([]);
    await page.close();
  });
});
