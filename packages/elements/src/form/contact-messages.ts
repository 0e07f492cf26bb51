import type { Messages } from '../shared/i18n.js';
/** The words of the stage form's contact gates and "add contact" form (a lazily loaded chunk), zh-CN and en. */
export const contactMessages = {
  gates: ['联系人要求', 'Contact requirements'],
  contacts: ['客户联系人：{have}/{need}', 'Customer contacts: {have}/{need}'],
  hasRole: ['已有“{role}”角色的联系人', 'A contact has the role "{role}"'],
  addContact: ['添加联系人', 'Add contact'],
  contactName: ['姓名', 'Name'],
  contactTitle: ['职务', 'Title'],
  contactPhone: ['电话', 'Phone'],
  roles: ['角色', 'Roles'],
  needed: ['（本阶段需要）', ' (needed for this stage)'],
  met: ['已满足', 'met'],
  unmet: ['未满足', 'not met'],
} satisfies Messages;
