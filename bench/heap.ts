/**
 * Heap snapshots of a spawned server, summarized by constructor (for bench/scale.ts and
 * bench/sync.ts' HEAP_SNAPSHOT option). The server runs with
 * `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>`; `snapshot()` signals it and
 * waits for the file; `summarize()` reads it and sums self sizes by constructor and by kind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Node flags that make a spawned process write a snapshot on SIGUSR2 into a fresh directory. */
export function heapFlags(): { flags: string[]; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sp-heap-'));
  return { flags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`], dir };
}

/** Signals `pid` and resolves with the snapshot's path once it is written (size stable). */
export async function snapshot(pid: number, dir: string, ms = 120_000): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const started = Date.now();
  let last = -1;
  while (Date.now() - started < ms) {
    await sleep(500);
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) return join(dir, file);
    last = size;
  }
  throw new Error('no heap snapshot written');
}

export interface HeapSummary {
  total: number;
  byKind: [string, number][];
  byConstructor: [string, number, number][];
  /** Every constructor: name, self size, count. */
  all: [string, number, number][];
}

/** Self sizes by node type ("kind": object, string, code, closure, array…) and by constructor (objects and closures). */
export function summarize(file: string, top = 25): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const byKind = new Map<string, number>();
  const byCtor = new Map<string, [number, number]>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const kind = types[snap.nodes[i + iType]!]!;
    const size = snap.nodes[i + iSize]!;
    total += size;
    byKind.set(kind, (byKind.get(kind) ?? 0) + size);
    const name =
      kind === 'object' || kind === 'closure' || kind === 'native'
        ? `${kind === 'object' ? '' : `(${kind}) `}${snap.strings[snap.nodes[i + iName]!]}`
        : `(${kind})`;
    const entry = byCtor.get(name) ?? [0, 0];
    entry[0] += size;
    entry[1]++;
    byCtor.set(name, entry);
  }
  const all = [...byCtor].map(([n, [s, c]]) => [n, s, c] as [string, number, number]).sort((a, b) => b[1] - a[1]);
  return { total, byKind: [...byKind].sort((a, b) => b[1] - a[1]), byConstructor: all.slice(0, top), all };
}

export function printSummary(label: string, s: HeapSummary): void {
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.log(`  heap snapshot (${label}): ${mb(s.total)} MB`);
  console.log(`    by kind: ${s.byKind.map(([k, n]) => `${k} ${mb(n)}`).join(', ')}`);
  console.log('    by constructor (self MB, count):');
  for (const [name, size, count] of s.byConstructor)
    console.log(`      ${name.slice(0, 48).padEnd(48)} ${mb(size).padStart(7)} ${String(count).padStart(9)}`);
}

/** What grew from one summary to the next, by constructor (self MB and count, the largest growth first). */
export function printGrowth(label: string, before: HeapSummary, after: HeapSummary, per = 1, top = 20): void {
  const was = new Map(before.all.map(([n, s, c]) => [n, [s, c] as const]));
  const grown = after.all
    .map(([n, s, c]) => [n, s - (was.get(n)?.[0] ?? 0), c - (was.get(n)?.[1] ?? 0)] as [string, number, number])
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  const kb = (n: number) => (n / 1024).toFixed(1);
  console.log(`  heap growth ${label} (${kb((after.total - before.total) / per)} KB each):`);
  for (const [name, size, count] of grown)
    console.log(
      `      ${name.slice(0, 48).padEnd(48)} ${kb(size / per).padStart(8)} KB ${(count / per).toFixed(1).padStart(8)} objects`,
    );
}

export function removeDir(dir: string): void {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}
