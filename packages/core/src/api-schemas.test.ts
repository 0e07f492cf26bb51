import { describe, expect, it } from 'vitest';
import {
  createCustomerSchema,
  createProcessSchema,
  decisionSchema,
  devTokenSchema,
  directorySyncSchema,
  isoDateSchema,
  strictBody,
  wholeDraftSchema,
} from './api-schemas.js';
import { processDraftSchema } from './definition.js';

const paths = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; code: string }[] } }) =>
  (r.error?.issues ?? []).map((i) => `${i.path.join('.')}:${i.code}`);

describe('request body schemas', () => {
  it('strictBody refuses unknown keys at any depth, and keeps free-form maps, defaults and checks', () => {
    const draft = strictBody(processDraftSchema);
    expect(paths(draft.safeParse({ presale: [] }))).toEqual([':unrecognized_keys']);
    expect(
      paths(
        draft.safeParse({
          definition: {
            presale: [{ id: 's', winrate: 5, fields: [{ source: 'stage', key: 'k', lable: {} }] }],
            terminal: { won: { nmae: 'x' } },
          },
        }),
      ),
    ).toEqual([
      'definition.presale.0.fields.0:unrecognized_keys',
      'definition.presale.0:unrecognized_keys',
      'definition.terminal.won:unrecognized_keys',
    ]);
    expect(draft.parse({}).definition.terminal.won).toEqual({ name: '赢单', winRate: 100 });
    expect(paths(draft.safeParse({ definition: { presale: [{ id: 's', winRate: 101 }] } }))).toEqual([
      'definition.presale.0.winRate:too_big',
    ]);
    expect(strictBody(createCustomerSchema).parse({ name: 'A', fields: { anything: { nested: [1] } } }).fields).toEqual(
      { anything: { nested: [1] } },
    );
    expect(strictBody(decisionSchema).parse(undefined)).toEqual({ comment: '' });
    // Each parse gets its own default definition, however deep it is changed afterwards.
    const first = draft.parse({});
    first.definition.presale.push({} as never);
    first.definition.terminal.won.name = 'changed';
    expect(draft.parse({}).definition.presale).toEqual([]);
    expect(processDraftSchema.parse({}).definition.terminal.won.name).toBe('赢单');
    // The schema it came from is unchanged: live drafts and stored versions still parse leniently.
    expect(processDraftSchema.safeParse({ presale: [] }).success).toBe(true);
  });

  it('refuses NUL, prototype-named keys, repeats and impossible dates', () => {
    expect(paths(createProcessSchema.safeParse({ name: 'a\u0000' }))).toEqual(['name:invalid_format']);
    expect(
      paths(createProcessSchema.safeParse({ name: 'P', definition: { presale: [{ id: 'constructor' }] } })),
    ).toEqual(['definition.presale.0.id:custom']);
    expect(paths(createCustomerSchema.safeParse({ name: 'A', fields: { constructor: 1 } }))).toEqual([
      'fields.constructor:invalid_key',
    ]);
    expect(
      paths(
        directorySyncSchema.safeParse({
          departments: [
            { id: 'd', name: 'D' },
            { id: 'd', name: 'E' },
          ],
        }),
      ),
    ).toEqual(['departments.1.id:custom']);
    expect(isoDateSchema.safeParse('2024-02-29').success).toBe(true);
    expect(isoDateSchema.safeParse('2024-02-30').success).toBe(false);
  });

  it('holds the dev token request to the same rules', () => {
    expect(devTokenSchema.safeParse({ sub: 'a', tenant: 't' }).success).toBe(true);
    expect(paths(devTokenSchema.safeParse({ sub: 'a', tenant: 't', role: 'admin' }))).toEqual([':unrecognized_keys']);
    expect(paths(devTokenSchema.safeParse({ sub: 'a\u0000', tenant: 't', name: 'n\u0000' }))).toEqual([
      'sub:invalid_format',
      'name:invalid_format',
    ]);
  });
});

describe('PUT /processes/{id}/draft body', () => {
  const put = strictBody(wholeDraftSchema);
  const whole = () =>
    processDraftSchema.parse({
      name: 'P',
      departments: ['d1'],
      definition: {
        presale: [
          { id: 'a', name: 'A', fields: [{ source: 'stage', key: 'k', type: 'text', label: { zh: 'K', en: 'K' } }] },
        ],
        postsale: [{ id: 'p', name: 'P' }],
      },
    });

  it('is the whole draft: what GET answers passes, anything left out is refused at its path', () => {
    expect(put.parse(whole())).toEqual(whole());
    expect(paths(put.safeParse({ name: 'only name' }))).toEqual([
      'departments:invalid_type',
      'definition:invalid_type',
    ]);
    expect(paths(put.safeParse({}))).toEqual([
      'name:invalid_type',
      'departments:invalid_type',
      'definition:invalid_type',
    ]);
    expect(paths(put.safeParse({ name: 'P', departments: [], definition: {} }))).toEqual([
      'definition.presale:invalid_type',
      'definition.postsale:invalid_type',
      'definition.terminal:invalid_type',
      'definition.rules:invalid_type',
    ]);
    const d = whole() as any;
    delete d.definition.presale[0].requirements;
    delete d.definition.presale[0].fields[0].required;
    delete d.definition.terminal.lost;
    delete d.definition.rules.allowMoveBack;
    expect(paths(put.safeParse(d))).toEqual([
      'definition.presale.0.requirements:invalid_type',
      'definition.presale.0.fields.0.required:invalid_type',
      'definition.terminal.lost:invalid_type',
      'definition.rules.allowMoveBack:invalid_type',
    ]);
    // Optional keys stay optional (a field without options has none); null is a value.
    expect(
      put.safeParse({
        ...whole(),
        definition: { ...whole().definition, rules: { ...whole().definition.rules, orderAllowedAfterStage: null } },
      }).success,
    ).toBe(true);
  });

  it('refuses what the draft cannot hold twice: stage ids in a phase, field keys in a stage, departments', () => {
    const d = whole();
    d.definition.presale.push({ ...d.definition.presale[0]!, name: 'B', fields: [] });
    d.definition.presale[0]!.fields.push({ ...d.definition.presale[0]!.fields[0]!, required: true });
    d.departments.push('d1');
    expect(paths(put.safeParse(d))).toEqual([
      'departments.1:custom',
      'definition.presale.0.fields.1.key:custom',
      'definition.presale.1.id:custom',
    ]);
    // The same id in both phases is a publishing problem (DUPLICATE_STAGE_ID), not a lost stage.
    expect(
      put.safeParse({
        ...whole(),
        definition: { ...whole().definition, postsale: [{ ...whole().definition.postsale[0]!, id: 'a' }] },
      }).success,
    ).toBe(true);
    // Live drafts and POST /processes are held to it too.
    expect(paths(processDraftSchema.safeParse({ definition: { postsale: [{ id: 'x' }, { id: 'x' }] } }))).toEqual([
      'definition.postsale.1.id:custom',
    ]);
  });
});
