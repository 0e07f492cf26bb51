import { KIT_VERSION } from '../version.js';

/** The kit's version (package.json's, through src/version.ts), compared when a tag is registered twice. */
export { KIT_VERSION };
const VERSION_KEY = Symbol.for('sales-process/version');

/**
 * Registers a custom element without ever throwing on a duplicate: a same-version
 * registration is skipped, a different version warns. Hosts can register the class
 * under their own tag instead.
 */
export function defineElement(tag: string, ctor: CustomElementConstructor): void {
  const existing = customElements.get(tag) as (CustomElementConstructor & { [VERSION_KEY]?: string }) | undefined;
  if (existing) {
    if (existing !== ctor && existing[VERSION_KEY] !== KIT_VERSION)
      console.warn(
        `[sales-process] <${tag}> is already defined by version ${existing[VERSION_KEY] ?? 'unknown'}; keeping it (this is ${KIT_VERSION}).`,
      );
    return;
  }
  (ctor as { [VERSION_KEY]?: string })[VERSION_KEY] = KIT_VERSION;
  customElements.define(tag, ctor);
}
