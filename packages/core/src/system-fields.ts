import type { FieldType } from './field-values.js';
import type { FieldObject } from './fields.js';

/**
 * The contact field whose options are a contact's roles (直接联系人, 关键决策人, …); a pre-sale
 * stage may require contacts holding some of them (`requiredContactRoles`).
 */
export const CONTACT_ROLE_KEY = 'role';

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
export const SYSTEM_FIELDS: Record<FieldObject, SystemField[]> = {
  customer: [{ key: 'name', label: { zh: '客户名称', en: 'Customer name' }, type: 'text', system: true }],
  opportunity: [
    { key: 'name', label: { zh: '商机名称', en: 'Opportunity name' }, type: 'text', system: true },
    { key: 'amount', label: { zh: '金额', en: 'Amount' }, type: 'currency', system: true },
    { key: 'expectedCloseDate', label: { zh: '预计成交日期', en: 'Expected close date' }, type: 'date', system: true },
  ],
  contact: [
    { key: 'name', label: { zh: '姓名', en: 'Name' }, type: 'text', system: true },
    { key: 'title', label: { zh: '职务', en: 'Title' }, type: 'text', system: true },
    { key: 'phone', label: { zh: '电话', en: 'Phone' }, type: 'text', system: true },
  ],
};
