/**
 * The kit embedded where it is meant to live: host pages on origins other than the kit's
 * server. A plain page loading only `/kit/sales-process-kit.js`, and React 19 and Vue 3
 * apps built with Vite from the packed tarballs. Each renders the seeded process, completes
 * a stage (the host hears `sp-stage-changed`), puts the stage form's value into its own
 * `<form>`, themes with `--sp-*`, and survives its token expiring mid-session: a form value
 * typed offline after expiry reaches the server through a token from `tokenProvider`.
 * A page on an origin the server does not trust gets no data.
 */
import { BEARER_SUBPROTOCOL_PREFIX, LIVE_SUBPROTOCOL, opportunityDocName } from '@sales-process/core';
import type { AdjustableClock } from '@sales-process/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../e2e/browser.js';
import { buildHosts, minter, removeScratch, startHost, startKitServer, type Host } from './harness.js';

type Kit = Awaited<ReturnType<typeof startKitServer>>;

describe('the kit embedded in hosts on other origins', () => {
  let kit: Kit;
  let browser: Browser;
  let scratch: string | undefined;
  const hosts: Record<'plain' | 'react' | 'vue' | 'refused', Host> = {} as never;
  let processId = '';
  let customerId = '';

  /** A REST call as a demo user, as the host's backend would make it. */
  async function api(user: string, method: string, path: string, body?: unknown) {
    const token = await minter(() => kit.server)(user);
    const res = await fetch(`${kit.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  beforeAll(async () => {
    const built = await buildHosts();
    scratch = built.scratch;
    const mint = minter(() => kit.server);
    hosts.plain = await startHost(built.plain, mint);
    hosts.react = await startHost(built.react, mint);
    hosts.vue = await startHost(built.vue, mint);
    hosts.refused = await startHost(built.plain, mint);
    kit = await startKitServer([hosts.plain.url, hosts.react.url, hosts.vue.url]);
    browser = await launchChromium();
    const processes = await api('admin', 'GET', '/processes');
    processId = processes.body.items[0].id;
    const customers = await api('admin', 'GET', '/customers');
    customerId = customers.body.items.find((c: { name: string }) => c.name === '华润置地').id;
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(Object.values(hosts).map((h) => h.close()));
    await kit?.close();
    removeScratch(scratch);
  });

  async function newOpportunity(name: string): Promise<string> {
    const res = await api('zhang', 'POST', '/opportunities', {
      name,
      customerId,
      amount: 300_000,
      currency: 'CNY',
      expectedCloseDate: '2027-06-30',
      processId,
    });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function open(
    host: Host,
    opportunityId: string,
  ): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const q = new URLSearchParams({ kit: kit.url, process: processId, opportunity: opportunityId });
    await page.goto(`${host.url}/?${q}`);
    return { context, page, errors };
  }

  for (const name of ['plain', 'react', 'vue'] as const) {
    it(`works in a ${name} host on another origin`, async () => {
      const oppName = `华润置地 嵌入测试 ${name}`;
      const id = await newOpportunity(oppName);
      const { context, page, errors } = await open(hosts[name], id);
      expect(new URL(hosts[name].url).origin).not.toBe(new URL(kit.url).origin);

      // The seeded process, the opportunity and the funnel render.
      const path = page.locator('opportunity-stage-path');
      const current = path.locator('li[aria-current="step"] .step-name');
      await expect.poll(() => path.locator('.name').innerText(), { timeout: 20_000 }).toBe(oppName);
      await expect.poll(() => current.innerText()).toBe('初次拜访');
      const designer = page.locator('sales-process-designer');
      await expect
        .poll(() => designer.locator('ol.stages li', { hasText: '需求分析匹配' }).count(), { timeout: 20_000 })
        .toBeGreaterThan(0);
      const funnel = page.locator('sales-funnel-chart');
      await expect.poll(() => funnel.getByText('方案设计').count(), { timeout: 20_000 }).toBeGreaterThan(0);

      // The host's theme reaches inside.
      const accent = await path
        .locator('button.primary')
        .first()
        .evaluate((b) => getComputedStyle(b).backgroundColor);
      expect(accent).toBe('rgb(1, 2, 3)');

      // Every token issued so far expires (the server's clock moves on), and the network drops.
      (kit.server.clock as AdjustableClock).advance(2 * 3600_000);
      await context.setOffline(true);
      const notes = `离线且令牌过期后写的（${name}）`;
      const input = page.locator('stage-feedback-form').locator('[data-key="stage.visitNotes"]');
      await input.fill(notes);
      await input.blur();
      // The stage form is a member of the host's <form>.
      const value = await page.evaluate(() =>
        new FormData(document.querySelector<HTMLFormElement>('#host-form')!).get('feedback'),
      );
      expect(String(value)).toContain(notes);

      // Back online: the live connection is refused with the old token, asks the host for a
      // new one, reconnects, and the edit reaches the server.
      await context.setOffline(false);
      await expect
        .poll(
          async () =>
            (await api('zhang', 'GET', `/opportunities/${id}`)).body.gates.find(
              (g: { key?: string }) => g.key === 'visitNotes',
            )?.met,
          { timeout: 20_000 },
        )
        .toBe(true);
      await path.getByRole('button', { name: '完成阶段' }).click();
      await expect.poll(() => current.innerText(), { timeout: 10_000 }).toBe('需求分析匹配');

      const probe = await page.evaluate(
        () =>
          (
            globalThis as unknown as {
              probe: { events: { type: string; detail: any }[]; tokenCalls: Record<string, number> };
            }
          ).probe,
      );
      expect(probe.events.some((e) => e.type === 'sp-stage-changed' && e.detail.opportunityId === id)).toBe(true);
      expect(probe.tokenCalls.zhang).toBeGreaterThanOrEqual(2);
      if (name !== 'plain') await expect.poll(() => page.locator('#moves').innerText()).toBe('1');
      expect(errors).toEqual([]);
      await context.close();
    });
  }

  it('gives a page on an origin it does not trust no data', async () => {
    const id = await newOpportunity('华润置地 不受信任的来源');
    const { context, page } = await open(hosts.refused, id);
    const path = page.locator('opportunity-stage-path');
    // The kit's code is public and loads; the element says it cannot reach its server.
    await expect.poll(() => path.locator('[part~="error"]').count(), { timeout: 10_000 }).toBe(1);
    expect(await path.locator('.name').count()).toBe(0);
    const probe = await page.evaluate(
      () => (globalThis as unknown as { probe: { events: { type: string; detail: any }[] } }).probe,
    );
    expect(probe.events.some((e) => e.type === 'sp-error')).toBe(true);

    // The browser refuses the answer: the server named no such origin.
    const token = await minter(() => kit.server)('zhang');
    const read = await page.evaluate(
      async ([url, t]) =>
        fetch(`${url}/api/v1/opportunities`, { headers: { authorization: `Bearer ${t}` } }).then(
          () => 'read',
          (e: Error) => e.name,
        ),
      [kit.url, token] as const,
    );
    expect(read).toBe('TypeError');
    const preflight = await fetch(`${kit.url}/api/v1/opportunities`, {
      method: 'OPTIONS',
      headers: {
        origin: hosts.refused.url,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    // Nor may it open a live document.
    const socket = await page.evaluate(
      ([url, doc, protocols]) =>
        new Promise<string>((done) => {
          const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/sync/${doc}`, [...protocols]);
          ws.onopen = () => done('open');
          ws.onclose = () => done('refused');
        }),
      [kit.url, opportunityDocName(id), [LIVE_SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX + token]] as const,
    );
    expect(socket).toBe('refused');
    await context.close();
  });
});
