import { describe, expect, it } from 'vitest';
import { checkPublishable, processDefinitionSchema } from './definition.js';
import { DEFAULT_CUSTOM_FIELDS, definedOptionsSchema, offeredOptions, SYSTEM_FIELDS } from './fields.js';

const options = [
  { value: 'price', label: { zh: '价格', en: 'Price' } },
  { value: 'competitor', label: { zh: '竞争对手', en: 'Competitor' }, archived: true },
  { value: 'other', label: { zh: '其他', en: 'Other' } },
];
const values = (o: { value: string }[] | undefined) => o?.map((x) => x.value);

describe('offeredOptions (field management)', () => {
  it('offers the options that are not archived for a new value', () => {
    expect(values(offeredOptions(options))).toEqual(['price', 'other']);
    expect(values(offeredOptions(options, 'price'))).toEqual(['price', 'other']);
  });

  it('keeps an archived option the stored value holds, one value or a list', () => {
    expect(values(offeredOptions(options, 'competitor'))).toEqual(['price', 'competitor', 'other']);
    expect(values(offeredOptions(options, ['other', 'competitor']))).toEqual(['price', 'competitor', 'other']);
  });

  it('has nothing to offer for a field without options', () => {
    expect(offeredOptions(undefined)).toBeUndefined();
    expect(offeredOptions(null, 'x')).toBeUndefined();
  });

  it('reads archived options in a definition, values unique', () => {
    expect(definedOptionsSchema.safeParse(options).success).toBe(true);
    const twice = definedOptionsSchema.safeParse([...options, { value: 'price', label: { zh: 'x', en: 'x' } }]);
    expect(twice.success).toBe(false);
  });
});

describe('publishing with an archived field', () => {
  it('is refused at the field (FIELD_ARCHIVED); an unknown one stays FIELD_UNKNOWN', () => {
    const def = processDefinitionSchema.parse({
      presale: [
        {
          id: 'a',
          name: 'A',
          winRate: 10,
          fields: [
            { source: 'customer', key: 'tier', required: false },
            { source: 'customer', key: 'ghost', required: false },
            { source: 'customer', key: 'industry', required: false },
          ],
        },
      ],
    });
    const catalog = {
      customer: [
        ...SYSTEM_FIELDS.customer,
        ...DEFAULT_CUSTOM_FIELDS.customer,
        { key: 'tier', label: { zh: '级别', en: 'Tier' }, type: 'text' as const, archived: true },
      ],
      opportunity: [...SYSTEM_FIELDS.opportunity, ...DEFAULT_CUSTOM_FIELDS.opportunity],
      contact: [...SYSTEM_FIELDS.contact, ...DEFAULT_CUSTOM_FIELDS.contact],
    };
    const problems = checkPublishable(def, catalog, 'P').filter((p) => p.severity === 'error');
    expect(problems.map((p) => [p.code, p.path.join('.')])).toEqual([
      ['FIELD_ARCHIVED', 'presale.0.fields.0.key'],
      ['FIELD_UNKNOWN', 'presale.0.fields.1.key'],
    ]);
  });
});
