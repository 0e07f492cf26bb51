/**
 * The events of the stage path's record actions (its "more actions" menu: edit, reassign,
 * reopen, change process). They live beside the element, not in shared/: only the menu's
 * chunk, loaded when the menu is first opened, creates them. Reopening and changing process
 * also fire `sp-stage-changed` (they move the opportunity), with `action: 'reopen'` and
 * `action: 'changeProcess'`.
 */
const init: EventInit = { bubbles: true, composed: true };

/** The record was edited (`PATCH /opportunities/{id}`); `changes` holds what the request changed. */
export class SpOpportunityEditedEvent extends Event {
  static readonly type = 'sp-opportunity-edited';
  constructor(
    readonly detail: {
      opportunityId: string;
      changes: { name?: string; amount?: number; currency?: string; expectedCloseDate?: string | null };
    },
  ) {
    super(SpOpportunityEditedEvent.type, init);
  }
}

/** The opportunity went to another owner (`POST /opportunities/reassign`). */
export class SpOpportunityReassignedEvent extends Event {
  static readonly type = 'sp-opportunity-reassigned';
  constructor(
    readonly detail: {
      opportunityId: string;
      fromOwnerId: string;
      toOwnerId: string;
      /** Every opportunity the request moved: this one, or all of the owner's open ones. */
      opportunityIds: string[];
    },
  ) {
    super(SpOpportunityReassignedEvent.type, init);
  }
}

/** The opportunity moved to another sales process (`POST /opportunities/{id}/change-process`). */
export class SpProcessChangedEvent extends Event {
  static readonly type = 'sp-process-changed';
  constructor(
    readonly detail: { opportunityId: string; fromProcessId: string; processId: string; stageId: string | null },
  ) {
    super(SpProcessChangedEvent.type, init);
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'sp-opportunity-edited': SpOpportunityEditedEvent;
    'sp-opportunity-reassigned': SpOpportunityReassignedEvent;
    'sp-process-changed': SpProcessChangedEvent;
  }
}
