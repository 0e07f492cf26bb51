import { css } from 'lit';
import { controlStyles, hostTokens } from '../shared/tokens.js';

/** The styles of `<opportunity-board>`: the shared tokens and controls, then its own. */
export default [
  hostTokens,
  controlStyles,
  css`
    :host {
      display: block;
      /* The columns' height and a toolbar, held while the cards load (the columns never get shorter). */
      min-height: calc(var(--sp-board-height, 70vh) + 4.5rem);
    }
    .bar {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem;
      align-items: center;
      margin-bottom: 0.5rem;
    }
    .cols {
      display: flex;
      gap: 0.5rem;
      overflow-x: auto;
      align-items: flex-start;
    }
    section {
      flex: 0 0 var(--sp-board-column-width, 260px);
      background: var(--_subtle);
      border: 2px solid transparent;
      border-radius: var(--_radius);
    }
    .over {
      border-color: var(--_accent);
    }
    header {
      display: grid;
      grid-template-columns: auto 1fr auto;
      gap: 0 0.4rem;
      align-items: center;
      padding: 0.4rem 0.5rem;
    }
    h3 {
      margin: 0;
      font-size: 1em;
    }
    [part='total'],
    .muted {
      grid-column: 1 / -1;
      color: var(--_muted);
      font-size: 0.9em;
    }
    .cards {
      height: var(--sp-board-height, 70vh);
      overflow-y: auto;
      padding: 0 0.4rem;
    }
    ul {
      list-style: none;
      margin: 0;
      padding: 0;
    }
    .card {
      height: 92px;
      margin-bottom: 6px;
      box-sizing: border-box;
      padding: 0.25rem 0.5rem;
      background: var(--_bg);
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      display: grid;
      grid-template-columns: auto 1fr;
      gap: 0 0.3rem;
      align-content: start;
      overflow: hidden;
      cursor: grab;
    }
    .card > span {
      grid-column: 1 / -1;
      white-space: nowrap;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    .name {
      border: 0;
      padding: 0;
      background: none;
      font-weight: 600;
      text-align: start;
      white-space: nowrap;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    b {
      color: var(--_warn);
    }
    .overdue {
      color: var(--_danger);
    }
    .noted {
      height: auto;
      border-color: var(--_danger);
    }
    .grabbed {
      outline: 2px dashed var(--_accent);
    }
    .busy {
      opacity: 0.6;
    }
    .refusal {
      grid-column: 1 / -1;
      color: var(--_danger);
    }
    .refusal ul {
      margin: 0.2rem 0;
      padding-inline-start: 1.2em;
      list-style: disc;
    }
    .sr {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip-path: inset(50%);
      white-space: nowrap;
    }
    dialog {
      color: inherit;
      background: var(--_bg);
    }
  `,
];
