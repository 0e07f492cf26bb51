/**
 * Field types and value checks, with no dependency: elements import this module alone
 * (it keeps zod out of their bundles).
 */
// The list of types lives in its own module, so code that only checks values (the stage form
// in the one-script kit) does not carry it.
import type { FieldType } from './field-types.js';
export { FIELD_TYPES, type FieldType } from './field-types.js';

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
  /** Largest magnitude of a number value. */
  number: 1e15,
  /** Largest money amount: 13 digits before the point, what the amount columns (numeric(15,2)) hold. */
  money: 9_999_999_999_999,
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
  /** The media type, when the client keeps it. */
  type?: string;
}

const FILE_REF_KEYS = new Set(['id', 'name', 'size', 'type']);

/**
 * Exactly a file reference: `{id, name, size}` as `POST /files` answers it (and the form
 * stores it), optionally with `type`; nothing else, every part bounded. Whether the id is
 * a file of the tenant is the server's check.
 */
export function isFileRef(value: unknown): value is FileRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!FILE_REF_KEYS.has(key)) return false;
  return (
    typeof v.id === 'string' &&
    v.id.length >= 1 &&
    v.id.length <= MAX.key * 2 &&
    isStorableText(v.id) &&
    typeof v.name === 'string' &&
    v.name.length <= 200 &&
    isStorableText(v.name) &&
    typeof v.size === 'number' &&
    Number.isInteger(v.size) &&
    v.size >= 0 &&
    v.size <= MAX.number &&
    (v.type === undefined || (typeof v.type === 'string' && v.type.length <= 100 && isStorableText(v.type)))
  );
}

/** A real calendar day as YYYY-MM-DD (not 2024-02-30, not year 0): what a PostgreSQL date accepts. */
export function isCalendarDate(value: string): boolean {
  if (!DATE.test(value) || value.startsWith('0000')) return false;
  const at = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) === value;
}

/** Neither NUL (PostgreSQL cannot store it) nor an unpaired UTF-16 surrogate (not Unicode text). */
// Without the u flag (OpenAPI patterns have no flags): every surrogate must come in a pair.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this rule refuses.
export const STORABLE_TEXT = /^(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;
export const isStorableText = (s: string): boolean => STORABLE_TEXT.test(s);
/**
 * The same rule from the other side: one character no storable text has, a NUL or an
 * unpaired surrogate (in `u` mode a surrogate range only matches unpaired ones). For
 * finding or replacing the offending character; `!UNSTORABLE_CHAR.test(s)` is `isStorableText(s)`.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this finds.
export const UNSTORABLE_CHAR = /[\u0000\uD800-\uDFFF]/u;

/**
 * The indexes of items whose key an earlier item already has (a list of ids or options
 * that must not repeat; an upsert of one id twice in one statement is a database error).
 */
export function repeatedAt<T>(items: readonly T[], key: (item: T) => unknown): number[] {
  const seen = new Set<unknown>();
  const out: number[] = [];
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) out.push(i);
    seen.add(k);
  });
  return out;
}

/** Keys no free-form map, field key or id may use: they name or shadow prototypes. */
export const RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

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
  if (typeof value === 'string' && !isStorableText(value))
    return bad('含有不允许的字符', 'contains a character that is not allowed');
  switch (type) {
    case 'text':
    case 'textarea':
      if (typeof value !== 'string') return bad('应为文本', 'must be text');
      if (value.length > MAX.textValue) return bad('文本过长', 'text is too long');
      return null;
    case 'number':
    case 'currency':
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad('应为数字', 'must be a number');
      if (Math.abs(value) > (type === 'currency' ? MAX.money : MAX.number))
        return bad('数值超出范围', 'is out of range');
      return null;
    case 'date':
      if (typeof value !== 'string' || !isCalendarDate(value))
        return bad('应为日期 (YYYY-MM-DD)', 'must be a date (YYYY-MM-DD)');
      return null;
    case 'datetime':
      if (typeof value !== 'string' || value.length > 40 || Number.isNaN(Date.parse(value)))
        return bad('应为日期时间', 'must be a date-time');
      return null;
    case 'boolean':
      if (typeof value !== 'boolean') return bad('应为是或否', 'must be true or false');
      return null;
    case 'select':
      if (typeof value !== 'string' || value.length > MAX.key) return bad('应为选项', 'must be an option');
      if (options && !options.some((o) => o.value === value)) return bad('不是可选项', 'is not one of the options');
      return null;
    case 'multiselect':
      if (
        !Array.isArray(value) ||
        value.length > MAX.options ||
        !value.every((v) => typeof v === 'string' && v.length <= MAX.key && isStorableText(v))
      )
        return bad('应为选项列表', 'must be a list of options');
      if (options && !value.every((v) => options.some((o) => o.value === v)))
        return bad('含有不可选的项', 'has a value that is not an option');
      return null;
    case 'email':
      if (typeof value !== 'string' || value.length > 254 || !EMAIL.test(value))
        return bad('邮箱格式不正确', 'must be an e-mail address');
      return null;
    case 'phone':
      if (typeof value !== 'string' || !PHONE.test(value)) return bad('电话格式不正确', 'must be a phone number');
      return null;
    case 'url':
      if (typeof value !== 'string' || value.length > 2000 || !/^https?:\/\/\S+$/.test(value))
        return bad('应为 http(s) 网址', 'must be an http(s) URL');
      return null;
    case 'user':
      if (typeof value !== 'string' || value.length > MAX.key * 2) return bad('应为用户', 'must be a user id');
      return null;
    case 'file':
      return isFileRef(value) ? null : bad('应为已上传的文件', 'must be an uploaded file');
  }
}

// The built-in fields live in their own module, so code that only checks values (the stage
// form in the one-script kit) does not carry them.
export { CONTACT_ROLE_KEY, SYSTEM_FIELDS, type SystemField } from './system-fields.js';
