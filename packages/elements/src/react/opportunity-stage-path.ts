/** React wrapper (@lit/react) of `<opportunity-stage-path>`; importing it registers the tag. */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import { define, OpportunityStagePath as OpportunityStagePathElement } from '../stage-path/opportunity-stage-path.js';
import type {
  SpApprovalRequestedEvent,
  SpBeforeActionEvent,
  SpErrorEvent,
  SpStageChangedEvent,
  SpStageCompletedEvent,
  SpTransitionRefusedEvent,
} from '../shared/events.js';
import type {
  SpOpportunityEditedEvent,
  SpOpportunityReassignedEvent,
  SpProcessChangedEvent,
} from '../stage-path/record-events.js';

define();

/** `<opportunity-stage-path>`: An opportunity's stages with their actions. */
export const OpportunityStagePath = createComponent({
  tagName: 'opportunity-stage-path',
  elementClass: OpportunityStagePathElement,
  react: React,
  displayName: 'OpportunityStagePath',
  events: {
    onSpBeforeAction: 'sp-before-action' as EventName<SpBeforeActionEvent>,
    onSpStageChanged: 'sp-stage-changed' as EventName<SpStageChangedEvent>,
    onSpStageCompleted: 'sp-stage-completed' as EventName<SpStageCompletedEvent>,
    onSpApprovalRequested: 'sp-approval-requested' as EventName<SpApprovalRequestedEvent>,
    onSpTransitionRefused: 'sp-transition-refused' as EventName<SpTransitionRefusedEvent>,
    onSpOpportunityEdited: 'sp-opportunity-edited' as EventName<SpOpportunityEditedEvent>,
    onSpOpportunityReassigned: 'sp-opportunity-reassigned' as EventName<SpOpportunityReassignedEvent>,
    onSpProcessChanged: 'sp-process-changed' as EventName<SpProcessChangedEvent>,
    onSpError: 'sp-error' as EventName<SpErrorEvent>,
  },
});
