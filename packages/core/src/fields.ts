import { z } from 'zod';
import { FIELD_TYPES, MAX, repeatedAt, RESERVED_KEYS, STORABLE_TEXT } from './field-values.js';
export * from './field-values.js';

/** A string of at most `max` characters that PostgreSQL can store (no NUL, no unpaired surrogate). */
export const storableText = (max: number) =>
  z.string().max(max).regex(STORABLE_TEXT, 'must not contain NUL or an unpaired surrogate');

export const FIELD_OBJECTS = ['customer', 'opportunity'] as const;
export type FieldObject = (typeof FIELD_OBJECTS)[number];

export const fieldKeySchema = z
  .string()
  .min(1)
  .max(MAX.key)
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'letters, digits and _; starts with a letter')
  .refine((k) => !RESERVED_KEYS.includes(k), 'constructor and prototype are reserved');

export const localizedTextSchema = z.object({
  zh: storableText(MAX.label),
  en: storableText(MAX.label),
});

/** A list whose items may not repeat `key` (reported at each repeat, under `field`). */
export const noRepeats =
  <T>(key: (item: T) => unknown, field: string | null, what: string) =>
  (items: T[], ctx: { addIssue(issue: { code: 'custom'; message: string; path: (string | number)[] }): void }) => {
    for (const i of repeatedAt(items, key))
      ctx.addIssue({
        code: 'custom',
        message: `repeats the ${what} of an earlier item`,
        path: field === null ? [i] : [i, field],
      });
  };

export const fieldOptionSchema = z.object({
  value: storableText(MAX.key).min(1),
  label: localizedTextSchema,
});

export const fieldDefinitionSchema = z.object({
  key: fieldKeySchema,
  label: localizedTextSchema,
  type: z.enum(FIELD_TYPES),
  options: z
    .array(fieldOptionSchema)
    .max(MAX.options)
    .superRefine(noRepeats((o) => o.value, 'value', 'value'))
    .optional(),
  /** Required whenever the object is saved (e.g. the lost reason when losing). */
  required: z.boolean().optional(),
});
export type FieldDefinition = z.infer<typeof fieldDefinitionSchema> & { system?: boolean };

const LOST_REASON: FieldDefinition = {
  key: 'lostReason',
  label: { zh: '输单原因', en: 'Lost reason' },
  type: 'select',
  required: true,
  options: [
    { value: 'price', label: { zh: '价格', en: 'Price' } },
    { value: 'competitor', label: { zh: '竞争对手', en: 'Competitor' } },
    { value: 'noBudget', label: { zh: '无预算', en: 'No budget' } },
    { value: 'other', label: { zh: '其他', en: 'Other' } },
  ],
};
/** Field definitions every tenant starts with; "lost reason" is one (SPEC §2). */
export const DEFAULT_CUSTOM_FIELDS: Record<FieldObject, FieldDefinition[]> = {
  customer: [
    {
      key: 'industry',
      label: { zh: '行业', en: 'Industry' },
      type: 'select',
      options: [
        { value: 'manufacturing', label: { zh: '制造业', en: 'Manufacturing' } },
        { value: 'retail', label: { zh: '零售', en: 'Retail' } },
        { value: 'finance', label: { zh: '金融', en: 'Finance' } },
        { value: 'it', label: { zh: '信息技术', en: 'IT' } },
      ],
    },
  ],
  opportunity: [LOST_REASON],
};
