import type { Detail } from '@sales-process/core';
import type { KitFailure } from './failure.js';

const init = (cancelable = false): EventInit => ({ bubbles: true, composed: true, cancelable });

/** Fired after the server moved an opportunity (complete, move back, win, lose, invalidate). */
export class SpStageChangedEvent extends Event {
  static readonly type = 'sp-stage-changed';
  constructor(readonly detail: { opportunityId: string; action: string; stageId: string | null; status: string }) {
    super(SpStageChangedEvent.type, init());
  }
}

/** Fired when the server refused a transition; `details` lists every unmet gate. */
export class SpTransitionRefusedEvent extends Event {
  static readonly type = 'sp-transition-refused';
  constructor(readonly detail: { opportunityId: string; action: string; code: string; details: Detail[] }) {
    super(SpTransitionRefusedEvent.type, init());
  }
}

/** Fired after a stage was completed (the opportunity moved on). */
export class SpStageCompletedEvent extends Event {
  static readonly type = 'sp-stage-completed';
  constructor(readonly detail: { opportunityId: string; fromStageId: string | null; toStageId: string | null }) {
    super(SpStageCompletedEvent.type, init());
  }
}

/** Fired when completing a stage asked the owner's supervisor for approval. */
export class SpApprovalRequestedEvent extends Event {
  static readonly type = 'sp-approval-requested';
  constructor(readonly detail: { opportunityId: string; stageId: string | null }) {
    super(SpApprovalRequestedEvent.type, init());
  }
}

/** Fired before an action is sent to the server; cancel it to stop the action. */
export class SpBeforeActionEvent extends Event {
  static readonly type = 'sp-before-action';
  constructor(readonly detail: { opportunityId: string; action: string; body: Record<string, unknown> }) {
    super(SpBeforeActionEvent.type, init(true));
  }
}

/** A supervisor approved or rejected a stage. */
export class SpApprovalDecidedEvent extends Event {
  static readonly type = 'sp-approval-decided';
  constructor(readonly detail: { approvalId: string; opportunityId: string; decision: 'approve' | 'reject' }) {
    super(SpApprovalDecidedEvent.type, init());
  }
}

/**
 * Fired when the element could not load, save or connect. `detail.code` is the server's
 * error code (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, `STALE_STATE`, …) or the
 * client's own: `NETWORK` (server down, origin refused, live connection failed) and
 * `NO_TOKEN`; `detail.status` is the HTTP status, 0 when no answer came.
 */
export class SpErrorEvent extends Event {
  static readonly type = 'sp-error';
  readonly detail: KitFailure;
  constructor(detail: Omit<KitFailure, 'status' | 'details'> & { status?: number; details?: Detail[] }) {
    super(SpErrorEvent.type, init());
    this.detail = { ...detail, status: detail.status ?? 0, details: detail.details ?? [] };
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'sp-stage-changed': SpStageChangedEvent;
    'sp-transition-refused': SpTransitionRefusedEvent;
    'sp-error': SpErrorEvent;
    'sp-stage-completed': SpStageCompletedEvent;
    'sp-approval-requested': SpApprovalRequestedEvent;
    'sp-before-action': SpBeforeActionEvent;
    'sp-approval-decided': SpApprovalDecidedEvent;
  }
}
