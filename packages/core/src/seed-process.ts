import { processDefinitionSchema, type ProcessDefinition } from './definition.js';

/** The seed's example process, "重要客户销售流程" (seed/sales-process.zh.md). */
export const SEED_PROCESS_NAME = '重要客户销售流程';

export const seedProcessDefinition: ProcessDefinition = processDefinitionSchema.parse({
  presale: [
    {
      id: 'visit',
      name: '初次拜访',
      winRate: 10,
      requirements: '确认项目的直接联系人和关键决策人',
      remindAfterDays: 7,
      minContacts: 2,
      fields: [
        { source: 'customer', key: 'industry', required: true },
        { source: 'opportunity', key: 'amount', required: false },
        {
          source: 'stage',
          key: 'visitNotes',
          required: true,
          label: { zh: '拜访记录', en: 'Visit notes' },
          type: 'textarea',
        },
      ],
    },
    {
      id: 'needs',
      name: '需求分析匹配',
      winRate: 30,
      requirements: '梳理客户需求，确认与产品的匹配程度',
      remindAfterDays: 14,
      fields: [
        {
          source: 'stage',
          key: 'needsSummary',
          required: true,
          label: { zh: '需求摘要', en: 'Needs summary' },
          type: 'textarea',
        },
      ],
    },
    {
      id: 'solution',
      name: '方案设计',
      winRate: 50,
      requirements: '方案影响项目是否赢单，且代表企业品牌形象，需直属上级审批确认',
      remindAfterDays: 14,
      requiresApproval: true,
      fields: [
        {
          source: 'stage',
          key: 'designDoc',
          required: true,
          label: { zh: '设计方案', en: 'Design' },
          type: 'textarea',
        },
        {
          source: 'stage',
          key: 'customerFeedback',
          required: true,
          label: { zh: '客户意见', en: 'Customer feedback' },
          type: 'textarea',
        },
      ],
    },
    {
      id: 'quote',
      name: '报价竞标',
      winRate: 80,
      requirements: '提交报价并参与竞标',
      remindAfterDays: 10,
      fields: [{ source: 'opportunity', key: 'expectedCloseDate', required: true }],
    },
  ],
  postsale: [
    {
      id: 'install',
      name: '上门安装',
      requirements: '客户已下单，需尽快安装',
      remindAfterDays: 2,
      overdueAfterDays: 5,
    },
    {
      id: 'training',
      name: '实施培训',
      requirements: '完成实施与培训，记录客户反馈的问题',
      remindAfterDays: 5,
      overdueAfterDays: 10,
      fields: [
        {
          source: 'stage',
          key: 'issues',
          required: false,
          label: { zh: '客户反馈的问题', en: 'Issues raised' },
          type: 'textarea',
        },
      ],
    },
    { id: 'acceptance', name: '验收', requirements: '客户签署验收单', remindAfterDays: 3, overdueAfterDays: 7 },
  ],
  rules: { orderRequiredToWin: true, orderAllowedAfterStage: 'solution', allowSkipStages: false, allowMoveBack: true },
});
