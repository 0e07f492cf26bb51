/**
 * The tab a key press on a tab list leads to (ArrowRight/ArrowLeft wrap around, Home, End),
 * as both admin elements' tabs move; null for any other key. Takes the key (no scrolling).
 */
export function tabAfterKey<T>(e: KeyboardEvent, tabs: readonly T[], current: T): T | null {
  const n = tabs.length;
  const i = tabs.indexOf(current);
  const k = e.key;
  const to =
    k === 'ArrowRight'
      ? (i + 1) % n
      : k === 'ArrowLeft'
        ? (i + n - 1) % n
        : k === 'Home'
          ? 0
          : k === 'End'
            ? n - 1
            : -1;
  if (to < 0) return null;
  e.preventDefault();
  return tabs[to]!;
}
