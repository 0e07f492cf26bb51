import {
  addStage,
  draftRoot,
  moveStage,
  removeStage,
  seedProcessDefinition,
  writeDraft,
  type PhaseKey,
  type ProcessDraft,
} from '@sales-process/core';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checkDraftDoc, DraftChecker, restoreDraftDoc } from './draft-checker.js';

/** A small deterministic PRNG, so a failure replays. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sorted = (r: ReturnType<typeof checkDraftDoc>) => ({
  draft: r.draft,
  problems: r.problems.map((p) => `${p.code} ${p.path}`).sort(),
});

describe('DraftChecker (incremental draft validation)', () => {
  it('agrees with the whole-draft check after every edit, refusal and restore, local or remote', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = random(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
      const doc = new Y.Doc();
      const draft: ProcessDraft = {
        name: '流程',
        departments: ['sales'],
        definition: { ...seedProcessDefinition },
      } as ProcessDraft;
      writeDraft(doc, draft);
      // A second replica edits too; its changes arrive as updates (as from a client).
      const peer = new Y.Doc();
      Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc));
      const checker = new DraftChecker(doc);
      let good = checkDraftDoc(doc).draft!;
      expect(good).not.toBeNull();
      let stageSeq = 0;

      const stagesOf = (d: Y.Doc, phase: PhaseKey) => {
        const m = draftRoot(d).get(phase);
        return m instanceof Y.Map ? [...(m as Y.Map<Y.Map<unknown>>).entries()] : [];
      };
      const edits: ((d: Y.Doc) => void)[] = [
        (d) => {
          const s = pick(stagesOf(d, 'presale'));
          if (s && s[1] instanceof Y.Map) s[1].set('winRate', pick([10, 55, 250, -1, 'x', 33.5]));
        },
        (d) => {
          const s = pick(stagesOf(d, pick(['presale', 'postsale'] as const)));
          const t = s?.[1] instanceof Y.Map ? s[1].get('requirements') : null;
          if (t instanceof Y.Text) t.insert(0, rnd() < 0.1 ? 'x'.repeat(100_000) : '要求');
        },
        (d) => {
          const s = pick(stagesOf(d, pick(['presale', 'postsale'] as const)));
          if (s?.[1] instanceof Y.Map)
            s[1].set(pick(['bogus', 'minContacts', 'overdueAfterDays']), pick([1, 2, 'many', null]));
        },
        (d) =>
          addStage(
            d,
            pick(['presale', 'postsale'] as const),
            { id: `s${seed}_${stageSeq++}`, name: '新阶段', winRate: 40 },
            Math.floor(rnd() * 5),
          ),
        (d) => {
          const phase = pick(['presale', 'postsale'] as const);
          const s = pick(stagesOf(d, phase));
          if (s) rnd() < 0.5 ? removeStage(d, phase, s[0]) : moveStage(d, phase, s[0], Math.floor(rnd() * 6));
        },
        (d) => {
          const s = pick(stagesOf(d, 'presale'));
          const fields = s?.[1] instanceof Y.Map ? s[1].get('fields') : null;
          if (!(fields instanceof Y.Map)) return;
          const f = new Y.Map<unknown>();
          f.set('source', pick(['stage', 'customer', 'nowhere']));
          f.set('key', pick(['notes', 'industry', 'bad key!']));
          f.set('required', pick([true, false, 'yes']));
          if (rnd() < 0.3) f.set('colour', 'red');
          fields.set(`f${stageSeq++}`, f);
        },
        (d) => {
          const rules = draftRoot(d).get('rules');
          if (rules instanceof Y.Map)
            rules.set(pick(['allowMoveBack', 'allowSkipStages', 'unknownRule']), pick([true, false, 'no']));
        },
        (d) => {
          const terminal = draftRoot(d).get('terminal');
          const won = terminal instanceof Y.Map ? terminal.get('won') : null;
          if (won instanceof Y.Map) won.set('winRate', pick([100, 90, 150]));
        },
        (d) => (rnd() < 0.5 ? draftRoot(d).set('colour', 'blue') : d.getMap('elsewhere').set('k', 1)),
        (d) => (draftRoot(d).get('name') as Y.Text).insert(0, rnd() < 0.1 ? 'n'.repeat(1000) : '名'),
        (d) => {
          const depts = draftRoot(d).get('departments');
          if (depts instanceof Y.Map)
            rnd() < 0.3 && depts.size
              ? depts.delete(pick([...depts.keys()]))
              : depts.set(pick(['sales', 'east', '', 'd'.repeat(300)]), true);
        },
        // A setting replaced whole: a new map, or something that is not a map at all.
        (d) =>
          draftRoot(d).set(pick(['rules', 'terminal', 'departments']), rnd() < 0.5 ? new Y.Map() : pick(['oops', 7])),
        (d) => {
          const s = pick(stagesOf(d, 'presale'));
          const fields = s?.[1] instanceof Y.Map ? s[1].get('fields') : null;
          const f = fields instanceof Y.Map ? pick([...fields.values()]) : null;
          if (f instanceof Y.Map) f.set('required', pick([true, 'yes', false]));
        },
      ];

      for (let step = 0; step < 250; step++) {
        const remote = rnd() < 0.4;
        if (remote) {
          const sv = Y.encodeStateVector(doc);
          Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(peer)));
          const before = Y.encodeStateVector(peer);
          pick(edits)(peer);
          Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer, before));
          void sv;
        } else pick(edits)(doc);
        const incremental = checker.check();
        const whole = checkDraftDoc(doc);
        expect(sorted(incremental), `seed ${seed}, step ${step}`).toEqual(sorted(whole));
        // As the server does: a refused state is put back to the last good one.
        if (whole.problems.length) {
          restoreDraftDoc(doc, good, 'revert');
          const after = checker.check();
          expect(after.problems, `seed ${seed}, step ${step}, after restore`).toEqual([]);
          expect(sorted(after)).toEqual(sorted(checkDraftDoc(doc)));
        } else good = whole.draft!;
      }
    }
  });

  it('re-checks the settings only after a setting changed', () => {
    const doc = new Y.Doc();
    writeDraft(doc, { name: 'P', departments: [], definition: seedProcessDefinition } as ProcessDraft);
    const checker = new DraftChecker(doc);
    checker.check();
    let reads = 0;
    const rules = draftRoot(doc).get('rules') as Y.Map<unknown>;
    const original = rules.toJSON.bind(rules);
    rules.toJSON = () => (reads++, original());
    const stage = (draftRoot(doc).get('presale') as Y.Map<Y.Map<unknown>>).get('visit')!;
    (stage.get('requirements') as Y.Text).insert(0, '新要求');
    expect(checker.check().problems).toEqual([]);
    expect(reads).toBe(0);
    rules.set('allowMoveBack', 'no');
    expect(checker.check().problems.map((p) => p.path)).toEqual(['definition.rules.allowMoveBack']);
    expect(reads).toBe(1);
    rules.set('allowMoveBack', false);
    (draftRoot(doc).get('name') as Y.Text).insert(0, '新');
    expect(checker.check().draft?.definition.rules.allowMoveBack).toBe(false);
    expect(reads).toBe(2);
  });

  it('patches a typed value in without reading any stage, and re-reads only the stage a field edit touched', () => {
    const doc = new Y.Doc();
    writeDraft(doc, { name: 'P', departments: [], definition: seedProcessDefinition } as ProcessDraft);
    const checker = new DraftChecker(doc);
    checker.check();
    const reads: string[] = [];
    const stage = (draftRoot(doc).get('presale') as Y.Map<Y.Map<unknown>>).get('visit')!;
    // Count stage reads through the Y.Map API the checker uses.
    const presale = draftRoot(doc).get('presale') as Y.Map<Y.Map<unknown>>;
    for (const [id, m] of presale.entries()) {
      const original = m.forEach.bind(m);
      m.forEach = ((fn: never) => (reads.push(id), original(fn))) as never;
    }
    (stage.get('requirements') as Y.Text).insert(0, '新要求');
    stage.set('winRate', 15);
    let result = checker.check();
    expect(result.problems).toEqual([]);
    expect(result.draft!.definition.presale[0]).toMatchObject({
      id: 'visit',
      winRate: 15,
      requirements: expect.stringMatching(/^新要求/),
    });
    expect(reads).toEqual([]);
    expect(result).toEqual(checkDraftDoc(doc));
    // A value that fails is checked with its whole stage, for the problem's path.
    stage.set('winRate', 250);
    expect(checker.check().problems.map((p) => p.path)).toEqual(['definition.presale.0.winRate']);
    stage.set('winRate', 15);
    checker.check();
    reads.length = 0;
    const field = (stage.get('fields') as Y.Map<Y.Map<unknown>>).values().next().value!;
    field.set('required', false);
    result = checker.check();
    expect(new Set(reads)).toEqual(new Set(['visit']));
    expect(result).toEqual(checkDraftDoc(doc));
  });
});
