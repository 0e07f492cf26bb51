import type { FieldType } from '@sales-process/core';

/**
 * The field types' names, zh-CN and en, for the elements that offer a type (the designer's
 * stage-field picker, the field manager): spread into each element's messages, so both say
 * the same. Not in shared/: that folder goes into the chunk every page loads, and only
 * these two admin elements need the names.
 */
export const fieldTypeMessages: Record<`type_${FieldType}`, readonly [zh: string, en: string]> = {
  type_text: ['单行文本', 'Text'],
  type_textarea: ['多行文本', 'Long text'],
  type_number: ['数字', 'Number'],
  type_currency: ['金额', 'Amount'],
  type_date: ['日期', 'Date'],
  type_datetime: ['日期时间', 'Date and time'],
  type_boolean: ['是/否', 'Yes/no'],
  type_select: ['单选', 'Single choice'],
  type_multiselect: ['多选', 'Multiple choice'],
  type_email: ['邮箱', 'Email'],
  type_phone: ['电话', 'Phone'],
  type_url: ['网址', 'URL'],
  type_user: ['人员', 'User'],
  type_file: ['附件', 'File'],
};
