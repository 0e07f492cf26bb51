/**
 * Preloaded into a benchmarked server (`node --expose-gc --import ./bench/mem-probe.mjs …`,
 * MEM_PROBE_FILE set): on SIGWINCH it collects garbage and appends one JSON line to
 * MEM_PROBE_FILE with process.memoryUsage(), the V8 heap spaces and the number of modules
 * loaded. Read by bench/sync.ts (MEMORY=1) and bench/scale.ts (--memory).
 */
import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';

const file = process.env.MEM_PROBE_FILE;
if (file)
  process.on('SIGWINCH', () => {
    globalThis.gc?.();
    globalThis.gc?.();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
    const heap = v8.getHeapStatistics();
    appendFileSync(
      file,
      `${JSON.stringify({
        at: Date.now(),
        memory: process.memoryUsage(),
        spaces,
        heap: { used: heap.used_heap_size, total: heap.total_heap_size, external: heap.external_memory },
        handles: process.getActiveResourcesInfo?.().length,
      })}\n`,
    );
  });
