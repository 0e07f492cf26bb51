import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPublishable,
  parseDraft,
  parseStage,
  postsaleStageSchema,
  presaleStageSchema,
  processDefinitionSchema,
  reparseStageKeys,
  type ProcessDefinition,
} from './definition.js';
import { DEFAULT_CUSTOM_FIELDS, SYSTEM_FIELDS, checkFieldValue, FIELD_TYPES } from './fields.js';
import { seedProcessDefinition as seed } from './seed-process.js';
import { draftArb } from './testing/arbitraries.js';

const catalog = {
  customer: [...SYSTEM_FIELDS.customer, ...DEFAULT_CUSTOM_FIELDS.customer],
  opportunity: [...SYSTEM_FIELDS.opportunity, ...DEFAULT_CUSTOM_FIELDS.opportunity],
  contact: [...SYSTEM_FIELDS.contact, ...DEFAULT_CUSTOM_FIELDS.contact],
};
const codes = (def: ProcessDefinition, name = 'P') =>
  checkPublishable(def, catalog, name).map((p) => [p.severity, p.code, p.path.join('.')]);

describe('draft level (structure)', () => {
  it('accepts every generated draft and returns it unchanged', () => {
    fc.assert(
      fc.property(draftArb, (draft) => {
        const r = parseDraft(draft);
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.draft).toEqual(draft);
      }),
    );
  });

  it('refuses out-of-range and oversized values with a path for each', () => {
    const r = parseDraft({
      name: 'x'.repeat(81),
      definition: {
        presale: [
          { id: 'a', winRate: 250 },
          { id: 'b b', minContacts: -1 },
        ],
        postsale: [{ id: 'c', remindAfterDays: 1.5 }],
      },
    });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems.map((p) => p.path.join('.'))).toEqual([
        'name',
        'definition.presale.0.winRate',
        'definition.presale.1.id',
        'definition.presale.1.minContacts',
        'definition.postsale.0.remindAfterDays',
      ]);
  });

  it('caps stages at 50 and fields at 100 per stage', () => {
    const stages = Array.from({ length: 51 }, (_, i) => ({ id: `s${i}` }));
    expect(parseDraft({ definition: { presale: stages } }).ok).toBe(false);
    const fields = Array.from({ length: 101 }, (_, i) => ({ source: 'customer', key: `f${i}` }));
    expect(parseDraft({ definition: { presale: [{ id: 'a', fields }] } }).ok).toBe(false);
  });

  it('refuses a 10 MB string', () => {
    expect(parseDraft({ definition: { presale: [{ id: 'a', requirements: 'x'.repeat(10_000_001) }] } }).ok).toBe(false);
  });

  it('fills defaults, including terminal states 100 / 0 / 0', () => {
    const def = processDefinitionSchema.parse({ presale: [{ id: 'a', name: 'A' }] });
    expect(def.terminal).toEqual({
      won: { name: '赢单', winRate: 100 },
      lost: { name: '输单', winRate: 0 },
      invalid: { name: '无效', winRate: 0 },
    });
    expect(def.rules).toEqual({
      orderRequiredToWin: false,
      orderAllowedAfterStage: null,
      allowSkipStages: false,
      allowMoveBack: true,
      allowReopen: true,
    });
  });
});

