import {
  availableActions,
  evaluateGates,
  gateDetail,
  stageById,
  winRateOf,
  type FieldCatalog,
  type OpportunityView,
  type ProcessDefinition,
} from '@sales-process/core';
import { fieldLabel, formOf } from './form.js';
import { stateOf, type Loaded } from './loads.js';

const DAY = 86_400_000;

/**
 * The opportunity as `GET /opportunities/{id}` answers it and the live doc's `server` root
 * mirrors it (core's `OpportunityView`), from its loaded row, the definition of the version
 * it is on, the tenant's field catalog and the time (days in stage, overdue).
 */
export function opportunityView(
  row: Loaded,
  def: ProcessDefinition,
  catalog: FieldCatalog,
  now: Date,
): OpportunityView {
  const state = stateOf(row);
  const at = stageById(def, row.stageId);
  const winRate = winRateOf(def, row);
  const gates = row.status === 'open' || row.phase === 'postsale' ? evaluateGates(def, state) : [];
  const labelOf = (source: string, key: string) => fieldLabel(def, catalog, row.stageId, source, key);
  return {
    id: row.id,
    name: row.name,
    customerId: row.customerId,
    customerName: row.customerName,
    ownerId: row.ownerId,
    ownerName: row.ownerName,
    supervisorId: row.managerId,
    departmentId: row.departmentId,
    amount: row.amount,
    currency: row.currency,
    expectedCloseDate: row.expectedCloseDate,
    processId: row.processId,
    processVersion: row.processVersion,
    stageId: row.stageId,
    stageName: at?.stage.name ?? null,
    stageRequirements: at?.stage.requirements ?? '',
    status: row.status,
    phase: row.phase,
    terminalName: row.status === 'open' ? null : def.terminal[row.status].name,
    winRate,
    weightedAmount: Math.round(row.amount * winRate) / 100,
    stageEnteredAt: row.stageEnteredAt.toISOString(),
    daysInStage: Math.floor((now.getTime() - row.stageEnteredAt.getTime()) / DAY),
    overdue:
      at?.phase === 'postsale' &&
      !!at.stage.overdueAfterDays &&
      now.getTime() - row.stageEnteredAt.getTime() >= at.stage.overdueAfterDays * DAY,
    fields: row.fields,
    stageValues: row.stageValues,
    postsaleStaff: row.postsaleStaff,
    lostReason: row.lostReason,
    contactCount: state.contactCount,
    orderCount: state.orderCount,
    approval: state.approval,
    gates: gates.map((g) => ({ ...g, message: gateDetail(g, def, row.stageId, labelOf).message })),
    // Closed, the one thing left is reopening it (when the process allows; a won one: admins).
    actions:
      row.status === 'open' || row.phase === 'postsale'
        ? availableActions(def, state)
        : availableActions(def, state).filter((a) => a === 'reopen'),
    form: at ? formOf(at.stage.fields, catalog, state) : null,
    /** The stages of the version it is on, for drawing its path. */
    path: {
      presale: def.presale.map((x) => ({ id: x.id, name: x.name, winRate: x.winRate })),
      postsale: def.postsale.map((x) => ({ id: x.id, name: x.name, overdueAfterDays: x.overdueAfterDays })),
      terminal: def.terminal,
      maxStageIndex: row.maxStageIndex,
      rules: def.rules,
    },
    createdAt: row.createdAt.toISOString(),
    closedAt: row.closedAt?.toISOString() ?? null,
    updatedAt: row.updatedAt.toISOString(),
  };
}
