import type { ReactiveController, ReactiveControllerHost } from 'lit';

export type Locale = 'zh-CN' | 'en';
/** An element's words: each key's text in zh-CN and in en, side by side. */
export type Messages = Record<string, readonly [zh: string, en: string]>;
/** Words in the older shape, one object per locale (still taken, turned into `Messages`). */
export type LocaleMessages = Record<Locale, Record<string, string>>;
type Key<M> = M extends LocaleMessages ? keyof M['zh-CN'] : keyof M;

/**
 * A small typed translation registry: each element declares its strings for both
 * locales; the locale comes from the element's `lang`, then the nearest `lang`
 * ancestor, then `<html lang>`.
 */
export class LocalizeController<M extends Messages | LocaleMessages> implements ReactiveController {
  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #messages: Messages;
  constructor(host: ReactiveControllerHost & HTMLElement, messages: M) {
    this.#host = host;
    const m = messages as LocaleMessages;
    this.#messages =
      'zh-CN' in m
        ? Object.fromEntries(Object.keys({ ...m.en, ...m['zh-CN'] }).map((k) => [k, [m['zh-CN'][k]!, m.en[k]!]]))
        : (messages as Messages);
    host.addController(this);
  }

  #observer?: MutationObserver;

  hostConnected(): void {
    // Re-render when <html lang> changes.
    this.#observer = new MutationObserver(() => this.#host.requestUpdate());
    this.#observer.observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  }

  hostDisconnected(): void {
    this.#observer?.disconnect();
  }

  get locale(): Locale {
    const lang = this.#host.closest('[lang]')?.getAttribute('lang') || document.documentElement.lang || 'zh-CN';
    return lang.toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
  }

  /** The `zh`/`en` half of a localized text. */
  pick(text: { zh: string; en: string } | null | undefined): string {
    if (!text) return '';
    return this.locale === 'en' ? text.en || text.zh : text.zh || text.en;
  }

  t(key: Key<M>, vars: Record<string, string | number> = {}): string {
    const m = this.#messages[key as string];
    const template = m?.[this.locale === 'en' ? 1 : 0] ?? m?.[0] ?? String(key);
    return String(template).replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));
  }

  money(amount: number, currency = 'CNY'): string {
    return new Intl.NumberFormat(this.locale, { style: 'currency', currency, maximumFractionDigits: 0 }).format(amount);
  }

  percent(rate: number): string {
    return new Intl.NumberFormat(this.locale, { style: 'percent', maximumFractionDigits: 0 }).format(rate / 100);
  }

  number(n: number): string {
    return new Intl.NumberFormat(this.locale).format(n);
  }
}
