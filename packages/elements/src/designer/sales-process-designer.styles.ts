import { css } from 'lit';
import { controlStyles, hostTokens } from '../shared/tokens.js';

/** The styles of `<sales-process-designer>`: the shared tokens and controls, then its own. */
export default [
  hostTokens,
  controlStyles,
  css`
    :host {
      display: block;
    }
    .toolbar {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem 1rem;
      align-items: end;
      margin-bottom: 0.75rem;
    }
    .toolbar .name {
      flex: 1 1 16rem;
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
    input:not([type='checkbox']):not([type='radio']),
    textarea,
    select {
      width: 100%;
    }
    button.icon {
      padding: 0.1rem 0.45rem;
    }
    .badge {
      border-radius: 999px;
      padding: 0.05rem 0.55rem;
      font-size: 0.85em;
      background: var(--_subtle);
    }
    .badge.enabled {
      color: var(--_done);
    }
    .badge.disabled {
      color: var(--_muted);
    }
    [role='tablist'] {
      display: flex;
      flex-wrap: wrap;
      gap: 0.25rem;
      border-bottom: 1px solid var(--_border);
      margin-bottom: 0.75rem;
    }
    [role='tab'] {
      border: 0;
      border-bottom: 2px solid transparent;
      border-radius: 0;
      background: none;
    }
    [role='tab'][aria-selected='true'] {
      border-bottom-color: var(--_accent);
      font-weight: 600;
    }
    .columns {
      display: grid;
      grid-template-columns: minmax(13rem, 1fr) 2fr;
      gap: 1rem;
      align-items: start;
    }
    @media (max-width: 720px) {
      .columns {
        grid-template-columns: 1fr;
      }
    }
    ol.stages {
      list-style: none;
      margin: 0 0 0.5rem;
      padding: 0;
    }
    ol.stages li {
      display: flex;
      justify-content: space-between;
      gap: 0.5rem;
      align-items: center;
      padding: 0.45rem 0.6rem;
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      margin-bottom: 0.3rem;
      cursor: pointer;
      background: var(--_bg);
    }
    ol.stages li[aria-selected='true'] {
      border-color: var(--_accent);
      background: color-mix(in srgb, var(--_accent) 8%, var(--_bg));
    }
    ol.stages li.picked {
      outline: 2px dashed var(--_accent);
    }
    ol.stages li.problem {
      border-left: 3px solid var(--_danger);
    }
    .who {
      display: inline-flex;
      gap: 0.2rem;
    }
    .dot {
      width: 0.7rem;
      height: 0.7rem;
      border-radius: 50%;
      display: inline-block;
    }
    .muted {
      color: var(--_muted);
      font-size: 0.9em;
    }
    .editor {
      display: grid;
      gap: 0.75rem;
    }
    .row {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr));
      gap: 0.75rem;
    }
    .err {
      color: var(--_danger);
      font-size: 0.85em;
      font-weight: normal;
    }
    .warn {
      color: var(--_warn);
      font-size: 0.85em;
      font-weight: normal;
    }
    table.fields {
      width: 100%;
      border-collapse: collapse;
    }
    table.fields td,
    table.fields th {
      border-bottom: 1px solid var(--_border);
      padding: 0.3rem;
      text-align: left;
    }
    fieldset {
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      padding: 0.5rem 0.75rem;
    }
    .summary {
      margin: 0 0 0.75rem;
      padding: 0.5rem 0.75rem;
      border-radius: var(--_radius);
      background: var(--_subtle);
    }
    .summary.bad {
      border-left: 3px solid var(--_danger);
    }
    .summary ul {
      margin: 0.25rem 0 0;
      padding-left: 1.2rem;
    }
    .summary button {
      border: 0;
      background: none;
      padding: 0;
      color: var(--_accent);
      text-decoration: underline;
    }
    .alert {
      color: var(--_danger);
    }
    ul.chips,
    ul.conditions {
      list-style: none;
      margin: 0 0 0.5rem;
      padding: 0;
      display: flex;
      flex-wrap: wrap;
      gap: 0.3rem;
    }
    ul.chips li:not(.muted) {
      border: 1px solid var(--_border);
      border-radius: 999px;
      padding: 0 0.15rem 0 0.6rem;
      background: var(--_subtle);
    }
    ul.conditions {
      display: grid;
    }
    form.add {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem;
      align-items: end;
    }
    form.add > label {
      flex: 1 1 12rem;
    }
    ul.tree {
      list-style: none;
      padding-left: 1.2rem;
      margin: 0;
    }
    dialog {
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      background: var(--_bg);
      color: var(--_fg);
      max-width: min(36rem, 95vw);
      width: 100%;
    }
    dialog::backdrop {
      background: rgb(0 0 0 / 0.3);
    }
    .sr-only {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip: rect(0 0 0 0);
      white-space: nowrap;
    }
    ol.history {
      list-style: none;
      margin: 0 0 0.75rem;
      padding: 0;
    }
    ol.history > li {
      padding: 0.5rem 0;
      border-bottom: 1px solid var(--_border);
    }
    ol.history ul {
      margin: 0.25rem 0 0;
      padding-left: 1.2rem;
    }
    .buttons {
      display: flex;
      gap: 0.5rem;
      justify-content: flex-end;
      margin-top: 0.75rem;
    }
  `,
];
