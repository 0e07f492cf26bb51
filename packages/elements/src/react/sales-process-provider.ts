/** React wrapper (@lit/react) of `<sales-process-provider>`; importing it registers the tag. */
import { createComponent } from '@lit/react';
import * as React from 'react';
import { define, SalesProcessProvider as SalesProcessProviderElement } from '../provider/sales-process-provider.js';

define();

/** `<sales-process-provider>`: Hands `baseUrl`, `token` and `lang` to the kit elements inside it. */
export const SalesProcessProvider = createComponent({
  tagName: 'sales-process-provider',
  elementClass: SalesProcessProviderElement,
  react: React,
  displayName: 'SalesProcessProvider',
});
