/** React wrapper (@lit/react) of `<sales-funnel-chart>`; importing it registers the tag. */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import { define, SalesFunnelChart as SalesFunnelChartElement } from '../funnel/sales-funnel-chart.js';
import type { SpErrorEvent } from '../shared/events.js';

define();

/** `<sales-funnel-chart>`: The funnel of a process, with a table alternative. */
export const SalesFunnelChart = createComponent({
  tagName: 'sales-funnel-chart',
  elementClass: SalesFunnelChartElement,
  react: React,
  displayName: 'SalesFunnelChart',
  events: {
    onSpError: 'sp-error' as EventName<SpErrorEvent>,
  },
});
