import { css } from 'lit';
import { hostTokens } from '../shared/tokens.js';

/** The styles of `<sales-notifications>`: the shared tokens, then its own. */
export default [
  hostTokens,
  css`
    :host {
      display: inline-block;
      position: relative;
    }
    button.bell {
      position: relative;
      font: inherit;
      border: 1px solid var(--_border);
      background: var(--_bg);
      color: var(--_fg);
      border-radius: var(--_radius);
      padding: 0.25rem 0.6rem;
      cursor: pointer;
    }
    .badge {
      position: absolute;
      top: -0.4rem;
      right: -0.4rem;
      min-width: 1.1rem;
      padding: 0 0.25rem;
      border-radius: 999px;
      background: var(--_danger);
      color: #fff;
      font-size: 0.75rem;
      line-height: 1.1rem;
      text-align: center;
    }
    .panel {
      position: absolute;
      right: 0;
      z-index: 10;
      width: min(24rem, 90vw);
      max-height: 24rem;
      overflow: auto;
      margin-top: 0.3rem;
      background: var(--_bg);
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      box-shadow: 0 8px 24px rgb(0 0 0 / 0.15);
    }
    header {
      display: flex;
      justify-content: space-between;
      align-items: center;
      padding: 0.5rem 0.75rem;
      border-bottom: 1px solid var(--_border);
    }
    ul {
      list-style: none;
      margin: 0;
      padding: 0;
    }
    li button {
      display: block;
      width: 100%;
      text-align: left;
      font: inherit;
      color: inherit;
      background: none;
      border: 0;
      border-bottom: 1px solid var(--_border);
      padding: 0.55rem 0.75rem;
      cursor: pointer;
    }
    li.unread button {
      background: color-mix(in srgb, var(--_accent) 8%, var(--_bg));
      font-weight: 600;
    }
    time,
    .muted {
      display: block;
      color: var(--_muted);
      font-size: 0.8em;
      font-weight: normal;
    }
    .failure {
      position: absolute;
      right: 0;
      z-index: 10;
      width: max-content;
      max-width: min(24rem, 90vw);
      margin-top: 0.3rem;
      background: var(--_bg);
    }
    .icon {
      vertical-align: -3px;
    }
    .empty {
      padding: 0.75rem;
    }
    .link {
      font: inherit;
      font-size: 0.85em;
      background: none;
      border: 0;
      color: var(--_accent);
      cursor: pointer;
    }
  `,
];
