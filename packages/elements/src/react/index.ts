/**
 * React wrappers (@lit/react) of every kit element, with typed props and `onSp*` event props:
 *
 *     import { SalesProcessProvider, OpportunityStagePath } from '@sales-process/elements/react';
 *     <SalesProcessProvider baseUrl={url} token={token}>
 *       <OpportunityStagePath opportunityId={id} onSpStageChanged={(e) => console.log(e.detail)} />
 *     </SalesProcessProvider>
 *
 * Importing this module registers the elements under their default tags (as the package's
 * main entry does). Needs `react` and `@lit/react` (optional peer dependencies).
 */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import { define as defineInbox, StageApprovalInbox as StageApprovalInboxElement } from '../approvals/stage-approval-inbox.js';
import { define as defineDesigner, SalesProcessDesigner as SalesProcessDesignerElement, type SpChangeEvent, type SpPublishEvent } from '../designer/sales-process-designer.js';
import { define as defineForm, StageFeedbackForm as StageFeedbackFormElement } from '../form/stage-feedback-form.js';
import { define as defineFunnel, SalesFunnelChart as SalesFunnelChartElement } from '../funnel/sales-funnel-chart.js';
import { define as defineNotifications, SalesNotifications as SalesNotificationsElement, type SpNotificationOpenEvent } from '../notifications/sales-notifications.js';
import { define as defineProvider, SalesProcessProvider as SalesProcessProviderElement } from '../provider/sales-process-provider.js';
import type {
  SpApprovalDecidedEvent,
  SpApprovalRequestedEvent,
  SpBeforeActionEvent,
  SpErrorEvent,
  SpStageChangedEvent,
  SpStageCompletedEvent,
  SpTransitionRefusedEvent,
} from '../shared/events.js';
import { define as defineStagePath, OpportunityStagePath as OpportunityStagePathElement } from '../stage-path/opportunity-stage-path.js';

defineProvider();
defineStagePath();
defineForm();
defineInbox();
defineDesigner();
defineFunnel();
defineNotifications();

const onSpError = 'sp-error' as EventName<SpErrorEvent>;

/** `<sales-process-provider>`: hands `baseUrl`, `token` and `lang` to the kit elements inside it. */
export const SalesProcessProvider = createComponent({
  tagName: 'sales-process-provider',
  elementClass: SalesProcessProviderElement,
  react: React,
  displayName: 'SalesProcessProvider',
});

/** `<opportunity-stage-path>`: an opportunity's stages with their actions. */
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
    onSpError,
  },
});

/** `<stage-feedback-form>`: the current stage's form, co-filled live, form-associated. */
export const StageFeedbackForm = createComponent({
  tagName: 'stage-feedback-form',
  elementClass: StageFeedbackFormElement,
  react: React,
  displayName: 'StageFeedbackForm',
  events: { onSpError },
});

/** `<stage-approval-inbox>`: stage completions waiting for the supervisor. */
export const StageApprovalInbox = createComponent({
  tagName: 'stage-approval-inbox',
  elementClass: StageApprovalInboxElement,
  react: React,
  displayName: 'StageApprovalInbox',
  events: {
    onSpApprovalDecided: 'sp-approval-decided' as EventName<SpApprovalDecidedEvent>,
    onSpError,
  },
});

/** `<sales-process-designer>`: the live process designer. */
export const SalesProcessDesigner = createComponent({
  tagName: 'sales-process-designer',
  elementClass: SalesProcessDesignerElement,
  react: React,
  displayName: 'SalesProcessDesigner',
  events: {
    onSpChange: 'sp-change' as EventName<SpChangeEvent>,
    onSpPublish: 'sp-publish' as EventName<SpPublishEvent>,
    onSpError,
  },
});

/** `<sales-funnel-chart>`: the funnel of a process, with a table alternative. */
export const SalesFunnelChart = createComponent({
  tagName: 'sales-funnel-chart',
  elementClass: SalesFunnelChartElement,
  react: React,
  displayName: 'SalesFunnelChart',
  events: { onSpError },
});

/** `<sales-notifications>`: the signed-in user's reminders, overdue notices and approvals. */
export const SalesNotifications = createComponent({
  tagName: 'sales-notifications',
  elementClass: SalesNotificationsElement,
  react: React,
  displayName: 'SalesNotifications',
  events: {
    onSpNotificationOpen: 'sp-notification-open' as EventName<SpNotificationOpenEvent>,
    onSpError,
  },
});

export type {
  SpApprovalDecidedEvent,
  SpApprovalRequestedEvent,
  SpBeforeActionEvent,
  SpChangeEvent,
  SpErrorEvent,
  SpNotificationOpenEvent,
  SpPublishEvent,
  SpStageChangedEvent,
  SpStageCompletedEvent,
  SpTransitionRefusedEvent,
};
