import { describe, expect, it } from 'vitest';
import { createCustomerSchema, createProcessSchema, decisionSchema, devTokenSchema, directorySyncSchema, isoDateSchema, strictBody } from './api-schemas.js';
import { processDraftSchema } from './definition.js';

const paths = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; code: string }[] } }) => (r.error?.issues ?? []).map((i) => `${i.path.join('.')}:${i.code}`);

describe('request body schemas', () => {
  it('strictBody refuses unknown keys at any depth, and keeps free-form maps, defaults and checks', () => {
    const draft = strictBody(processDraftSchema);
    expect(paths(draft.safeParse({ presale: [] }))).toEqual([':unrecognized_keys']);
    expect(paths(draft.safeParse({ definition: { presale: [{ id: 's', winrate: 5, fields: [{ source: 'stage', key: 'k', lable: {} }] }], terminal: { won: { nmae: 'x' } } } }))).toEqual([
      'definition.presale.0.fields.0:unrecognized_keys',
      'definition.presale.0:unrecognized_keys',
      'definition.terminal.won:unrecognized_keys',
    ]);
    expect(draft.parse({}).definition.terminal.won).toEqual({ name: '赢单', winRate: 100 });
    expect(paths(draft.safeParse({ definition: { presale: [{ id: 's', winRate: 101 }] } }))).toEqual(['definition.presale.0.winRate:too_big']);
    expect(strictBody(createCustomerSchema).parse({ name: 'A', fields: { anything: { nested: [1] } } }).fields).toEqual({ anything: { nested: [1] } });
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
    expect(paths(createProcessSchema.safeParse({ name: 'P', definition: { presale: [{ id: 'constructor' }] } }))).toEqual(['definition.presale.0.id:custom']);
    expect(paths(createCustomerSchema.safeParse({ name: 'A', fields: { constructor: 1 } }))).toEqual(['fields.constructor:invalid_key']);
    expect(paths(directorySyncSchema.safeParse({ departments: [{ id: 'd', name: 'D' }, { id: 'd', name: 'E' }] }))).toEqual(['departments.1.id:custom']);
    expect(isoDateSchema.safeParse('2024-02-29').success).toBe(true);
    expect(isoDateSchema.safeParse('2024-02-30').success).toBe(false);
  });

  it('holds the dev token request to the same rules', () => {
    expect(devTokenSchema.safeParse({ sub: 'a', tenant: 't' }).success).toBe(true);
    expect(paths(devTokenSchema.safeParse({ sub: 'a', tenant: 't', role: 'admin' }))).toEqual([':unrecognized_keys']);
    expect(paths(devTokenSchema.safeParse({ sub: 'a\u0000', tenant: 't', name: 'n\u0000' }))).toEqual(['sub:invalid_format', 'name:invalid_format']);
  });
});
