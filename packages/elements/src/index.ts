/** Registers every element under its default tag. Import the classes from their own modules to register under a prefix of yours. */
import { define as defineProvider } from './provider/sales-process-provider.js';
import { define as defineStagePath } from './stage-path/opportunity-stage-path.js';
import { define as defineNotifications } from './notifications/sales-notifications.js';
import { define as defineForm } from './form/stage-feedback-form.js';
import { define as defineInbox } from './approvals/stage-approval-inbox.js';
import { define as defineDesigner } from './designer/sales-process-designer.js';
import { define as defineFunnel } from './funnel/sales-funnel-chart.js';
import { define as defineFieldManager } from './field-manager/sales-field-manager.js';
import { define as defineBoard } from './board/opportunity-board.js';

export { SalesProcessProvider } from './provider/sales-process-provider.js';
export { OpportunityStagePath } from './stage-path/opportunity-stage-path.js';
export {
  SpOpportunityEditedEvent,
  SpOpportunityReassignedEvent,
  SpProcessChangedEvent,
} from './stage-path/record-events.js';
export { StageFeedbackForm } from './form/stage-feedback-form.js';
export { StageApprovalInbox, type ApprovalView } from './approvals/stage-approval-inbox.js';
export { SalesProcessDesigner, SpChangeEvent, SpPublishEvent } from './designer/sales-process-designer.js';
export {
  SalesFunnelChart,
  type FunnelData,
  type StaleDealsData,
  type WinLossData,
} from './funnel/sales-funnel-chart.js';
export {
  SalesFieldManager,
  SpFieldsChangedEvent,
  type ManagedField,
  type ManagedOption,
} from './field-manager/sales-field-manager.js';
export {
  SalesNotifications,
  SpNotificationOpenEvent,
  type NotificationView,
} from './notifications/sales-notifications.js';
export {
  OpportunityBoard,
  SpBulkDoneEvent,
  SpOpportunityOpenEvent,
  type BoardCard,
  type BoardCommand,
  type BoardResult,
} from './board/opportunity-board.js';
export { ApiClient, ApiClientError, type KitErrorCode, type TokenProvider } from './client/api-client.js';
export { SalesProcessConnection } from './shared/connection.js';
export type { KitFailure } from './shared/failure.js';
export * from './shared/events.js';
export type { OpportunityView, FormFieldView } from '@sales-process/core';

export function defineAll(): void {
  defineProvider();
  defineStagePath();
  defineNotifications();
  defineForm();
  defineInbox();
  defineDesigner();
  defineFunnel();
  defineFieldManager();
  defineBoard();
}

defineAll();
