import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DOC_KINDS,
  DOC_NAME_HINT,
  docName,
  opportunityDocName,
  parseDocName,
  processDraftDocName,
} from './live-protocol.js';

const repo = join(import.meta.dirname, '../../..');
const core = join(repo, 'packages/core');

/** Every TypeScript/JavaScript source outside core: packages, apps, tests, benchmarks, scripts. */
function sourcesOutsideCore(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', 'dist', '.data', '.test-results', 'test-output'].includes(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== core) walk(path);
      } else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name)) out.push(path);
    }
  };
  for (const top of ['packages', 'apps', 'test', 'bench', 'scripts']) walk(join(repo, top));
  return out;
}

/**
 * What only core may spell: a doc name (its kind followed by `:`, or the kind alone in
 * quotes), a root name read straight off a doc, a message type given a number, a message
 * type written as a number.
 */
const LITERALS: [string, RegExp][] = [
  ...DOC_KINDS.map((kind): [string, RegExp] => [`doc name ${kind}:`, new RegExp(`['"\`]${kind}:`)]),
  ['doc kind process-draft', /['"`]process-draft['"`]/],
  ['root name', /getMap\(\s*['"`](form|server|draft)['"`]\s*\)/],
  ['message type defined', /\bMESSAGE_[A-Z_]+\s*=\s*\d/],
  ['message type as a number', /writeVarUint\(\s*\w+\s*,\s*\d+\s*\)|handlers\[\s*\d+\s*\]/],
];

describe('the live protocol', () => {
  it('names docs and parses exactly those names back', () => {
    expect(processDraftDocName('proc_1')).toBe('process-draft:proc_1');
    expect(opportunityDocName('opp_1')).toBe('opportunity:opp_1');
    for (const kind of DOC_KINDS) expect(parseDocName(docName(kind, 'a-B_9'))).toEqual({ kind, id: 'a-B_9' });
    for (const bad of ['', 'opportunity', 'opportunity:', 'lead:x', 'opportunity:a/b', 'opportunity:a:b', ':x'])
      expect(parseDocName(bad)).toBeNull();
    expect(parseDocName(`opportunity:${'a'.repeat(129)}`)).toBeNull();
    expect(DOC_NAME_HINT.en).toContain('process-draft:{id}');
  });

  it('is spelled only in core: no file outside it writes a doc name, root or message type literally', () => {
    const files = sourcesOutsideCore();
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const file of files) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [what, pattern] of LITERALS)
          if (pattern.test(line)) offenders.push(`${relative(repo, file)}:${i + 1}: ${what}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('catches what it is meant to catch', () => {
    const hits = (line: string) => LITERALS.filter(([, p]) => p.test(line)).map(([what]) => what);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a line of source code, as the test reads it.
    expect(hits('bind(client, `opportunity:${id}`)')).toEqual(['doc name opportunity:']);
    expect(hits("'process-draft:p1'")).toEqual(['doc name process-draft:']);
    expect(hits("doc.getMap('server')")).toEqual(['root name']);
    expect(hits('export const MESSAGE_NOTICE = 100;')).toEqual(['message type defined']);
    expect(hits('encoding.writeVarUint(encoder, 100);')).toEqual(['message type as a number']);
    expect(hits("source: 'opportunity'")).toEqual([]);
  });
});
