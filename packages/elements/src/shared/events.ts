import type { Detail, ErrorCode } from '@sales-process/core';

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

/** Fired when the element could not load or save. */
export class SpErrorEvent extends Event {
  static readonly type = 'sp-error';
  constructor(readonly detail: { code: ErrorCode | 'NETWORK'; message: string; details: Detail[] }) {
    super(SpErrorEvent.type, init());
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'sp-stage-changed': SpStageChangedEvent;
    'sp-transition-refused': SpTransitionRefusedEvent;
    'sp-error': SpErrorEvent;
  }
}
