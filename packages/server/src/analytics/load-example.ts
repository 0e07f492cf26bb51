import type { FunnelOpportunity } from '@sales-process/core';
import { seedProcessDefinition } from '@sales-process/core';
import { ENTERED, EXAMPLE, STAYS } from '@sales-process/core/testing/funnel-example';
import { customers, opportunities, stageHistory } from '../db/schema.js';
import type { TestServer } from '../testing/harness.js';

/**
 * The hand-computed example of core's funnel tests, written into the database: as tenant t1
 * (ids as they are), or another tenant with its ids prefixed (ids are global).
 */
export async function loadExample(t: TestServer, example: FunnelOpportunity[] = EXAMPLE, tenant = 't1', prefix = '') {
  const admin = t.as('admin', ['admin'], tenant);
  await admin.post('/directory/sync', {
    departments: [
      { id: 'hq', name: '总部' },
      { id: 'east', name: '华东', parentId: 'hq' },
      { id: 'north', name: '华北', parentId: 'hq' },
    ],
    users: [
      { id: 'admin', name: 'A', departmentId: 'hq' },
      { id: 'rep', name: 'R', departmentId: 'east', managerId: 'admin' },
      { id: 'rep2', name: 'R2', departmentId: 'north', managerId: 'admin' },
    ],
  });
  const processId = (await admin.post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition }))
    .body.id;
  const { db } = t.server.services.ctx.database;
  await db.insert(customers).values(
    ['cus_x', ...new Set(example.map((o) => o.customerId!))].map((id) => ({
      id: prefix + id,
      tenantId: tenant,
      name: `客户 ${id}`,
      fields: {},
      createdAt: new Date(),
      updatedAt: new Date(),
    })),
  );
  await db.insert(opportunities).values(
    example.map((o, i) => ({
      id: prefix + o.id,
      tenantId: tenant,
      name: o.id,
      customerId: prefix + o.customerId,
      ownerId: i % 2 ? 'rep2' : 'rep',
      departmentId: i % 2 ? 'north' : 'east',
      amount: o.amount,
      currency: o.currency ?? 'CNY',
      expectedCloseDate: o.expectedCloseDate,
      processId,
      processVersion: 1,
      stageId: o.stageId,
      status: o.status,
      phase:
        o.status === 'open'
          ? ('presale' as const)
          : o.status === 'won' && o.stageId
            ? ('postsale' as const)
            : ('done' as const),
      stageEnteredAt: new Date(ENTERED[o.id] ?? o.createdAt),
      maxStageIndex: o.maxStageIndex,
      createdAt: new Date(o.createdAt),
      closedAt: o.closedAt ? new Date(o.closedAt) : null,
      lostReason: o.lostReason ?? null,
      updatedAt: new Date(o.createdAt),
    })),
  );
  await db.insert(stageHistory).values(
    STAYS.map((s, i) => ({
      tenantId: tenant,
      opportunityId: prefix + example[i]!.id,
      processId,
      processVersion: 1,
      fromStageId: s.stageId,
      toStageId: 'x',
      toStatus: 'open',
      action: 'complete',
      at: new Date(),
      daysSpent: s.days,
    })),
  );
  return processId;
}
