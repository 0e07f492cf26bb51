/** React wrapper (@lit/react) of `<sales-notifications>`; importing it registers the tag. */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import {
  define,
  SalesNotifications as SalesNotificationsElement,
  type SpNotificationOpenEvent,
} from '../notifications/sales-notifications.js';
import type { SpErrorEvent } from '../shared/events.js';

define();

/** `<sales-notifications>`: The signed-in user's reminders, overdue notices and approvals. */
export const SalesNotifications = createComponent({
  tagName: 'sales-notifications',
  elementClass: SalesNotificationsElement,
  react: React,
  displayName: 'SalesNotifications',
  events: {
    onSpNotificationOpen: 'sp-notification-open' as EventName<SpNotificationOpenEvent>,
    onSpError: 'sp-error' as EventName<SpErrorEvent>,
  },
});
