/**
 * The one-script embed: `<script type="module" src="https://kit-server/kit/sales-process-kit.js">`.
 *
 * A small loader (as Shoelace's autoloader): it watches the document, and the shadow roots of
 * kit elements once they render, for the kit's tags and imports each element's chunk the first
 * time its tag appears. Chunk URLs are relative to this module's own URL, so the kit works
 * when loaded from another origin. It imports nothing else, so it stays a few hundred bytes.
 */
import { KIT_ELEMENTS, PROVIDER_TAG } from './elements.js';

const SELECTOR = Object.keys(KIT_ELEMENTS).join(',');
const loading = new Map<string, Promise<void>>();
const watched = new WeakSet<Element>();

/** Imports and registers one kit element under its default tag (once). */
export function loadElement(tag: string): Promise<void> {
  let done = loading.get(tag);
  if (done) return done;
  const importer = KIT_ELEMENTS[tag];
  if (!importer) return Promise.reject(new Error(`[sales-process] unknown tag <${tag}>`));
  // Elements register after the provider (when it is loading), so that they find their connection on upgrade.
  const provider = tag === PROVIDER_TAG ? undefined : loading.get(PROVIDER_TAG);
  done = Promise.all([importer(), provider])
    .then(([mod]) => mod.define(tag))
    .catch((error: unknown) => {
      loading.delete(tag);
      console.error(`[sales-process] could not load <${tag}>`, error);
    });
  loading.set(tag, done);
  return done;
}

/** Loads the kit elements in `root` (and inside it) and watches their shadow roots. */
export function discover(root: Element | ShadowRoot | Document): void {
  const found: Element[] = [];
  if (root instanceof Element && root.localName in KIT_ELEMENTS) found.push(root);
  found.push(...root.querySelectorAll(SELECTOR));
  if (!found.length) return;
  const tags = new Set(found.map((el) => el.localName));
  if (tags.has(PROVIDER_TAG)) void loadElement(PROVIDER_TAG);
  for (const tag of tags) if (!customElements.get(tag)) void loadElement(tag);
  for (const el of found) watchShadow(el);
}

const observer = new MutationObserver((records) => {
  for (const record of records) for (const node of record.addedNodes) if (node instanceof Element) discover(node);
});

/** Once a kit element has rendered, its shadow root is watched like the document. */
function watchShadow(el: Element): void {
  if (watched.has(el)) return;
  watched.add(el);
  void customElements
    .whenDefined(el.localName)
    .then(() => (el as Element & { updateComplete?: Promise<unknown> }).updateComplete)
    .then(() => {
      const shadow = el.shadowRoot;
      if (!shadow) return;
      observer.observe(shadow, { childList: true, subtree: true });
      discover(shadow);
    });
}

interface ContextRequest extends Event {
  context: unknown;
  contextTarget?: Element;
  callback: (...args: never[]) => void;
  subscribe?: boolean;
}

/**
 * The context protocol's "root" (what `ContextRoot` of @lit/context does, without importing
 * it): a subscribing request nobody answered is kept, and replayed when a provider of that
 * context appears, so kit elements that upgrade before their provider still get its connection.
 */
function contextRoot(root: Element): void {
  const pending = new Map<unknown, { target: WeakRef<Element>; callback: WeakRef<ContextRequest['callback']> }[]>();
  root.addEventListener('context-request', (e) => {
    const event = e as ContextRequest;
    if (event.subscribe !== true) return;
    const target = event.contextTarget ?? (event.composedPath()[0] as Element);
    const list = pending.get(event.context) ?? [];
    if (list.some((p) => p.target.deref() === target && p.callback.deref() === event.callback)) return;
    list.push({ target: new WeakRef(target), callback: new WeakRef(event.callback) });
    pending.set(event.context, list);
  });
  root.addEventListener('context-provider', (e) => {
    const context = (e as Event & { context: unknown }).context;
    const list = pending.get(context);
    if (!list) return;
    pending.delete(context);
    for (const p of list) {
      const target = p.target.deref();
      const callback = p.callback.deref();
      if (!target || !callback) continue;
      const request = Object.assign(new Event('context-request', { bubbles: true, composed: true }), {
        context,
        contextTarget: target,
        callback,
        subscribe: true,
      });
      target.dispatchEvent(request);
    }
  });
}

contextRoot(document.documentElement);
observer.observe(document.documentElement, { childList: true, subtree: true });
discover(document);
