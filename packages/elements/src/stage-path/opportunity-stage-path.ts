import { css, html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { classMap } from 'lit/directives/class-map.js';
import { ApiClientError } from '../client/api-client.js';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import { SpErrorEvent } from '../shared/events.js';
import { LocalizeController } from '../shared/i18n.js';
import { hostTokens } from '../shared/tokens.js';
import type { OpportunityView } from '../shared/types.js';
import { messages } from './messages.js';

type StepState = 'done' | 'current' | 'todo' | 'won' | 'lost' | 'invalid';

/**
 * @summary An opportunity's stages as a path: completed, current and remaining pre-sale
 * stages, the terminal state, and post-sale stages once won.
 *
 * @csspart summary - The line with name, amount and win rate.
 * @csspart path - The ordered list of steps.
 * @csspart step - One step; `step current`, `step done` mark state.
 * @event sp-error - Loading failed.
 * @cssproperty --sp-color-accent - The current step.
 */
export class OpportunityStagePath extends ConnectedElement {
  static override styles = [
    hostTokens,
    css`
      :host {
        display: block;
      }
      .summary {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1rem;
        align-items: baseline;
        margin-bottom: 0.5rem;
      }
      .name {
        font-weight: 600;
        font-size: 1.1em;
      }
      .muted {
        color: var(--_muted);
      }
      ol {
        display: flex;
        flex-wrap: wrap;
        list-style: none;
        margin: 0;
        padding: 0;
        gap: 2px;
      }
      li {
        position: relative;
        flex: 1 1 7rem;
        min-width: 6rem;
        padding: 0.4rem 0.75rem 0.4rem 1rem;
        background: var(--_subtle);
        color: var(--_fg);
        clip-path: polygon(0 0, calc(100% - 10px) 0, 100% 50%, calc(100% - 10px) 100%, 0 100%, 10px 50%);
      }
      li:first-child {
        clip-path: polygon(0 0, calc(100% - 10px) 0, 100% 50%, calc(100% - 10px) 100%, 0 100%);
        border-radius: var(--_radius) 0 0 var(--_radius);
      }
      li.done {
        background: color-mix(in srgb, var(--_done) 18%, var(--_bg));
      }
      li.current {
        background: var(--_accent);
        color: var(--_accent-fg);
        font-weight: 600;
      }
      li.won {
        background: var(--_done);
        color: #fff;
      }
      li.lost,
      li.invalid {
        background: var(--_danger);
        color: #fff;
      }
      li.overdue {
        background: var(--_warn);
        color: #fff;
      }
      .step-name {
        display: block;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .step-meta {
        display: block;
        font-size: 0.8em;
        opacity: 0.85;
      }
      .phase {
        margin: 0.75rem 0 0.25rem;
        font-size: 0.85em;
        color: var(--_muted);
      }
      .error {
        color: var(--_danger);
      }
    `,
  ];

  /** The opportunity to show; loaded from the server. */
  @property({ attribute: 'opportunity-id' }) opportunityId = '';
  /** The loaded opportunity (may also be set directly). */
  @property({ attribute: false }) opportunity: OpportunityView | null = null;

  @state() protected loading = false;
  @state() protected error: string | null = null;

  protected readonly i18n = new LocalizeController(this, messages);

  protected override willUpdate(changed: PropertyValues<this>): void {
    if ((changed.has('opportunityId') || changed.has('token') || changed.has('baseUrl') || changed.has('connection' as never)) && this.opportunityId) void this.refresh();
  }

  /** Reloads the opportunity from the server. */
  async refresh(): Promise<void> {
    const client = this.client;
    if (!client || !this.opportunityId) return;
    this.loading = true;
    try {
      this.opportunity = await client.get<OpportunityView>(`/opportunities/${encodeURIComponent(this.opportunityId)}`);
      this.error = null;
    } catch (e) {
      const err = e as ApiClientError;
      this.error = err.message;
      this.dispatchEvent(new SpErrorEvent({ code: err.code ?? 'NETWORK', message: err.message, details: err.details ?? [] }));
    } finally {
      this.loading = false;
    }
  }

  protected presaleState(o: OpportunityView, index: number): StepState {
    const current = o.path.presale.findIndex((s) => s.id === o.stageId);
    if (o.status === 'won') return 'done';
    if (o.status === 'open' && o.phase === 'presale') return index < current ? 'done' : index === current ? 'current' : 'todo';
    // lost or invalid: stages before the one it closed from were done.
    return index < current ? 'done' : 'todo';
  }

  protected override render() {
    const o = this.opportunity;
    if (this.error && !o) return html`<p class="error" role="alert">${this.i18n.t('loadFailed')}: ${this.error}</p>`;
    if (!o) return html`<p class="muted" aria-busy="true">${this.i18n.t('loading')}</p>`;
    const t = this.i18n;
    const closed = o.status === 'lost' || o.status === 'invalid';
    return html`
      <div class="summary" part="summary">
        <span class="name">${o.name}</span>
        <span>${t.money(o.amount, o.currency)}</span>
        <span>${t.t('winRate')}: <strong>${t.percent(o.winRate)}</strong></span>
        ${o.status === 'open' || o.phase === 'postsale'
          ? html`<span class="muted">${t.t('daysInStage', { days: o.daysInStage })}</span>`
          : html`<span class="muted">${o.terminalName}</span>`}
      </div>
      <div class="phase" id="presale-label">${t.t('presale')}</div>
      <ol part="path" aria-labelledby="presale-label">
        ${o.path.presale.map((s, i) => this.step(s.name, this.presaleState(o, i), t.percent(s.winRate)))}
        ${o.status === 'won' ? this.step(o.path.terminal.won.name, 'won', t.percent(o.path.terminal.won.winRate)) : nothing}
        ${closed ? this.step(o.path.terminal[o.status as 'lost' | 'invalid'].name, o.status as StepState, t.percent(o.winRate)) : nothing}
      </ol>
      ${o.status === 'won' && o.path.postsale.length
        ? html`<div class="phase" id="postsale-label">${t.t('postsale')}</div>
            <ol part="path" aria-labelledby="postsale-label">
              ${o.path.postsale.map((s, i) => {
                const current = o.path.postsale.findIndex((x) => x.id === o.stageId);
                const st: StepState = o.phase === 'done' ? 'done' : i < current ? 'done' : i === current ? 'current' : 'todo';
                return this.step(s.name, st, st === 'current' && o.overdue ? t.t('overdue') : '', st === 'current' && o.overdue);
              })}
            </ol>`
        : nothing}
    `;
  }

  protected step(name: string, st: StepState, meta: string, overdue = false) {
    const label = this.i18n.t(`state_${st}` as 'state_done');
    return html`<li
      part="step ${st}"
      class=${classMap({ [st]: true, overdue })}
      aria-current=${st === 'current' ? 'step' : nothing}
      title="${name} · ${label}"
    >
      <span class="step-name">${st === 'done' ? '✓ ' : ''}${name}</span>
      <span class="step-meta">${meta}<span class="sr-only" style="position:absolute;clip:rect(0 0 0 0);width:1px;height:1px;overflow:hidden"> (${label})</span></span>
    </li>`;
  }
}

export const define = (tag = 'opportunity-stage-path') => defineElement(tag, OpportunityStagePath);

declare global {
  interface HTMLElementTagNameMap {
    'opportunity-stage-path': OpportunityStagePath;
  }
}
