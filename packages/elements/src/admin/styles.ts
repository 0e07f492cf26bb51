import { css } from 'lit';

/**
 * What the two admin elements (designer, field manager) style alike: tabs, stacked and check
 * labels, fieldsets, the screen-reader-only text. Before each element's own rules, which add
 * their differences (the designer's tabs wrap; the field manager's are padded and coloured).
 */
export const adminStyles = css`
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
  }
  [role='tab'][aria-selected='true'] {
    border-bottom-color: var(--_accent);
    font-weight: 600;
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
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
