import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// packages/core runs in the browser and in Node: it may import only these (typecheck also
// compiles it with no DOM and no Node types).
const ALLOWED = new Set(['zod', 'yjs']);

describe('packages/core', () => {
  it('imports nothing from Node or the DOM', () => {
    const dir = import.meta.dirname;
    const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('testing'),
    );
    expect(sources.length).toBeGreaterThan(5);
    const offenders: string[] = [];
    for (const file of sources) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s(?:[^'"]*from\s*)?['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (!spec.startsWith('.') && !ALLOWED.has(spec)) offenders.push(`${file}: ${spec}`);
      }
      for (const global of ['document', 'window', 'process', 'Buffer', 'require(']) {
        const used = new RegExp(`(?<![\\w.-])${global.replace('(', '\\(')}${global.endsWith('(') ? '' : '\\.'}`).test(
          text,
        );
        if (used) offenders.push(`${file}: ${global}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
