import type { FieldType } from '@sales-process/core';

/**
 * The field types' names, zh-CN and en, for the elements that offer a type (the designer's
 * stage-field picker, the field manager): spread into each element's messages, so both say
 * the same. Not in shared/: that folder goes into the chunk every page loads, and only
 * these two admin elements need the names.
 */
export const fieldTypeMessages: Record<'zh-CN' | 'en', Record<`type_${FieldType}`, string>> = {
  'zh-CN': {
    type_text: '单行文本',
    type_textarea: '多行文本',
    type_number: '数字',
    type_currency: '金额',
    type_date: '日期',
    type_datetime: '日期时间',
    type_boolean: '是/否',
    type_select: '单选',
    type_multiselect: '多选',
    type_email: '邮箱',
    type_phone: '电话',
    type_url: '网址',
    type_user: '人员',
    type_file: '附件',
  },
  en: {
    type_text: 'Text',
    type_textarea: 'Long text',
    type_number: 'Number',
    type_currency: 'Amount',
    type_date: 'Date',
    type_datetime: 'Date and time',
    type_boolean: 'Yes/no',
    type_select: 'Single choice',
    type_multiselect: 'Multiple choice',
    type_email: 'Email',
    type_phone: 'Phone',
    type_url: 'URL',
    type_user: 'User',
    type_file: 'File',
  },
};
