/**
 * Field types and value checks, with no dependency: elements import this module alone
 * (it keeps zod out of their bundles).
 */
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

export const MAX = {
  stages: 50,
  fieldsPerStage: 100,
  name: 80,
  requirements: 10_000,
  label: 120,
  key: 64,
  options: 200,
  textValue: 10_000,
  departments: 500,
  days: 3650,
} as const;

export interface FieldOption {
  value: string;
  label: { zh: string; en: string };
}

export interface ValueProblem {
  message: { zh: string; en: string };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^[+()\d\s-]{3,32}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Is a value empty for the purpose of "required"? */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

/** A stored file reference, as the server returns it after an upload. */
export interface FileRef {
  id: string;
  name: string;
  size: number;
}

/**
 * Checks a value against a field type. Empty values are valid here ("required" is a
 * separate gate). Returns null when valid.
 */
export function checkFieldValue(
  type: FieldType,
  value: unknown,
  options?: readonly FieldOption[],
): ValueProblem | null {
  if (isEmptyValue(value)) return null;
  const bad = (zh: string, en: string): ValueProblem => ({ message: { zh, en } });
  switch (type) {
    case 'text':
    case 'textarea':
      if (typeof value !== 'string') return bad('应为文本', 'must be text');
      if (value.length > MAX.textValue) return bad('文本过长', 'text is too long');
      return null;
    case 'number':
    case 'currency':
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad('应为数字', 'must be a number');
      return null;
    case 'date':
      if (typeof value !== 'string' || !DATE.test(value) || Number.isNaN(Date.parse(value)))
        return bad('应为日期 (YYYY-MM-DD)', 'must be a date (YYYY-MM-DD)');
      return null;
    case 'datetime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) return bad('应为日期时间', 'must be a date-time');
      return null;
    case 'boolean':
      if (typeof value !== 'boolean') return bad('应为是或否', 'must be true or false');
      return null;
    case 'select':
      if (typeof value !== 'string') return bad('应为选项', 'must be an option');
      if (options && !options.some((o) => o.value === value)) return bad('不是可选项', 'is not one of the options');
      return null;
    case 'multiselect':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return bad('应为选项列表', 'must be a list of options');
      if (options && !value.every((v) => options.some((o) => o.value === v))) return bad('含有不可选的项', 'has a value that is not an option');
      return null;
    case 'email':
      if (typeof value !== 'string' || !EMAIL.test(value)) return bad('邮箱格式不正确', 'must be an e-mail address');
      return null;
    case 'phone':
      if (typeof value !== 'string' || !PHONE.test(value)) return bad('电话格式不正确', 'must be a phone number');
      return null;
    case 'url':
      if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value)) return bad('应为 http(s) 网址', 'must be an http(s) URL');
      return null;
    case 'user':
      if (typeof value !== 'string' || value.length > MAX.key * 2) return bad('应为用户', 'must be a user id');
      return null;
    case 'file': {
      const ok =
        typeof value === 'object' &&
        value !== null &&
        typeof (value as FileRef).id === 'string' &&
        typeof (value as FileRef).name === 'string' &&
        typeof (value as FileRef).size === 'number';
      return ok ? null : bad('应为已上传的文件', 'must be an uploaded file');
    }
  }
}

/** A built-in field (a column, not a custom value). */
export interface SystemField {
  key: string;
  label: { zh: string; en: string };
  type: FieldType;
  system: true;
}

/**
 * Built-in opportunity and customer fields: they are columns, not custom values,
 * but stage forms may reference them like any other field.
 */
export const SYSTEM_FIELDS: Record<'customer' | 'opportunity', SystemField[]> = {
  customer: [{ key: 'name', label: { zh: '客户名称', en: 'Customer name' }, type: 'text', system: true }],
  opportunity: [
    { key: 'name', label: { zh: '商机名称', en: 'Opportunity name' }, type: 'text', system: true },
    { key: 'amount', label: { zh: '金额', en: 'Amount' }, type: 'currency', system: true },
    { key: 'expectedCloseDate', label: { zh: '预计成交日期', en: 'Expected close date' }, type: 'date', system: true },
  ],
};

