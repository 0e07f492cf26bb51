/** The field types of SPEC §2. */
export const FIELD_TYPES = [
  'text',
  'textarea',
  'number',
  'currency',
  'date',
  'datetime',
  'boolean',
  'select',
  'multiselect',
  'email',
  'phone',
  'url',
  'user',
  'file',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
