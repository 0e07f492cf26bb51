import type { ReactiveControllerHost } from 'lit';
import { LocalizeController, type Messages } from '../shared/i18n.js';

/**
 * The steps of a keyboard move, said in the host's live region. Not in shared/: that folder
 * goes into the chunk every page loads, and only the two admin elements reorder lists.
 */
const messages = {
  pickedUp: ['已拿起“{name}”，位置 {pos}/{total}', 'Picked up "{name}", position {pos} of {total}'],
  movedTo: ['“{name}”移到位置 {pos}/{total}', '"{name}" moved to position {pos} of {total}'],
  dropped: ['“{name}”放在位置 {pos}/{total}', '"{name}" dropped at position {pos} of {total}'],
  cancelled: ['已取消移动“{name}”', 'Move of "{name}" cancelled'],
} satisfies Messages;

/** What a reorderable list does for the controller. */
export interface ReorderList {
  /** The item `id` was dropped at `to` (it may be where it was). */
  drop(id: string, to: number): void;
  /** Focuses the item shown at `index` (after the host's next update). */
  focusAt(index: number): void;
  /** Says a step (in the host's `role="status"` region). */
  say(text: string): void;
}

/**
 * Keyboard reordering of a list, as the designer's stages and the field manager's fields
 * move: Enter or Space picks the focused item up, the arrow keys move it (with nothing picked
 * up, they move the focus), Enter or Space drops it, Escape cancels; each step is announced.
 * While an item is picked up, `arrange` shows the list with it where it would go.
 */
export class ReorderController {
  /** The item picked up, and where it would go. */
  picked: { id: string; index: number } | null = null;
  readonly #i18n: LocalizeController<typeof messages>;
  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #list: ReorderList;

  constructor(host: ReactiveControllerHost & HTMLElement, list: ReorderList) {
    this.#host = host;
    this.#list = list;
    this.#i18n = new LocalizeController(host, messages);
  }

  /** `items` with the picked one (if among them) where it would go. */
  arrange<T>(items: readonly T[], id: (item: T) => string): T[] {
    const out = [...items];
    const p = this.picked;
    const from = p ? out.findIndex((x) => id(x) === p.id) : -1;
    if (from >= 0) out.splice(p!.index, 0, out.splice(from, 1)[0]!);
    return out;
  }

  /** A key pressed on the item `id` (named `name`), shown at `index` of `total`. */
  onKey(e: KeyboardEvent, id: string, name: string, index: number, total: number): void {
    const p = this.picked;
    const say = (key: keyof typeof messages, pos = index) =>
      this.#list.say(this.#i18n.t(key, { name, pos: pos + 1, total }));
    if (e.key === 'Enter' || e.key === ' ') {
      this.picked = p ? null : { id, index };
      if (p) {
        say('dropped', p.index);
        this.#list.drop(p.id, p.index);
      } else say('pickedUp');
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const to = Math.max(0, Math.min(total - 1, (p?.index ?? index) + (e.key === 'ArrowDown' ? 1 : -1)));
      if (p) {
        this.picked = { id: p.id, index: to };
        say('movedTo', to);
      }
      this.#list.focusAt(to);
    } else if (e.key === 'Escape' && p) {
      this.picked = null;
      say('cancelled');
    } else return;
    e.preventDefault();
    this.#host.requestUpdate();
  }
}
