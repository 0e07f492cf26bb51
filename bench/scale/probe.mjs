// Preloaded into the servers bench/scale.ts starts (`node --import bench/scale/probe.mjs …`):
// appends, every second, the event-loop delay of the second just past to SCALE_PROBE_FILE as
// `<epoch ms> <p99 ms> <max ms> <gc ms> <longest gc pause ms> <its kind>`, so the bench can
// tell a server's own queueing from the rest of a propagation delay, and a stall that is a
// garbage collection from one that is not. Plain JS: the compiled server runs without tsx.
import { appendFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.SCALE_PROBE_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  let gcMs = 0;
  let gcMax = 0;
  let gcKind = '-';
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      if (e.duration > gcMax) {
        gcMax = e.duration;
        gcKind = kinds[e.detail?.kind] ?? String(e.detail?.kind);
      }
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    appendFileSync(
      file,
      `${Date.now()} ${(h.percentile(99) / 1e6).toFixed(1)} ${(h.max / 1e6).toFixed(1)} ${gcMs.toFixed(1)} ${gcMax.toFixed(1)} ${gcKind}\n`,
    );
    h.reset();
    gcMs = 0;
    gcMax = 0;
    gcKind = '-';
  }, 1000).unref();
}
