import { SEED_PROCESS_NAME, seedProcessDefinition, type Role } from '@sales-process/core';
import { and, eq } from 'drizzle-orm';
import type { Services } from '../app.js';
import { processes } from '../db/schema.js';
import type { Principal } from '../http/auth.js';

export const DEMO_TENANT = 'demo';

/** The demo company: a department tree, users with managers, one of each role. */
export const DEMO_USERS: { id: string; name: string; departmentId: string; managerId: string | null; roles: Role[] }[] =
  [
    { id: 'admin', name: '王管理', departmentId: 'hq', managerId: null, roles: ['admin', 'analyst'] },
    { id: 'li', name: '李经理', departmentId: 'sales', managerId: 'admin', roles: ['supervisor', 'sales', 'analyst'] },
    { id: 'zhang', name: '张三', departmentId: 'sales-east', managerId: 'li', roles: ['sales'] },
    { id: 'zhao', name: '赵六', departmentId: 'sales-east', managerId: 'li', roles: ['sales'] },
    { id: 'sun', name: '孙七', departmentId: 'sales-north', managerId: 'li', roles: ['sales'] },
    { id: 'wu', name: '吴八', departmentId: 'marketing', managerId: 'admin', roles: ['sales'] },
    { id: 'chen', name: '陈工', departmentId: 'service', managerId: 'admin', roles: ['postsale'] },
    { id: 'zhou', name: '周分析', departmentId: 'hq', managerId: 'admin', roles: ['analyst'] },
  ];

const DEPARTMENTS = [
  { id: 'hq', name: '总部', parentId: null },
  { id: 'sales', name: '销售部', parentId: 'hq' },
  { id: 'sales-east', name: '华东销售部', parentId: 'sales' },
  { id: 'sales-north', name: '华北销售部', parentId: 'sales' },
  { id: 'marketing', name: '市场部', parentId: 'hq' },
  { id: 'service', name: '售后服务部', parentId: 'hq' },
];

const as = (id: string): Principal => {
  const u = DEMO_USERS.find((x) => x.id === id)!;
  return { tenantId: DEMO_TENANT, userId: u.id, roles: new Set(u.roles), name: u.name };
};

/** Seeds the demo tenant once (nothing happens when its process exists). Goes through the services, like any host would. */
export async function seedDemo(s: Services): Promise<boolean> {
  await s.tenants.ensure(DEMO_TENANT);
  const { db } = s.ctx.database;
  const [existing] = await db
    .select({ id: processes.id })
    .from(processes)
    .where(and(eq(processes.tenantId, DEMO_TENANT), eq(processes.name, SEED_PROCESS_NAME)));
  if (existing) return false;
  const admin = as('admin');
  await s.directory.sync(admin, { departments: DEPARTMENTS, users: DEMO_USERS });
  const process = await s.processes.create(admin, {
    name: SEED_PROCESS_NAME,
    departments: ['sales'],
    definition: seedProcessDefinition,
    asDraft: false,
  });

  // Contacts with their roles (options of the contact.role field: 直接联系人, 关键决策人, 技术负责人, 采购).
  const customers: { name: string; industry?: string; contacts: [string, string, string[]][] }[] = [
    {
      name: '华润置地',
      industry: 'retail',
      contacts: [
        ['刘总', '总经理', ['decisionMaker']],
        ['钱经理', '采购经理', ['direct', 'procurement']],
      ],
    },
    { name: '中信银行', industry: 'finance', contacts: [['何行长', '分行行长', ['decisionMaker']]] },
    { name: '海尔集团', industry: 'manufacturing', contacts: [] },
    {
      name: '宝钢股份',
      contacts: [
        ['马工', '信息部主任', ['technical']],
        ['林总', 'CIO', ['decisionMaker']],
        ['郑经理', '项目经理', ['direct']],
      ],
    },
  ];
  const ids: string[] = [];
  for (const c of customers) {
    const created = await s.customers.create(admin, {
      name: c.name,
      fields: c.industry ? { industry: c.industry } : {},
    });
    for (const [name, title, roles] of c.contacts)
      await s.customers.addContact(admin, created.id, { name, title, roles });
    ids.push(created.id);
  }
  const opp = (name: string, customer: number, amount: number, owner: string, close: string) =>
    s.opportunities.create(as(owner), {
      name,
      customerId: ids[customer]!,
      amount,
      currency: 'CNY',
      expectedCloseDate: close,
      processId: process.id,
      fields: {},
    });

  await opp('华润置地 门店系统升级', 0, 480_000, 'zhang', '2027-03-31');
  await opp('中信银行 网点改造', 1, 1_200_000, 'zhang', '2027-05-15');
  await opp('海尔集团 产线数字化', 2, 860_000, 'zhao', '2027-04-30');
  // One further along: 宝钢 has its contacts and fields, so it moves to 需求分析匹配.
  const far = await opp('宝钢股份 数据中台', 3, 2_300_000, 'sun', '2027-02-28');
  await s.customers.get(db, DEMO_TENANT, ids[3]!);
  await s.opportunities.saveStageForm(as('sun'), far.id, {
    industry: 'manufacturing',
    visitNotes: '已拜访信息部，确认决策链：林总拍板，马工负责技术评估。',
  });
  await s.opportunities.command(as('sun'), far.id, { type: 'completeStage' });
  return true;
}
