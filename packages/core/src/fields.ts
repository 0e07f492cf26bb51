import { z } from 'zod';
import { CONTACT_ROLE_KEY, FIELD_TYPES, MAX, repeatedAt, RESERVED_KEYS, STORABLE_TEXT } from './field-values.js';
export * from './field-values.js';

/** A string of at most `max` characters that PostgreSQL can store (no NUL, no unpaired surrogate). */
export const storableText = (max: number) =>
  z.string().max(max).regex(STORABLE_TEXT, 'must not contain NUL or an unpaired surrogate');

/** The objects whose fields admins manage: a contact's roles are a field of `contact`. */
export const FIELD_OBJECTS = ['customer', 'opportunity', 'contact'] as const;
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

/**
 * An option of a field definition (字段管理). An archived option is not offered for new
 * values; values that hold it stay readable (with its label) and valid while unchanged.
 */
export const definedOptionSchema = fieldOptionSchema.extend({ archived: z.boolean().optional() });
export type DefinedOption = z.infer<typeof definedOptionSchema>;

/** A field's options, in display order: values unique. */
export const definedOptionsSchema = z
  .array(definedOptionSchema)
  .max(MAX.options)
  .superRefine(noRepeats((o) => o.value, 'value', 'value'));

export const fieldDefinitionSchema = z.object({
  key: fieldKeySchema,
  label: localizedTextSchema,
  type: z.enum(FIELD_TYPES),
  options: definedOptionsSchema.optional(),
  /** Required whenever the object is saved (e.g. the lost reason when losing). */
  required: z.boolean().optional(),
});
export type FieldDefinition = z.infer<typeof fieldDefinitionSchema> & {
  system?: boolean;
  /** Archived (字段管理): hidden from pickers; stored values keep showing with its label. */
  archived?: boolean;
  /** Order among the object's custom fields (lower first). */
  position?: number;
};

/**
 * The options a value may take: those not archived, plus any archived ones `stored` (the
 * value stored now: one value or a list) already holds, so an unchanged value stays valid.
 */
export function offeredOptions<O extends { value: string; archived?: boolean }>(
  options: readonly O[] | null | undefined,
  stored?: unknown,
): O[] | undefined {
  if (!options) return undefined;
  const held = new Set<unknown>(Array.isArray(stored) ? stored : [stored]);
  return options.filter((o) => !o.archived || held.has(o.value));
}

/** The custom field whose options `lose` offers (输单原因): an ordinary select, seeded per tenant. */
export const LOST_REASON_KEY = 'lostReason';

const LOST_REASON: FieldDefinition = {
  key: LOST_REASON_KEY,
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
const CONTACT_ROLE: FieldDefinition = {
  key: CONTACT_ROLE_KEY,
  label: { zh: '联系人角色', en: 'Contact role' },
  type: 'multiselect',
  options: [
    { value: 'direct', label: { zh: '直接联系人', en: 'Direct contact' } },
    { value: 'decisionMaker', label: { zh: '关键决策人', en: 'Decision maker' } },
    { value: 'technical', label: { zh: '技术负责人', en: 'Technical lead' } },
    { value: 'procurement', label: { zh: '采购', en: 'Procurement' } },
  ],
};

/**
 * Field definitions every tenant starts with (seeded with the tenant, then the tenant's own
 * to edit and archive); "lost reason" is one (SPEC §2): its four reasons are where it starts.
 */
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
  contact: [CONTACT_ROLE],
};
