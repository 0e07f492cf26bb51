import { css } from 'lit';

/**
 * The record actions' styles, adopted into the stage path's shadow root when the menu's chunk
 * loads (they use the path's `--_*` tokens, so `--sp-*` theming applies).
 */
export default css`
  .more {
    position: relative;
    display: inline-block;
  }
  [role='menu'] {
    position: absolute;
    z-index: 10;
    top: calc(100% + 4px);
    left: 0;
    min-width: 10rem;
    display: flex;
    flex-direction: column;
    padding: 4px 0;
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    box-shadow: 0 4px 16px rgb(0 0 0 / 0.15);
  }
  [role='menuitem'] {
    border: 0;
    border-radius: 0;
    background: transparent;
    text-align: start;
    white-space: nowrap;
    padding: 0.4rem 0.9rem;
  }
  [role='menuitem']:hover,
  [role='menuitem']:focus {
    background: var(--_subtle);
  }
  dialog {
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_bg);
    color: var(--_fg);
    width: min(30rem, 92vw);
    padding: 1rem 1.25rem;
  }
  dialog::backdrop {
    background: rgb(0 0 0 / 0.3);
  }
  dialog h3 {
    margin: 0 0 0.75rem;
  }
  dialog form,
  dialog label {
    display: grid;
    gap: 0.6rem;
  }
  dialog label {
    gap: 0.2rem;
  }
  .hint {
    margin: 0;
    color: var(--_muted);
    font-size: 0.9em;
  }
  .alert {
    margin: 0;
    color: var(--_danger);
  }
  .gates {
    display: block;
    margin: 0;
    padding: 0;
    list-style: none;
  }
  /* Not the path's steps (its li are chevrons). */
  .gates li {
    min-width: 0;
    padding: 0;
    clip-path: none;
    border-radius: 0;
    background: none;
    color: var(--_danger);
  }
  .preview {
    display: grid;
    gap: 0.4rem;
  }
  .preview p {
    margin: 0;
  }
  .buttons {
    display: flex;
    justify-content: flex-end;
    gap: 0.5rem;
  }
`;
