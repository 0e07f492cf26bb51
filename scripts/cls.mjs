#!/usr/bin/env node
/**
 * Cumulative Layout Shift of the demo as Chromium reports it (layout-shift entries, the
 * figure Lighthouse prints), on a phone-sized viewport like Lighthouse's mobile run:
 *   node scripts/cls.mjs [--url http://127.0.0.1:8787] [--runs 3] [--cpu 4]
 * Without --url it starts the compiled server (`pnpm build` first) on port 18799 with an
 * in-memory database and the demo data, and stops it after. Each run loads each page
 * fresh (no cache), waits until nothing shifts for 2 s, and prints CLS as Lighthouse
 * counts it (the largest session window: shifts less than 1 s apart, at most 5 s) with the
 * elements that moved most. Prints figures; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(option('--runs', 3));
const cpu = Number(option('--cpu', 4));
let base = option('--url', undefined);
const PAGES = ['/', '/?user=li', '/?user=admin', '/?user=zhang&view=board'];

let server;
if (!base) {
  const port = 18799;
  base = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, ['packages/server/dist/main.js'], {
    cwd: new URL('..', import.meta.url).pathname,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, PORT: String(port), DATA_DIR: 'memory://', LOG_LEVEL: 'warn' },
  });
  for (let i = 0; ; i++) {
    const up = await fetch(`${base}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (up) break;
    if (i > 600) throw new Error('the server did not answer /healthz');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});

async function measure(path) {
  const context = await browser.newContext({
    viewport: { width: 412, height: 823 },
    deviceScaleFactor: 1.75,
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpu });
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await page.addInitScript(() => {
    window.__shifts = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.hadRecentInput) continue;
        window.__shifts.push({
          t: e.startTime,
          value: e.value,
          sources: (e.sources ?? []).map((s) => {
            const n = s.node;
            const name = n?.nodeType === 1 ? n.localName + (n.id ? `#${n.id}` : '') : (n?.nodeName ?? '?');
            const from = s.previousRect;
            const to = s.currentRect;
            return `${name} ${Math.round(from.y)}→${Math.round(to.y)} (h ${Math.round(from.height)}→${Math.round(to.height)})`;
          }),
        });
      }
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await page.goto(base + path, { waitUntil: 'load' });
  // Settled: no new shift for 2 s (at most 15 s).
  let count = -1;
  for (let waited = 0; waited < 15_000; waited += 2000) {
    await page.waitForTimeout(2000);
    const now = await page.evaluate(() => window.__shifts.length);
    if (now === count) break;
    count = now;
  }
  const shifts = await page.evaluate(() => window.__shifts);
  await context.close();
  // Lighthouse's CLS: the largest session window.
  let best = 0;
  let window = 0;
  let first = 0;
  let last = -Infinity;
  for (const s of shifts) {
    if (s.t - last > 1000 || s.t - first > 5000) {
      window = 0;
      first = s.t;
    }
    window += s.value;
    last = s.t;
    best = Math.max(best, window);
  }
  const total = shifts.reduce((sum, s) => sum + s.value, 0);
  return { cls: best, total, shifts };
}

try {
  for (const path of PAGES) {
    const figures = [];
    let worst;
    for (let i = 0; i < runs; i++) {
      const r = await measure(path);
      figures.push(r.cls);
      if (!worst || r.cls > worst.cls) worst = r;
    }
    figures.sort((a, b) => a - b);
    console.log(
      `cls: ${path.padEnd(26)} median ${figures[Math.floor(figures.length / 2)].toFixed(3)}  (runs ${figures.map((f) => f.toFixed(3)).join(' ')}; CPU ${cpu}× slower, 412×823)`,
    );
    for (const s of worst.shifts.filter((s) => s.value >= 0.005).slice(0, 6))
      console.log(`       ${Math.round(s.t)} ms  ${s.value.toFixed(3)}  ${s.sources.join('; ')}`);
  }
} finally {
  await browser.close();
  if (server) process.kill(-server.pid, 'SIGTERM');
}
