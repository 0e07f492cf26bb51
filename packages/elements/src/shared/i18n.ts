import type { ReactiveController, ReactiveControllerHost } from 'lit';

export type Locale = 'zh-CN' | 'en';
export type Messages = Record<string, string>;

/**
 * A small typed translation registry: each element declares its strings for both
 * locales; the locale comes from the element's `lang`, then the nearest `lang`
 * ancestor, then `<html lang>`.
 */
export class LocalizeController<M extends Messages> implements ReactiveController {
  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #messages: Record<Locale, M>;
  constructor(host: ReactiveControllerHost & HTMLElement, messages: Record<Locale, M>) {
    this.#host = host;
    this.#messages = messages;
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

  t<K extends keyof M>(key: K, vars: Record<string, string | number> = {}): string {
    const template = this.#messages[this.locale][key] ?? this.#messages['zh-CN'][key] ?? String(key);
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
