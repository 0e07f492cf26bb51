import type { Principal } from '../http/auth.js';
import { ApiError } from '../http/errors.js';

/** Salespeople, their supervisors and admins create and write records; analysts only read. */
export const canSell = (p: Principal) => p.roles.has('admin') || p.roles.has('sales') || p.roles.has('supervisor');

/** What `opportunityAccess` reads of an opportunity. */
export interface AccessRow {
  ownerId: string;
  /** The owner's supervisor. */
  managerId: string | null;
  postsaleStaff: readonly string[];
  status: string;
  phase: string;
}

/**
 * Who may read and who may write an opportunity: the one rule, for REST commands and the
 * live doc alike (the SQL in files/service.ts `mayReadFile`, directory/customers.ts `mayWrite`
 * and opportunities/service.ts `list` restate its read side; change them with it). Readers: its
 * owner, the owner's supervisor, its post-sale staff, admins and analysts. Writers: pre-sale the
 * owner, supervisor and admins, post-sale the owner, post-sale staff and admins; `write` is false
 * once it is closed (neither open nor in its post-sale phase). `presale`/`postsale` are who may
 * act in each phase.
 */
export function opportunityAccess(p: Principal, row: AccessRow) {
  const isOwner = row.ownerId === p.userId;
  const isManager = row.managerId !== null && row.managerId === p.userId;
  const isAdmin = p.roles.has('admin');
  const isStaff = row.postsaleStaff.includes(p.userId);
  const presale = isOwner || isManager || isAdmin;
  const postsale = isOwner || isStaff || isAdmin;
  const live = row.status === 'open' || row.phase === 'postsale';
  return {
    manager: row.managerId,
    read: isOwner || isManager || isAdmin || isStaff || p.roles.has('analyst'),
    write: live && (row.phase === 'postsale' ? postsale : presale),
    presale,
    postsale,
  };
}

export type OpportunityAccess = ReturnType<typeof opportunityAccess>;

/** Who may act on it in its phase (commands, the stage form), or 403. */
export function mayAct(p: Principal, row: AccessRow): OpportunityAccess {
  const a = opportunityAccess(p, row);
  const ok = row.phase === 'postsale' ? a.postsale : a.presale;
  if (!ok)
    throw new ApiError('FORBIDDEN', [
      {
        message: {
          zh: '只有负责人、直属上级或指定的售后人员可以操作此商机',
          en: 'Only the owner, their supervisor or assigned post-sale staff may act on this opportunity',
        },
      },
    ]);
  return a;
}
