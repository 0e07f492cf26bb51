import { css } from 'lit';
import { controlStyles, hostTokens } from '../shared/tokens.js';

/** The styles of `<sales-funnel-chart>`: the shared tokens and controls, then its own. */
export default [
  hostTokens,
  controlStyles,
  css`
    :host {
      display: block;
    }
    .top {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem 1rem;
      align-items: center;
      justify-content: space-between;
    }
    .toggle button {
      font: inherit;
      border: 1px solid var(--_border);
      background: var(--_bg);
      color: inherit;
      padding: 0.25rem 0.7rem;
      cursor: pointer;
    }
    .toggle button[aria-pressed='true'] {
      background: var(--_accent);
      color: var(--_accent-fg);
      border-color: var(--_accent);
    }
    /* Two columns where the chart has room for them, one on a phone (its own width, not the page's). */
    .grid {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(min(100%, 18rem), 1fr));
      gap: 1rem;
      align-items: start;
    }
    [part='funnel'] {
      display: block;
    }
    .seg polygon {
      fill: var(--_accent);
      opacity: 0.85;
      vector-effect: non-scaling-stroke;
    }
    .seg:nth-child(2n) polygon {
      opacity: 0.65;
    }
    .seg:focus {
      outline: none;
    }
    .seg:focus polygon,
    .seg.active polygon {
      opacity: 1;
      stroke: var(--_fg);
      stroke-width: 2;
    }
    .seg text {
      fill: #fff;
      font-size: 13px;
      pointer-events: none;
    }
    .details {
      padding: 0.5rem 0.75rem;
      background: var(--_subtle);
      border-radius: var(--_radius);
    }
    /* No empty box before a stage is hovered or focused (the live region stays, empty). */
    .details:empty {
      padding: 0;
    }
    .tbl {
      overflow-x: auto;
    }
    .csv {
      display: block;
      margin: 0 0 0.25rem auto;
      font-size: 0.85em;
    }
    table {
      border-collapse: collapse;
      width: 100%;
      font-size: 0.9em;
    }
    th,
    td {
      border-bottom: 1px solid var(--_border);
      padding: 0.25rem 0.4rem;
      text-align: right;
    }
    th:first-child,
    td:first-child {
      text-align: left;
    }
    [part='forecast'] td:last-child {
      width: 30%;
    }
    .bar {
      height: 0.6rem;
      background: var(--_accent);
      border-radius: 2px;
    }
    .diag {
      border-left: 3px solid var(--_warn);
      padding-left: 0.6rem;
    }
    .diag.healthy {
      border-color: var(--_done);
    }
    form {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem;
      align-items: end;
    }
    .muted {
      color: var(--_muted);
      font-size: 0.9em;
    }
    .error {
      color: var(--_danger);
    }
    .error:empty {
      margin: 0;
    }
    .currency {
      margin: 0;
    }
    .warn {
      color: var(--_warn);
    }
    h4 {
      margin: 1rem 0 0.4rem;
    }
  `,
];
