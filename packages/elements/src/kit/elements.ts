/**
 * The kit's tags and the module of each, for the one-script embed. A new element is one line
 * here (its module exports `define(tag?)`). The provider comes first: it registers before
 * the elements that take their connection from it.
 */
export interface ElementModule {
  define(tag?: string): void;
}

export const PROVIDER_TAG = 'sales-process-provider';

export const KIT_ELEMENTS: Readonly<Record<string, () => Promise<ElementModule>>> = {
  'sales-process-provider': () => import('../provider/sales-process-provider.js'),
  // One chunk for both (stage-path-form.ts says why).
  'opportunity-stage-path': () => import('./stage-path-form.js').then((m) => ({ define: m.defineStagePath })),
  'stage-feedback-form': () => import('./stage-path-form.js').then((m) => ({ define: m.defineStageForm })),
  'stage-approval-inbox': () => import('../approvals/stage-approval-inbox.js'),
  'sales-process-designer': () => import('../designer/sales-process-designer.js'),
  'sales-funnel-chart': () => import('../funnel/sales-funnel-chart.js'),
  'sales-notifications': () => import('../notifications/sales-notifications.js'),
  'sales-field-manager': () => import('../field-manager/sales-field-manager.js'),
  'opportunity-board': () => import('../board/opportunity-board.js'),
};
