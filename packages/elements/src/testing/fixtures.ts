import type { OpportunityView } from '../shared/types.js';

/** An opportunity on the seed's process, as the server returns it. */
export function opportunityFixture(overrides: Partial<OpportunityView> = {}): OpportunityView {
  return {
    id: 'opp_1',
    name: '宝钢股份 数据中台',
    customerId: 'cus_1',
    customerName: '宝钢股份',
    ownerId: 'sun',
    ownerName: '孙七',
    supervisorId: 'li',
    amount: 2_300_000,
    currency: 'CNY',
    expectedCloseDate: '2027-02-28',
    processId: 'proc_1',
    processVersion: 1,
    stageId: 'needs',
    stageName: '需求分析匹配',
    stageRequirements: '梳理客户需求，确认与产品的匹配程度',
    status: 'open',
    phase: 'presale',
    terminalName: null,
    winRate: 30,
    weightedAmount: 690_000,
    stageEnteredAt: '2026-11-20T00:00:00.000Z',
    daysInStage: 6,
    overdue: false,
    postsaleStaff: [],
    lostReason: null,
    contactCount: 3,
    orderCount: 0,
    approval: null,
    gates: [],
    actions: ['completeStage', 'lose', 'invalidate', 'moveBack'],
    form: [],
    path: {
      presale: [
        { id: 'visit', name: '初次拜访', winRate: 10 },
        { id: 'needs', name: '需求分析匹配', winRate: 30 },
        { id: 'solution', name: '方案设计', winRate: 50 },
        { id: 'quote', name: '报价竞标', winRate: 80 },
      ],
      postsale: [
        { id: 'install', name: '上门安装', overdueAfterDays: 5 },
        { id: 'training', name: '实施培训', overdueAfterDays: 10 },
        { id: 'acceptance', name: '验收', overdueAfterDays: 7 },
      ],
      terminal: {
        won: { name: '赢单', winRate: 100 },
        lost: { name: '输单', winRate: 0 },
        invalid: { name: '无效', winRate: 0 },
      },
      maxStageIndex: 1,
      rules: {
        orderRequiredToWin: true,
        orderAllowedAfterStage: 'solution',
        allowSkipStages: false,
        allowMoveBack: true,
      },
    },
    ...overrides,
  };
}
