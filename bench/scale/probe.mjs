// Preloaded into the servers bench/scale.ts starts (`node --import bench/scale/probe.mjs …`):
// appends, every second, the event-loop delay of the second just past to SCALE_PROBE_FILE as
// `<epoch ms> <p99 ms> <max ms>`, so the bench can tell a server's own queueing from the rest
// of a propagation delay. Plain JS: the compiled server runs without tsx.
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.SCALE_PROBE_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  setInterval(() => {
    appendFileSync(file, `${Date.now()} ${(h.percentile(99) / 1e6).toFixed(1)} ${(h.max / 1e6).toFixed(1)}\n`);
    h.reset();
  }, 1000).unref();
}
