import { css } from 'lit';
import { controlStyles, hostTokens } from '../shared/tokens.js';

/** The styles of `<stage-feedback-form>`: the shared tokens and controls, then its own. */
export default [
  hostTokens,
  controlStyles,
  css`
    :host {
      display: block;
    }
    /* While loading, hold the height of the smallest loaded form (a title, a requirement, the buttons). */
    [aria-busy='true'] {
      min-height: 11rem;
      margin: 0;
    }
    h3 {
      margin: 0 0 0.25rem;
      font-size: 1.05em;
    }
    .requirements {
      white-space: pre-wrap;
      color: var(--_muted);
      background: var(--_subtle);
      border-radius: var(--_radius);
      padding: 0.5rem 0.75rem;
      margin: 0 0 0.75rem;
    }
    .field {
      display: grid;
      gap: 0.25rem;
      margin-bottom: 0.75rem;
    }
    label,
    legend {
      font-weight: 600;
    }
    .req {
      color: var(--_danger);
      margin-left: 0.2em;
    }
    input:not([type='checkbox']):not([type='file']),
    textarea,
    select {
      width: 100%;
    }
    [aria-invalid='true'] {
      border-color: var(--_danger) !important;
    }
    .error {
      color: var(--_danger);
      font-size: 0.85em;
    }
    fieldset {
      border: 0;
      padding: 0;
      margin: 0;
    }
    .options label {
      font-weight: normal;
      margin-right: 0.75rem;
    }
    .editing {
      font-size: 0.8em;
      font-weight: normal;
      margin-left: 0.5em;
    }
    .bar {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem;
      align-items: center;
      font-size: 0.85em;
      color: var(--_muted);
      margin-bottom: 0.5rem;
    }
    .who {
      display: inline-flex;
      align-items: center;
      gap: 0.25rem;
    }
    .dot {
      width: 0.6rem;
      height: 0.6rem;
      border-radius: 50%;
      display: inline-block;
    }
    .offline {
      color: var(--_warn);
    }
    .notice {
      color: var(--_danger);
      margin: 0 0 0.5rem;
    }
    button.file-link {
      border: 0;
      background: none;
      padding: 0;
      color: var(--_accent);
      text-decoration: underline;
    }
  `,
];
