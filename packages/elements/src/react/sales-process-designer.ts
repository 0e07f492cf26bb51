/** React wrapper (@lit/react) of `<sales-process-designer>`; importing it registers the tag. */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import {
  define,
  SalesProcessDesigner as SalesProcessDesignerElement,
  type SpChangeEvent,
  type SpPublishEvent,
} from '../designer/sales-process-designer.js';
import type { SpErrorEvent } from '../shared/events.js';

define();

/** `<sales-process-designer>`: The live process designer. */
export const SalesProcessDesigner = createComponent({
  tagName: 'sales-process-designer',
  elementClass: SalesProcessDesignerElement,
  react: React,
  displayName: 'SalesProcessDesigner',
  events: {
    onSpChange: 'sp-change' as EventName<SpChangeEvent>,
    onSpPublish: 'sp-publish' as EventName<SpPublishEvent>,
    onSpError: 'sp-error' as EventName<SpErrorEvent>,
  },
});
