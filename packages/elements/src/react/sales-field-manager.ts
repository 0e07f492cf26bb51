/** React wrapper (@lit/react) of `<sales-field-manager>`; importing it registers the tag. */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import {
  define,
  SalesFieldManager as SalesFieldManagerElement,
  type SpFieldsChangedEvent,
} from '../field-manager/sales-field-manager.js';
import type { SpErrorEvent } from '../shared/events.js';

define();

/** `<sales-field-manager>`: field management (字段管理) for admins. */
export const SalesFieldManager = createComponent({
  tagName: 'sales-field-manager',
  elementClass: SalesFieldManagerElement,
  react: React,
  displayName: 'SalesFieldManager',
  events: {
    onSpFieldsChanged: 'sp-fields-changed' as EventName<SpFieldsChangedEvent>,
    onSpError: 'sp-error' as EventName<SpErrorEvent>,
  },
});
