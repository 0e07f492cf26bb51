/** React wrapper (@lit/react) of `<stage-approval-inbox>`; importing it registers the tag. */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import { define, StageApprovalInbox as StageApprovalInboxElement } from '../approvals/stage-approval-inbox.js';
import type { SpApprovalDecidedEvent, SpErrorEvent } from '../shared/events.js';

define();

/** `<stage-approval-inbox>`: Stage completions waiting for the supervisor. */
export const StageApprovalInbox = createComponent({
  tagName: 'stage-approval-inbox',
  elementClass: StageApprovalInboxElement,
  react: React,
  displayName: 'StageApprovalInbox',
  events: {
    onSpApprovalDecided: 'sp-approval-decided' as EventName<SpApprovalDecidedEvent>,
    onSpError: 'sp-error' as EventName<SpErrorEvent>,
  },
});