describe('a stage re-checked key by key', () => {
  it('relies on stage schemas without rules across keys', () => {
    // reparseStageKeys checks a changed key alone; a refinement over the whole stage would be skipped.
    for (const schema of [presaleStageSchema, postsaleStageSchema]) expect(schema._zod.def.checks ?? []).toEqual([]);
  });

  it('gives what checking the whole stage gives', () => {
    const value = fc.oneof(
      fc.constantFrom(
        undefined,
        null,
        '',
        'x'.repeat(2001),
        250,
        -1,
        0.5,
        33,
        2,
        true,
        'many',
        {},
        [],
        [{ source: 'stage', key: 'k' }],
      ),
      fc.string(),
      fc.integer(),
      fc.double(),
    );
    const key = fc.constantFrom(
      'name',
      'requirements',
      'winRate',
      'minContacts',
      'remindAfterDays',
      'overdueAfterDays',
      'requiresApproval',
      'fields',
      'id',
      'bogus',
      'toString',
      '__proto__',
    );
    fc.assert(
      fc.property(
        fc.constantFrom('presale' as const, 'postsale' as const),
        fc.dictionary(key, value, { maxKeys: 3 }),
        (phase, changes) => {
          const input = { ...seed.presale[1]! } as Record<string, unknown>;
          const base = parseStage(phase, input);
          expect(base.ok).toBe(true);
          if (!base.ok) return;
          const quick = reparseStageKeys(phase, base.stage, changes);
          const whole = parseStage(phase, { ...input, ...changes, id: input.id });
          if (quick) expect(whole).toEqual({ ok: true, stage: quick });
          // Null only where the whole check refuses, or for a key it would ignore (stripped, or the id, which a value cannot change).
          else
            expect(
              !whole.ok ||
                Object.keys(changes).some(
                  (k) =>
                    k === 'id' ||
                    !Object.hasOwn((phase === 'presale' ? presaleStageSchema : postsaleStageSchema).shape, k),
                ),
            ).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('publishable level', () => {
  it('passes the seed process with no problem', () => {
    expect(codes(seed, '重要客户销售流程')).toEqual([]);
  });

  it('needs a name and a pre-sale stage', () => {
    expect(codes(processDefinitionSchema.parse({}), ' ')).toEqual([
      ['error', 'NAME_REQUIRED', 'name'],
      ['error', 'PRESALE_REQUIRED', 'presale'],
    ]);
  });

  it('needs unique non-empty names and unique ids across both phases', () => {
    const def = processDefinitionSchema.parse({
      presale: [
        { id: 'a', name: 'A' },
        { id: 'b', name: '' },
        { id: 'c', name: 'A' },
      ],
      postsale: [{ id: 'a', name: 'Z' }],
    });
    expect(codes(def)).toEqual([
      ['error', 'STAGE_NAME_REQUIRED', 'presale.1.name'],
      ['error', 'DUPLICATE_STAGE_NAME', 'presale.2.name'],
      ['error', 'DUPLICATE_STAGE_ID', 'postsale.0.id'],
    ]);
  });

  it('resolves field references and checks stage-only fields', () => {
    const def = processDefinitionSchema.parse({
      presale: [
        {
          id: 'a',
          name: 'A',
          fields: [
            { source: 'customer', key: 'industry' },
            { source: 'customer', key: 'nope' },
            { source: 'stage', key: 'x' },
            { source: 'stage', key: 'y', label: { zh: '选', en: '' }, type: 'select' },
          ],
        },
      ],
    });
    expect(codes(def)).toEqual([
      ['error', 'FIELD_UNKNOWN', 'presale.0.fields.1.key'],
      ['error', 'FIELD_TYPE_REQUIRED', 'presale.0.fields.2.type'],
      ['error', 'FIELD_LABEL_REQUIRED', 'presale.0.fields.2.label'],
      ['error', 'FIELD_OPTIONS_REQUIRED', 'presale.0.fields.3.options'],
    ]);
  });

  it('needs the order stage to exist, and refuses the deadlock of ordering only after the last stage', () => {
    const base = {
      presale: [
        { id: 'a', name: 'A' },
        { id: 'b', name: 'B' },
      ],
    };
    expect(codes(processDefinitionSchema.parse({ ...base, rules: { orderAllowedAfterStage: 'zz' } }))).toEqual([
      ['error', 'STAGE_UNKNOWN', 'rules.orderAllowedAfterStage'],
    ]);
    expect(
      codes(
        processDefinitionSchema.parse({ ...base, rules: { orderAllowedAfterStage: 'b', orderRequiredToWin: true } }),
      ),
    ).toEqual([['error', 'ORDER_RULE_DEADLOCK', 'rules.orderAllowedAfterStage']]);
  });

  it('warns, without refusing, when win rates go down along the stages', () => {
    const def = processDefinitionSchema.parse({
      presale: [
        { id: 'a', name: 'A', winRate: 50 },
        { id: 'b', name: 'B', winRate: 30 },
      ],
    });
    const problems = checkPublishable(def, catalog, 'P');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      severity: 'warning',
      code: 'WIN_RATE_DECREASES',
      path: ['presale', 1, 'winRate'],
    });
    expect(problems[0]!.message.zh).toContain('50%');
  });

  it('refuses contact roles and applicability conditions that field management does not define', () => {
    const def = processDefinitionSchema.parse({
      presale: [{ id: 'a', name: 'A', requiredContactRoles: ['decisionMaker', 'ceo'] }],
      appliesWhen: [
        { source: 'customer', key: 'industry', values: ['it', 'mining'] },
        { source: 'opportunity', key: 'nope', values: ['x'] },
        { source: 'customer', key: 'name', values: ['x'] },
      ],
    });
    expect(codes(def)).toEqual([
      ['error', 'CONTACT_ROLE_UNKNOWN', 'presale.0.requiredContactRoles.1'],
      ['error', 'CONDITION_VALUE_UNKNOWN', 'appliesWhen.0.values.1'],
      ['error', 'CONDITION_FIELD_UNKNOWN', 'appliesWhen.1.key'],
      ['error', 'CONDITION_FIELD_UNKNOWN', 'appliesWhen.2.key'],
    ]);
    const archived = {
      ...catalog,
      contact: catalog.contact.map((f) =>
        f.key === 'role' && 'options' in f
          ? { ...f, options: f.options?.map((o) => (o.value === 'decisionMaker' ? { ...o, archived: true } : o)) }
          : f,
      ),
    };
    const onlyRoles = processDefinitionSchema.parse({
      presale: [{ id: 'a', name: 'A', requiredContactRoles: ['decisionMaker'] }],
    });
    expect(checkPublishable(onlyRoles, archived, 'P').map((p) => [p.code, p.message.en])).toEqual([
      ['CONTACT_ROLE_UNKNOWN', 'Contact role decisionMaker is archived in field management'],
    ]);
  });

  it('reports every problem in both languages', () => {
    fc.assert(
      fc.property(draftArb, (draft) => {
        for (const p of checkPublishable(draft.definition, catalog, draft.name)) {
          expect(p.message.zh.length).toBeGreaterThan(0);
          expect(p.message.en.length).toBeGreaterThan(0);
          expect(p.path.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});

describe('field values', () => {
  it('checks each type and lets empty values through (required is a gate)', () => {
    const ok: Record<string, unknown> = {
      text: 'a',
      textarea: 'a\nb',
      number: 1.5,
      currency: 100,
      date: '2027-01-31',
      datetime: '2027-01-31T10:00:00Z',
      boolean: false,
      select: 'a',
      multiselect: ['a'],
      email: 'a@b.cn',
      phone: '+86 138-0000-0000',
      url: 'https://x.cn',
      user: 'zhang',
      file: { id: 'f', name: 'a.pdf', size: 3 },
    };
    const bad: Record<string, unknown> = {
      text: 5,
      textarea: {},
      number: 'x',
      currency: Infinity,
      date: '31/01/2027',
      datetime: 'soon',
      boolean: 'yes',
      select: 'z',
      multiselect: ['a', 'z'],
      email: 'a@',
      phone: 'call me',
      url: 'ftp://x',
      user: 7,
      file: 'a.pdf',
    };
    const options = [{ value: 'a', label: { zh: 'A', en: 'A' } }];
    for (const type of FIELD_TYPES) {
      expect(checkFieldValue(type, ok[type], options), type).toBeNull();
      expect(checkFieldValue(type, bad[type], options), type).not.toBeNull();
      expect(checkFieldValue(type, null, options)).toBeNull();
    }
  });
});
