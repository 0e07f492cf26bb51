/**
 * React wrappers (@lit/react) of every kit element, with typed props and `onSp*` event props:
 *
 *     import { SalesProcessProvider, OpportunityStagePath } from '@sales-process/elements/react';
 *     <SalesProcessProvider baseUrl={url} token={token}>
 *       <OpportunityStagePath opportunityId={id} onSpStageChanged={(e) => console.log(e.detail)} />
 *     </SalesProcessProvider>
 *
 * Importing this module registers every element under its default tag; import one wrapper's
 * module (`@sales-process/elements/react/opportunity-stage-path.js`) to register only its own.
 * Needs `react` and `@lit/react` (optional peer dependencies).
 */
export { SalesProcessProvider } from './sales-process-provider.js';
export { OpportunityStagePath } from './opportunity-stage-path.js';
export { StageFeedbackForm } from './stage-feedback-form.js';
export { StageApprovalInbox } from './stage-approval-inbox.js';
export { SalesProcessDesigner } from './sales-process-designer.js';
export { SalesFunnelChart } from './sales-funnel-chart.js';
export { SalesNotifications } from './sales-notifications.js';
export { SalesFieldManager } from './sales-field-manager.js';
export { OpportunityBoard } from './opportunity-board.js';
export type { SpChangeEvent, SpPublishEvent } from '../designer/sales-process-designer.js';
export type { SpNotificationOpenEvent } from '../notifications/sales-notifications.js';
export type { SpFieldsChangedEvent } from '../field-manager/sales-field-manager.js';
export type { SpBulkDoneEvent, SpOpportunityOpenEvent } from '../board/opportunity-board.js';
export type {
  SpApprovalDecidedEvent,
  SpApprovalRequestedEvent,
  SpBeforeActionEvent,
  SpErrorEvent,
  SpStageChangedEvent,
  SpStageCompletedEvent,
  SpTransitionRefusedEvent,
} from '../shared/events.js';
