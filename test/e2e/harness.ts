import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createServer, openDatabase, seedDemo, type SalesProcessServer } from '@sales-process/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import pino from 'pino';
import { expect } from 'vitest';
import { launchChromium } from './browser.js';

export const DIST = resolve(import.meta.dirname, '../../apps/demo/dist');

/**
 * The demo app on a real server (PGlite in memory, dev mode, seeded) and a browser. The
 * server keeps its default timings (form flush, doc unload): a test on shorter ones would
 * hide a value lost between typing and the next command.
 */
export async function startDemo(): Promise<{
  server: SalesProcessServer;
  url: string;
  browser: Browser;
  close(): Promise<void>;
}> {
  if (!existsSync(resolve(DIST, 'index.html'))) throw new Error('build the demo first: pnpm build');
  const database = await openDatabase({ dataDir: 'memory://' });
  const server = await createServer({
    database,
    dev: true,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    staticDir: DIST,
  });
  await seedDemo(server.services);
  const { url } = await server.listen(0, '127.0.0.1');
  const browser = await launchChromium();
  return {
    server,
    url,
    browser,
    async close() {
      await browser.close();
      await server.close();
      await database.close();
    },
  };
}

/**
 * The demo re-renders its whole view (a new provider, path and form) 50 ms after a path or
 * inbox in the page fires one of these events, once its list is fetched again (apps/demo/src/main.ts).
 * A test that acts on the old elements meanwhile clicks or types into elements about to be
 * thrown away. This script, run in every page before the demo, notes each such event and
 * each new `<sales-process-provider>` mounted at least 50 ms after one; `settled(page)` waits
 * until every event has been followed by its re-mount.
 */
const TRACK_REMOUNTS = `(() => {
  const pending = [];
  for (const type of ['sp-stage-changed', 'sp-approval-decided', 'sp-opportunity-edited', 'sp-opportunity-reassigned'])
    document.addEventListener(type, (e) => {
      if (e.target && e.target.localName !== 'opportunity-board') pending.push(performance.now());
    }, true);
  new MutationObserver((records) => {
    for (const record of records)
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1 || node.localName !== 'sales-process-provider') continue;
        const now = performance.now();
        const i = pending.findIndex((t) => t + 45 <= now);
        if (i >= 0) pending.splice(i, 1);
      }
  }).observe(document, { childList: true, subtree: true });
  window.__spRemountsPending = () => pending.length;
})();`;

/**
 * Resolves once the demo has re-mounted its view for every stage, approval, edit or owner
 * change fired in the page so far. Call it after seeing the change's effect (the event is
 * fired before the element shows the result), before acting on the page again.
 */
export async function settled(page: Page): Promise<void> {
  // A function, not a string: the demo's CSP forbids eval, and a function is called over CDP.
  await page.waitForFunction(
    () => {
      const pending = (globalThis as { __spRemountsPending?: () => number }).__spRemountsPending;
      return pending ? pending() === 0 : true;
    },
    undefined,
    { polling: 20, timeout: 20_000 },
  );
}

/** A page of the demo as one user, with page errors collected. */
export async function openAs(
  browser: Browser,
  url: string,
  user: string,
  extra = '',
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.addInitScript(TRACK_REMOUNTS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/?user=${user}${extra}`);
  return { context, page, errors };
}

/** A REST call to the demo as one user (a dev token with these roles), answered as status and JSON body. */
export async function apiAs(
  demo: { url: string },
  user: string,
  roles: string[],
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const { token } = await (
    await fetch(`${demo.url}/api/v1/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: user, tenant: 'demo', roles }),
    })
  ).json();
  const res = await fetch(`${demo.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

// The demo's salesperson view: its path, the path's current step and the stage form.
export const stagePath = (page: Page) => page.locator('opportunity-stage-path');
export const currentStep = (page: Page) => stagePath(page).locator('li[aria-current="step"] .step-name');
export const stageForm = (page: Page) => page.locator('stage-feedback-form');

/**
 * Selects an opportunity in the demo's list and waits until the path shows it, not the one
 * shown before (several demo opportunities share a stage, so the stage alone proves nothing).
 */
export async function selectOpportunity(page: Page, name: string): Promise<void> {
  await page.locator(`[data-select]:has-text("${name}")`).first().click();
  await expect.poll(() => stagePath(page).locator('.name').innerText()).toBe(name);
}

/**
 * A stage change in the page: the path shows it, the demo re-mounts its view for it, and the
 * new path shows it too. Acting before the re-mount would act on elements being replaced.
 */
export async function stageBecomes(page: Page, name: string): Promise<void> {
  try {
    await expect.poll(() => currentStep(page).innerText()).toBe(name);
  } catch (error) {
    // Say what the page shows instead: a refusal on the path is another failure than a slow one.
    const shown = await currentStep(page)
      .innerText({ timeout: 1000 })
      .catch(() => '?');
    const refusal = await stagePath(page)
      .locator('.refusal')
      .innerText({ timeout: 1000 })
      .catch(() => 'none');
    throw new Error(`the stage is still "${shown}", not "${name}" (refusal on the path: ${refusal})`, {
      cause: error,
    });
  }
  await settled(page);
  await expect.poll(() => currentStep(page).innerText()).toBe(name);
}

/** Types into a stage-form field and leaves it (the form saves on change). */
export async function fillField(page: Page, key: string, value: string): Promise<void> {
  const input = stageForm(page).locator(`[data-key="${key}"]`);
  await input.fill(value);
  await input.blur();
}
