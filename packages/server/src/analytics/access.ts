import type { Principal } from '../http/auth.js';
import { ApiError } from '../http/errors.js';

/** Analysts, supervisors and admins read every figure of their tenant. */
export function readsAllAnalytics(p: Principal): boolean {
  return p.roles.has('analyst') || p.roles.has('admin') || p.roles.has('supervisor');
}

/** The funnel (and its change stream, and the currency rates it converts at) is for analysts, supervisors and admins. */
export function mayReadAnalytics(p: Principal): void {
  if (!readsAllAnalytics(p))
    throw new ApiError('FORBIDDEN', [
      { message: { zh: '需要分析、主管或管理员角色', en: 'Needs the analyst, supervisor or admin role' } },
    ]);
}

/**
 * The figures a caller may read of what they ask for: everyone's for analysts, supervisors
 * and admins; a salesperson's own (their target plan, stale deals, win/loss: `ownerId` is
 * theirs, given or not). Anyone else, or a salesperson asking for someone else's or a
 * department's, is refused.
 */
export function ownFiguresScope<Q extends { ownerId?: string; departmentId?: string }>(p: Principal, q: Q): Q {
  if (readsAllAnalytics(p)) return q;
  if (!p.roles.has('sales')) mayReadAnalytics(p);
  if ((q.ownerId !== undefined && q.ownerId !== p.userId) || q.departmentId !== undefined)
    throw new ApiError('FORBIDDEN', [
      {
        path: q.departmentId !== undefined ? 'query.departmentId' : 'query.ownerId',
        message: {
          zh: '销售人员只能查看自己的数字',
          en: 'A salesperson reads only their own figures',
        },
      },
    ]);
  return { ...q, ownerId: p.userId };
}
