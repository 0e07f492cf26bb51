import { css } from 'lit';
import { controlStyles, hostTokens } from '../shared/tokens.js';

/** The styles of `<stage-approval-inbox>`: the shared tokens and controls, then its own. */
export default [
  hostTokens,
  controlStyles,
  css`
    :host {
      display: block;
      /* The title and a line: the empty inbox's height, held while it loads. */
      min-height: 3.8rem;
    }
    article {
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      padding: 0.75rem;
      margin-bottom: 0.75rem;
    }
    h4 {
      margin: 0 0 0.25rem;
    }
    dl {
      display: grid;
      grid-template-columns: max-content 1fr;
      gap: 0.2rem 0.75rem;
      margin: 0.5rem 0;
    }
    dt {
      color: var(--_muted);
    }
    dd {
      margin: 0;
      white-space: pre-wrap;
    }
    textarea {
      width: 100%;
    }
    .buttons {
      display: flex;
      gap: 0.5rem;
      margin-top: 0.5rem;
    }
    button.approve {
      background: var(--_done);
      border-color: var(--_done);
      color: #fff;
    }
    button.reject {
      color: var(--_danger);
    }
    .error {
      color: var(--_danger);
    }
    .muted {
      color: var(--_muted);
    }
  `,
];
