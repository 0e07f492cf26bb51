import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { parseDraft, type ProcessDraft } from './definition.js';
import { seedProcessDefinition } from './seed-process.js';
import { draftArb } from './testing/arbitraries.js';
import {
  addStage,
  addStageField,
  moveStage,
  readDraft,
  removeStage,
  setDraftName,
  setDraftValue,
  setRule,
  setStageValue,
  writeDraft,
} from './ydraft.js';

const docOf = (draft: ProcessDraft) => {
  const doc = new Y.Doc();
  writeDraft(doc, draft);
  return doc;
};
const sync = (a: Y.Doc, b: Y.Doc) => {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
};
const seedDraft: ProcessDraft = { name: '重要客户销售流程', departments: ['sales'], definition: seedProcessDefinition };

describe('Yjs ⇄ JSON mapping of a draft', () => {
  it('round-trips: JSON → Y.Doc → JSON is the identity', () => {
    fc.assert(
      fc.property(draftArb, (draft) => {
        const back = parseDraft(readDraft(docOf(draft)));
        expect(back.ok).toBe(true);
        if (back.ok) expect(back.draft).toEqual(draft);
      }),
    );
  });

  it('applies a second draft as changes: the doc then reads as that draft', () => {
    fc.assert(
      fc.property(draftArb, draftArb, (a, b) => {
        const doc = docOf(a);
        writeDraft(doc, b);
        const back = parseDraft(readDraft(doc));
        expect(back.ok && back.draft).toEqual(b);
      }),
    );
  });

  it('writes nothing when the draft is unchanged', () => {
    const doc = docOf(seedDraft);
    let updates = 0;
    doc.on('update', () => updates++);
    writeDraft(doc, seedDraft);
    expect(updates).toBe(0);
  });

  /** Random edits an admin can make through the designer. */
  const editArb = fc.oneof(
    fc.record({ op: fc.constant('rename' as const), stage: fc.nat(10), name: fc.string({ maxLength: 8 }) }),
    fc.record({ op: fc.constant('rate' as const), stage: fc.nat(10), rate: fc.integer({ min: 0, max: 100 }) }),
    fc.record({ op: fc.constant('add' as const), id: fc.stringMatching(/^n[a-z0-9]{1,6}$/), at: fc.nat(10) }),
    fc.record({ op: fc.constant('remove' as const), stage: fc.nat(10) }),
    fc.record({ op: fc.constant('move' as const), stage: fc.nat(10), to: fc.nat(10) }),
    fc.record({ op: fc.constant('field' as const), stage: fc.nat(10), key: fc.stringMatching(/^[a-z]{1,5}$/) }),
    fc.record({ op: fc.constant('title' as const), name: fc.string({ maxLength: 8 }) }),
    fc.record({ op: fc.constant('rule' as const), value: fc.boolean() }),
  );
  type Edit = typeof editArb extends fc.Arbitrary<infer T> ? T : never;
  function apply(doc: Y.Doc, e: Edit) {
    const stages = (parseDraft(readDraft(doc)) as { ok: true; draft: ProcessDraft }).draft.definition.presale;
    const pick = (i: number) => stages[i % Math.max(stages.length, 1)];
    switch (e.op) {
      case 'rename': {
        const s = pick(e.stage);
        if (s) setStageValue(doc, 'presale', s.id, 'name', e.name);
        break;
      }
      case 'rate': {
        const s = pick(e.stage);
        if (s) setStageValue(doc, 'presale', s.id, 'winRate', e.rate);
        break;
      }
      case 'add':
        if (stages.length < 20) addStage(doc, 'presale', { id: e.id, name: e.id, winRate: 10 }, e.at);
        break;
      case 'remove': {
        const s = pick(e.stage);
        if (s) removeStage(doc, 'presale', s.id);
        break;
      }
      case 'move': {
        const s = pick(e.stage);
        if (s) moveStage(doc, 'presale', s.id, e.to);
        break;
      }
      case 'field': {
        const s = pick(e.stage);
        if (s)
          addStageField(doc, 'presale', s.id, {
            source: 'stage',
            key: e.key,
            required: true,
            label: { zh: e.key, en: e.key },
            type: 'text',
          });
        break;
      }
      case 'title':
        setDraftName(doc, e.name);
        break;
      case 'rule':
        setRule(doc, 'allowMoveBack', e.value);
        break;
    }
  }

  it('merges concurrent edits of two admins into the same, structurally valid draft', () => {
    fc.assert(
      fc.property(fc.array(editArb, { maxLength: 12 }), fc.array(editArb, { maxLength: 12 }), (edits1, edits2) => {
        const a = docOf(seedDraft);
        const b = new Y.Doc();
        sync(a, b);
        edits1.forEach((e) => apply(a, e));
        edits2.forEach((e) => apply(b, e));
        sync(a, b);
        const ra = parseDraft(readDraft(a));
        const rb = parseDraft(readDraft(b));
        expect(ra.ok).toBe(true);
        expect(rb.ok && rb.draft).toEqual(ra.ok && ra.draft);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps both edits when one admin moves a stage while another renames it', () => {
    const a = docOf(seedDraft);
    const b = new Y.Doc();
    sync(a, b);
    moveStage(a, 'presale', 'quote', 0);
    setStageValue(b, 'presale', 'quote', 'name', '报价');
    setStageValue(b, 'presale', 'visit', 'requirements', '带上名片');
    sync(a, b);
    const d = (parseDraft(readDraft(a)) as { ok: true; draft: ProcessDraft }).draft.definition.presale;
    expect(d.map((s) => s.name)).toEqual(['报价', '初次拜访', '需求分析匹配', '方案设计']);
    expect(d[1]!.requirements).toBe('带上名片');
  });

  it('keeps concurrent typing in one name (text, not last-writer-wins)', () => {
    const a = docOf(seedDraft);
    const b = new Y.Doc();
    sync(a, b);
    setDraftName(a, '重要客户销售流程（华东）');
    setDraftName(b, '2027 重要客户销售流程');
    sync(a, b);
    expect((parseDraft(readDraft(b)) as { ok: true; draft: ProcessDraft }).draft.name).toBe(
      '2027 重要客户销售流程（华东）',
    );
  });
});

describe('setDraftValue (the post-sale team and the conditions)', () => {
  it('replaces the whole value, reads back through the schema and syncs to another admin', () => {
    const a = docOf(seedDraft);
    const b = new Y.Doc();
    sync(a, b);
    const team = { userIds: ['zhao', 'qian'], departments: ['service'] };
    const conditions = [{ source: 'customer' as const, key: 'customerType', values: ['key'] }];
    setDraftValue(a, 'postsaleTeam', team);
    setDraftValue(a, 'appliesWhen', conditions);
    sync(a, b);
    const read = parseDraft(readDraft(b)) as { ok: true; draft: ProcessDraft };
    expect(read.ok).toBe(true);
    expect(read.draft.definition.postsaleTeam).toEqual(team);
    expect(read.draft.definition.appliesWhen).toEqual(conditions);
    // The same value again writes nothing.
    let updates = 0;
    a.on('update', () => updates++);
    setDraftValue(a, 'postsaleTeam', { userIds: ['zhao', 'qian'], departments: ['service'] });
    expect(updates).toBe(0);
    setDraftValue(a, 'appliesWhen', []);
    expect(updates).toBe(1);
    expect((parseDraft(readDraft(a)) as { ok: true; draft: ProcessDraft }).draft.definition.appliesWhen).toEqual([]);
  });
});

describe('normalizeDraft (the zod-free reading the designer uses)', () => {
  it('equals the schema on every valid draft, read back from a Y.Doc', async () => {
    const { normalizeDraft } = await import('./publishable.js');
    const { processDraftSchema } = await import('./definition.js');
    fc.assert(
      fc.property(draftArb, (draft) => {
        const raw = readDraft(docOf(draft));
        expect(normalizeDraft(raw)).toEqual(processDraftSchema.parse(raw));
      }),
    );
    // Missing keys get the schema's defaults.
    expect(normalizeDraft({})).toEqual(processDraftSchema.parse({}));
    expect(normalizeDraft({ definition: { presale: [{ id: 'a' }] } })).toEqual(
      processDraftSchema.parse({ definition: { presale: [{ id: 'a' }] } }),
    );
  });
});
