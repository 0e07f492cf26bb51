#!/usr/bin/env node
/**
 * How long the app takes from its start command to a 200 on `/healthz`:
 *   node scripts/start-time.mjs [--runs N] [--port P] [-- command…]
 * Runs the command (default `pnpm start`) in its own process group with PORT set, polls
 * `http://127.0.0.1:PORT/healthz` every 20 ms, prints the milliseconds, then stops the
 * group (SIGTERM, SIGKILL after 10 s) and waits until none of it is left, N times in a row (default 3: the
 * first may build; the others are restarts). Prints figures; asserts nothing.
 */
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const command = dash >= 0 ? args.slice(dash + 1) : ['pnpm', 'start'];
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && (dash < 0 || i < dash) ? Number(args[i + 1]) : fallback;
};
const runs = option('--runs', 3);
const port = option('--port', 18787);
const timeoutMs = option('--timeout', 180_000);

/** Whether any process of the group is left. */
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function once() {
  const started = performance.now();
  const child = spawn(command[0], command.slice(1), {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let ms;
  let gone = false;
  exited.then(() => {
    gone = true;
  });
  while (!gone && performance.now() - started < timeoutMs) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) {
      ms = performance.now() - started;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!gone) {
    process.kill(-child.pid, 'SIGTERM');
    const force = setTimeout(() => groupAlive(child.pid) && process.kill(-child.pid, 'SIGKILL'), 10_000);
    await exited;
    // `pnpm` may exit before the server it started: the next run must not find it still answering.
    while (groupAlive(child.pid)) await new Promise((r) => setTimeout(r, 20));
    clearTimeout(force);
  }
  if (ms === undefined) throw new Error(`no /healthz within ${timeoutMs} ms (exited: ${gone})\n${stderr}`);
  return ms;
}

const figures = [];
for (let i = 0; i < runs; i++) {
  const ms = await once();
  figures.push(ms);
  console.log(`start-time: run ${i + 1}: ${Math.round(ms)} ms to /healthz (${command.join(' ')})`);
}
const later = figures.slice(1).sort((a, b) => a - b);
if (later.length) console.log(`start-time: restarts median ${Math.round(later[Math.floor(later.length / 2)])} ms`);
