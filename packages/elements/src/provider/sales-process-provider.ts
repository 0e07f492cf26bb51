import { provide } from '@lit/context';
import { html, LitElement, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { connectionContext, type Connection } from '../shared/connection.js';
import { defineElement } from '../shared/define.js';

/**
 * @summary Hands `base-url`, `token` and `lang` to every kit element inside it.
 * @slot - The host's content with kit elements anywhere inside.
 */
export class SalesProcessProvider extends LitElement {
  @property({ attribute: 'base-url' }) baseUrl = '';
  @property() token = '';

  @provide({ context: connectionContext })
  @state()
  protected connection: Connection | undefined;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('baseUrl') || changed.has('token'))
      this.connection = { baseUrl: this.baseUrl || globalThis.location?.origin || '', token: this.token, lang: this.lang || undefined };
  }

  protected override render() {
    return html`<slot></slot>`;
  }
}

export const define = (tag = 'sales-process-provider') => defineElement(tag, SalesProcessProvider);

declare global {
  interface HTMLElementTagNameMap {
    'sales-process-provider': SalesProcessProvider;
  }
}
