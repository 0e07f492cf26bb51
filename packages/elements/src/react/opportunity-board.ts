/** React wrapper (@lit/react) of `<opportunity-board>`; importing it registers the tag. */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import {
  define,
  OpportunityBoard as OpportunityBoardElement,
  type SpBulkDoneEvent,
  type SpOpportunityOpenEvent,
} from '../board/opportunity-board.js';
import type {
  SpApprovalRequestedEvent,
  SpBeforeActionEvent,
  SpErrorEvent,
  SpStageChangedEvent,
  SpTransitionRefusedEvent,
} from '../shared/events.js';

define();

/** `<opportunity-board>`: the pipeline board of a sales process (columns per stage, drag to move, bulk actions). */
export const OpportunityBoard = createComponent({
  tagName: 'opportunity-board',
  elementClass: OpportunityBoardElement,
  react: React,
  displayName: 'OpportunityBoard',
  events: {
    onSpBeforeAction: 'sp-before-action' as EventName<SpBeforeActionEvent>,
    onSpStageChanged: 'sp-stage-changed' as EventName<SpStageChangedEvent>,
    onSpApprovalRequested: 'sp-approval-requested' as EventName<SpApprovalRequestedEvent>,
    onSpTransitionRefused: 'sp-transition-refused' as EventName<SpTransitionRefusedEvent>,
    onSpBulkDone: 'sp-bulk-done' as EventName<SpBulkDoneEvent>,
    onSpOpportunityOpen: 'sp-opportunity-open' as EventName<SpOpportunityOpenEvent>,
    onSpError: 'sp-error' as EventName<SpErrorEvent>,
  },
});
