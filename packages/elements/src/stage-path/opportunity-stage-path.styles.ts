import { css } from 'lit';
import { controlStyles, hostTokens } from '../shared/tokens.js';

/** The styles of `<opportunity-stage-path>`: the shared tokens and controls, then its own. */
export default [
  hostTokens,
  controlStyles,
  css`
    :host {
      display: block;
    }
    /* While loading, hold about the loaded path's height (it wraps taller on a phone): nothing below jumps. */
    [aria-busy='true'] {
      min-height: 9rem;
      margin: 0;
    }
    @media (max-width: 40rem) {
      [aria-busy='true'] {
        min-height: 13.5rem;
      }
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
    }
    .phase {
      margin: 0.75rem 0 0.25rem;
      font-size: 0.85em;
      color: var(--_muted);
    }
    .error {
      color: var(--_danger);
    }
    .actions {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem;
      margin-top: 0.75rem;
      align-items: center;
    }
    button.won {
      background: var(--_done);
      border-color: var(--_done);
      color: #fff;
    }
    .panel {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem;
      align-items: center;
      margin-top: 0.5rem;
      padding: 0.5rem;
      background: var(--_subtle);
      border-radius: var(--_radius);
    }
    .refusal {
      margin: 0.5rem 0 0;
      padding: 0.5rem 0.75rem;
      border-left: 3px solid var(--_danger);
      background: color-mix(in srgb, var(--_danger) 8%, var(--_bg));
    }
    .refusal ul {
      margin: 0.25rem 0 0;
      padding-left: 1.2rem;
    }
    .status {
      font-size: 0.9em;
    }
    .pending {
      color: var(--_warn);
    }
    .sr-only {
      position: absolute;
      clip: rect(0 0 0 0);
      width: 1px;
      height: 1px;
      overflow: hidden;
    }
  `,
];
