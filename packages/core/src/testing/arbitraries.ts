import fc from 'fast-check';
import { FIELD_TYPES } from '../fields.js';
import type { ProcessDraft } from '../definition.js';

/** Structurally valid drafts (what co-editing may hold), sized to stay within the bounds. */
const idArb = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);
const keyArb = fc.stringMatching(/^[a-z][A-Za-z0-9_]{0,10}$/);
const text = (max: number) => fc.string({ maxLength: max });
const days = fc.option(fc.integer({ min: 0, max: 365 }), { nil: null });
const fieldArb = fc.oneof(
  fc.record({
    source: fc.constantFrom('customer' as const, 'opportunity' as const),
    key: keyArb,
    required: fc.boolean(),
  }),
  fc.record({
    source: fc.constant('stage' as const),
    key: keyArb,
    required: fc.boolean(),
    label: fc.record({ zh: text(10), en: text(10) }),
    type: fc.constantFrom(...FIELD_TYPES),
  }),
);
const fieldsArb = fc.uniqueArray(fieldArb, { maxLength: 4, selector: (f) => `${f.source}:${f.key}` });
const teamArb = fc.record({
  userIds: fc.uniqueArray(idArb, { maxLength: 3 }),
  departments: fc.uniqueArray(idArb, { maxLength: 2 }),
});
const presaleArb = (id: string) =>
  fc.record({
    id: fc.constant(id),
    name: text(12),
    winRate: fc.integer({ min: 0, max: 100 }),
    requirements: text(30),
    remindAfterDays: days,
    requiresApproval: fc.boolean(),
    minContacts: fc.integer({ min: 0, max: 5 }),
    requiredContactRoles: fc.uniqueArray(keyArb, { maxLength: 3 }),
    fields: fieldsArb,
  });
const postsaleArb = (id: string) =>
  fc.record({
    id: fc.constant(id),
    name: text(12),
    requirements: text(30),
    remindAfterDays: days,
    overdueAfterDays: days,
    requiresApproval: fc.boolean(),
    team: fc.option(teamArb, { nil: null }),
    fields: fieldsArb,
  });

export const draftArb: fc.Arbitrary<ProcessDraft> = fc
  .uniqueArray(idArb, { minLength: 0, maxLength: 8 })
  .chain((ids) => {
    const cut = Math.floor(ids.length / 2);
    return fc.record({
      name: text(20),
      departments: fc.uniqueArray(idArb, { maxLength: 3 }).map((d) => [...d].sort()),
      definition: fc.record({
        presale: fc.tuple(...ids.slice(0, cut).map(presaleArb)),
        postsale: fc.tuple(...ids.slice(cut).map(postsaleArb)),
        terminal: fc.record({
          won: fc.record({ name: text(6), winRate: fc.integer({ min: 0, max: 100 }) }),
          lost: fc.record({ name: text(6), winRate: fc.integer({ min: 0, max: 100 }) }),
          invalid: fc.record({ name: text(6), winRate: fc.integer({ min: 0, max: 100 }) }),
        }),
        rules: fc.record({
          orderRequiredToWin: fc.boolean(),
          orderAllowedAfterStage: fc.option(fc.constantFrom(...(ids.length ? ids : ['x'])), { nil: null }),
          allowSkipStages: fc.boolean(),
          allowMoveBack: fc.boolean(),
          allowReopen: fc.boolean(),
        }),
        postsaleTeam: teamArb,
        appliesWhen: fc.uniqueArray(
          fc.record({
            source: fc.constantFrom('customer' as const, 'opportunity' as const),
            key: keyArb,
            values: fc.uniqueArray(keyArb, { minLength: 1, maxLength: 3 }),
          }),
          { maxLength: 2, selector: (c) => `${c.source}.${c.key}` },
        ),
      }),
    });
  }) as fc.Arbitrary<ProcessDraft>;
