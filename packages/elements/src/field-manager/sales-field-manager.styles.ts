import { css } from 'lit';
import { controlStyles, hostTokens } from '../shared/tokens.js';

/** The styles of `<sales-field-manager>`: the shared tokens and controls, then its own. */
export default [
  hostTokens,
  controlStyles,
  css`
    :host {
      display: block;
    }
    header {
      display: flex;
      gap: 0.75rem;
      align-items: baseline;
    }
    h3,
    h4 {
      margin: 0 0 0.5rem;
    }
    .live {
      color: var(--_done);
      font-size: 0.85em;
    }
    [role='tablist'] {
      display: flex;
      gap: 0.25rem;
      border-bottom: 1px solid var(--_border);
      margin-bottom: 0.75rem;
    }
    [role='tab'] {
      border: 0;
      border-bottom: 2px solid transparent;
      border-radius: 0;
      background: none;
      padding: 0.4rem 0.75rem;
    }
    [role='tab'][aria-selected='true'] {
      border-bottom-color: var(--_accent);
      color: var(--_accent);
      font-weight: 600;
    }
    ul,
    ol {
      list-style: none;
      margin: 0;
      padding: 0;
    }
    ul.fields li {
      display: flex;
      flex-wrap: wrap;
      gap: 0.25rem 0.6rem;
      align-items: center;
      padding: 0.45rem 0.6rem;
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      margin-bottom: 0.35rem;
      background: var(--_bg);
    }
    ul.fields li.system {
      background: var(--_subtle);
    }
    ul.fields li.picked {
      border-color: var(--_accent);
      box-shadow: var(--_focus);
    }
    ul.fields li[draggable='true'] {
      cursor: grab;
    }
    .name {
      font-weight: 600;
    }
    code,
    .muted {
      color: var(--_muted);
    }
    .tag {
      border-radius: 999px;
      padding: 0 0.5rem;
      font-size: 0.85em;
      background: var(--_subtle);
      color: var(--_muted);
    }
    .tag.required {
      color: var(--_danger);
    }
    .actions {
      margin-left: auto;
      display: flex;
      flex-wrap: wrap;
      gap: 0.3rem;
    }
    button.icon {
      padding: 0.1rem 0.45rem;
    }
    details {
      margin: 0.75rem 0;
    }
    .editor {
      display: grid;
      gap: 0.6rem;
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      padding: 0.75rem;
      margin-top: 0.75rem;
      background: var(--_subtle);
    }
    .grid {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr));
      gap: 0.6rem;
    }
    label.stack {
      display: grid;
      gap: 0.2rem;
      font-weight: 600;
    }
    label.check {
      display: flex;
      gap: 0.4rem;
      align-items: center;
    }
    fieldset {
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      padding: 0.5rem 0.75rem;
      margin: 0;
    }
    ol.options li,
    .option-head {
      display: grid;
      grid-template-columns: minmax(6rem, 1fr) minmax(8rem, 2fr) minmax(8rem, 2fr) 8rem;
      gap: 0.4rem;
      align-items: center;
      margin-bottom: 0.35rem;
    }
    .option-head {
      color: var(--_muted);
      font-size: 0.85em;
      margin-bottom: 0.2rem;
    }
    ol.options li.archived input {
      text-decoration: line-through;
      color: var(--_muted);
    }
    ol.options .row-actions {
      display: flex;
      gap: 0.25rem;
    }
    small {
      color: var(--_muted);
      font-weight: normal;
    }
    .buttons {
      display: flex;
      gap: 0.5rem;
    }
    .error {
      color: var(--_danger);
      white-space: pre-line;
    }
    .note {
      margin: 0;
      padding-left: 0.5rem;
      border-left: 3px solid var(--_warn);
    }
    .sr-only {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip: rect(0 0 0 0);
      white-space: nowrap;
    }
  `,
];
