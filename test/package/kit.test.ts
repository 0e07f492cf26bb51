/**
 * The one-script kit (packages/elements/dist/kit) from another origin: a page on one port
 * with nothing but `<script type="module" src="http://127.0.0.1:<other port>/kit/sales-process-kit.js">`.
 * The tags on the page upgrade, only their chunks are fetched (all from the kit's origin), a
 * tag added later loads on sight, and elements find their provider even when it registers
 * after them. No kit server is needed: upgrading does not wait for data.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../e2e/browser.js';
import { opportunityFixture } from '../../packages/elements/src/testing/fixtures.js';
import { ensureBuilt, ROOT } from './pack.js';

const KIT = join(ROOT, 'packages/elements/dist/kit');

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

let browser: Browser;
let kit: { server: Server; origin: string };
let host: { server: Server; origin: string };
const pages: Record<string, string> = {};

beforeAll(async () => {
  await ensureBuilt();
  // The kit's origin: the built files, with the CORS header module scripts need.
  kit = await listen((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/kit\//, '');
    const file = join(KIT, path);
    if (!file.startsWith(KIT) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': file.endsWith('.js') ? 'text/javascript' : 'application/json',
      'access-control-allow-origin': '*',
    });
    createReadStream(file).pipe(res);
  });
  // The host's origin: plain pages.
  host = await listen((req, res) => {
    const body = pages[new URL(req.url ?? '/', 'http://x').pathname];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  kit?.server.close();
  host?.server.close();
});

const page = (body: string) =>
  `<!doctype html><html lang="en"><head><script type="module" src="${kit.origin}/kit/sales-process-kit.js"></script></head><body>${body}</body></html>`;

async function open(path: string, body: string): Promise<{ page: Page; requests: string[] }> {
  pages[path] = page(body);
  const p = await browser.newPage();
  const requests: string[] = [];
  p.on('request', (r) => requests.push(r.url()));
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${host.origin}${path}`);
  expect(errors).toEqual([]);
  return { page: p, requests };
}

const connectionOf = (p: Page, selector: string) =>
  p.evaluate(
    (s) =>
      (document.querySelector(s) as unknown as { connection?: { baseUrl: string } } | null)?.connection?.baseUrl ??
      null,
    selector,
  );

describe('the one-script kit from another origin', () => {
  it('upgrades the tags on the page, fetching only their chunks, from the kit origin', async () => {
    const { page: p, requests } = await open(
      '/path-and-form.html',
      `<sales-process-provider base-url="${kit.origin}" token="t">
         <opportunity-stage-path opportunity-id="o1"></opportunity-stage-path>
         <form><stage-feedback-form opportunity-id="o1" name="feedback"></stage-feedback-form></form>
       </sales-process-provider>`,
    );
    await p.waitForFunction(
      () =>
        ['sales-process-provider', 'opportunity-stage-path', 'stage-feedback-form'].every((t) => customElements.get(t)),
      undefined,
      { timeout: 15_000 },
    );
    expect(
      await p.evaluate(() =>
        ['opportunity-stage-path', 'stage-feedback-form'].map((t) => !!document.querySelector(t)?.shadowRoot),
      ),
    ).toEqual([true, true]);
    // The elements inside the provider got its connection.
    expect(await connectionOf(p, 'opportunity-stage-path')).toBe(kit.origin);
    expect(await connectionOf(p, 'stage-feedback-form')).toBe(kit.origin);

    const scripts = requests.filter((u) => u.endsWith('.js'));
    expect(scripts.every((u) => u.startsWith(`${kit.origin}/kit/`))).toBe(true);
    // The stage path and the stage form share one chunk (src/kit/stage-path-form.ts).
    expect(scripts.some((u) => /\/chunks\/stage-path-form-[\w-]{8,}\.js$/.test(u))).toBe(true);
    expect(scripts.some((u) => /designer|funnel|notifications|approval-inbox/.test(u))).toBe(false);
    // The path's record actions and the form's contact gates load on first use, not with the page.
    expect(scripts.some((u) => /record-actions|contact-gates|path-form-extras/.test(u))).toBe(false);
    expect(await p.evaluate(() => customElements.get('sales-process-designer'))).toBeUndefined();

    // A tag that appears later loads on sight.
    await p.evaluate(() => document.body.append(document.createElement('sales-funnel-chart')));
    await p.waitForFunction(() => !!customElements.get('sales-funnel-chart'), undefined, { timeout: 15_000 });
    expect(requests.some((u) => /\/chunks\/sales-funnel-chart-[\w-]{8,}\.js$/.test(u))).toBe(true);
    await p.close();
  });

  it('hands the provider to elements that registered before it', async () => {
    const { page: p } = await open(
      '/late-provider.html',
      `<opportunity-stage-path opportunity-id="o1"></opportunity-stage-path>`,
    );
    await p.waitForFunction(() => !!customElements.get('opportunity-stage-path'), undefined, { timeout: 15_000 });
    expect(await p.evaluate(() => customElements.get('sales-process-provider'))).toBeUndefined();
    // The path inside upgrades at once (its tag is defined); the provider around it comes later.
    await p.evaluate((origin) => {
      const provider = document.createElement('sales-process-provider');
      provider.setAttribute('base-url', origin);
      provider.setAttribute('token', 't');
      provider.innerHTML = '<opportunity-stage-path id="late" opportunity-id="o2"></opportunity-stage-path>';
      document.body.append(provider);
    }, kit.origin);
    await p.waitForFunction(() => !!customElements.get('sales-process-provider'), undefined, { timeout: 15_000 });
    await p.waitForFunction(
      () => !!(document.querySelector('#late') as unknown as { connection?: unknown }).connection,
      undefined,
      { timeout: 5_000 },
    );
    expect(await connectionOf(p, '#late')).toBe(kit.origin);
    await p.close();
  });

  it("loads the path's record actions and the form's contact gates as one chunk, on first use", async () => {
    const { page: p, requests } = await open('/extras.html', '');
    await p.evaluate((view) => {
      // An owner's token (unsigned: nothing here asks a server) and the opportunity set directly.
      const claims = btoa(JSON.stringify({ sub: view.ownerId, roles: ['sales'] })).replace(/=+$/, '');
      const path = Object.assign(document.createElement('opportunity-stage-path'), {
        live: false,
        token: `x.${claims}.y`,
      });
      document.body.append(path);
      return customElements
        .whenDefined('opportunity-stage-path')
        .then(() => Object.assign(path, { opportunity: view }));
    }, opportunityFixture());
    const more = p.locator('opportunity-stage-path [part~="more"]');
    await more.click();
    await p.locator('opportunity-stage-path [role="menuitem"]').first().waitFor({ timeout: 15_000 });
    expect(await p.locator('opportunity-stage-path [role="menuitem"]').count()).toBeGreaterThan(0);
    const extras = requests.filter((u) => /\/chunks\/path-form-extras-[\w-]{8,}\.js$/.test(u));
    expect(extras).toHaveLength(1);
    // The same chunk holds the contact gates: both classes, each with its render().
    // (A string: vitest would rewrite an import() in a function.)
    const renders = await p.evaluate(
      `import(${JSON.stringify(extras[0])}).then((m) => Object.values(m).filter((c) => typeof c === 'function' && 'render' in c.prototype).length)`,
    );
    expect(renders).toBe(2);
    await p.close();
  });
});
