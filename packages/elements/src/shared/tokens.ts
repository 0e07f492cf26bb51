import { css } from 'lit';

/**
 * Design tokens as `--sp-*` custom properties with fallbacks, set on :host so the
 * elements look right with no global CSS, in light and dark.
 */
export const hostTokens = css`
  :host {
    --_fg: var(--sp-color-text, #1f2328);
    --_muted: var(--sp-color-muted, #59636e);
    --_bg: var(--sp-color-surface, #ffffff);
    --_subtle: var(--sp-color-subtle, #f4f6f8);
    --_border: var(--sp-color-border, #d1d9e0);
    --_accent: var(--sp-color-accent, #0b65c2);
    --_accent-fg: var(--sp-color-on-accent, #ffffff);
    --_done: var(--sp-color-success, #1a7f37);
    --_warn: var(--sp-color-warning, #9a6700);
    --_danger: var(--sp-color-danger, #cf222e);
    --_radius: var(--sp-radius, 6px);
    --_focus: var(--sp-focus-ring, 0 0 0 3px color-mix(in srgb, var(--_accent) 40%, transparent));
    font-family: var(--sp-font-family, system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif);
    font-size: var(--sp-font-size, 14px);
    line-height: var(--sp-line-height, 1.5);
    color: var(--_fg);
    color-scheme: light dark;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_fg: var(--sp-color-text, #e6edf3);
      --_muted: var(--sp-color-muted, #9198a1);
      --_bg: var(--sp-color-surface, #0d1117);
      --_subtle: var(--sp-color-subtle, #151b23);
      --_border: var(--sp-color-border, #3d444d);
      --_accent: var(--sp-color-accent, #4493f8);
      --_accent-fg: var(--sp-color-on-accent, #ffffff);
      --_done: var(--sp-color-success, #3fb950);
      --_warn: var(--sp-color-warning, #d29922);
      --_danger: var(--sp-color-danger, #f85149);
    }
  }
  :host([theme='dark']) {
    --_fg: var(--sp-color-text, #e6edf3);
    --_muted: var(--sp-color-muted, #9198a1);
    --_bg: var(--sp-color-surface, #0d1117);
    --_subtle: var(--sp-color-subtle, #151b23);
    --_border: var(--sp-color-border, #3d444d);
    --_accent: var(--sp-color-accent, #4493f8);
    --_done: var(--sp-color-success, #3fb950);
    --_warn: var(--sp-color-warning, #d29922);
    --_danger: var(--sp-color-danger, #f85149);
  }
  :host([hidden]) {
    display: none;
  }
  :focus-visible {
    outline: none;
    box-shadow: var(--_focus);
  }
  .sp-failure {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
    padding: 0.5rem 0.75rem;
    border: 1px solid var(--_danger);
    border-radius: var(--_radius);
    color: var(--_danger);
    background: color-mix(in srgb, var(--_danger) 6%, var(--_bg));
  }
  .sp-failure button {
    font: inherit;
    color: inherit;
    background: var(--_bg);
    border: 1px solid currentColor;
    border-radius: var(--_radius);
    padding: 0.15rem 0.6rem;
    cursor: pointer;
  }
`;

/** Form controls and buttons, the same in every element (elements add only their specifics). */
export const controlStyles = css`
  input:not([type='checkbox']):not([type='radio']):not([type='file']),
  textarea,
  select,
  button {
    font: inherit;
    font-weight: normal;
    color: inherit;
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: 0.3rem 0.6rem;
    box-sizing: border-box;
  }
  textarea {
    min-height: 4rem;
    resize: vertical;
  }
  button {
    cursor: pointer;
  }
  button.primary {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_accent-fg);
  }
  button.danger {
    color: var(--_danger);
  }
  button:disabled {
    opacity: 0.6;
    cursor: default;
  }
`;
