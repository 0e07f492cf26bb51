/** The words of the stage form's contact gates and "add contact" form (a lazily loaded chunk), zh-CN and en. */
export const contactMessages = {
  'zh-CN': {
    gates: '联系人要求',
    contacts: '客户联系人：{have}/{need}',
    hasRole: '已有“{role}”角色的联系人',
    addContact: '添加联系人',
    contactName: '姓名',
    contactTitle: '职务',
    contactPhone: '电话',
    roles: '角色',
    needed: '（本阶段需要）',
    met: '已满足',
    unmet: '未满足',
  },
  en: {
    gates: 'Contact requirements',
    contacts: 'Customer contacts: {have}/{need}',
    hasRole: 'A contact has the role "{role}"',
    addContact: 'Add contact',
    contactName: 'Name',
    contactTitle: 'Title',
    contactPhone: 'Phone',
    roles: 'Roles',
    needed: ' (needed for this stage)',
    met: 'met',
    unmet: 'not met',
  },
};
