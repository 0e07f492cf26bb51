import { Task } from '../shared/task.js';
import { html, nothing } from 'lit';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import { LocalizeController, type Messages } from '../shared/i18n.js';
import { StreamController } from '../shared/stream-controller.js';
import styles from './sales-notifications.styles.js';

export interface NotificationView {
  id: string;
  kind: 'reminder' | 'overdue' | 'approval-requested' | 'approval-decided';
  opportunityId: string;
  stageId: string | null;
  payload: { opportunityName?: string; stageName?: string; days?: number; state?: string };
  createdAt: string;
  readAt: string | null;
}

/** Fired when the user opens a notification; the host navigates to the opportunity. */
export class SpNotificationOpenEvent extends Event {
  static readonly type = 'sp-notification-open';
  constructor(readonly detail: { notification: NotificationView }) {
    super(SpNotificationOpenEvent.type, { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'sp-notification-open': SpNotificationOpenEvent;
  }
  interface HTMLElementTagNameMap {
    'sales-notifications': SalesNotifications;
  }
}

const messages = {
  title: ['通知', 'Notifications'],
  bell: ['通知，{n} 条未读', 'Notifications, {n} unread'],
  empty: ['暂无通知', 'No notifications'],
  markAll: ['全部标为已读', 'Mark all read'],
  reminder: [
    '「{opp}」在「{stage}」已停留 {days} 天，请尽快推进',
    '"{opp}" has been in "{stage}" for {days} days: move it on',
  ],
  overdue: ['「{opp}」的「{stage}」已超时（{days} 天）', '"{opp}" is overdue in "{stage}" ({days} days)'],
  'approval-requested': ['「{opp}」请求您确认阶段完成', '"{opp}" asks for your approval of a stage'],
  approved: ['「{opp}」的阶段确认已通过', 'The stage of "{opp}" was approved'],
  rejected: ['「{opp}」的阶段确认被驳回', 'The stage of "{opp}" was rejected'],
  live: ['实时', 'Live'],
} satisfies Messages;

/**
 * @summary A bell with the signed-in user's notifications (reminders, overdue notices,
 * approvals), pushed live from the server over a server-sent event stream (shared with
 * `<stage-approval-inbox>` on the same connection).
 *
 * @event {SpNotificationOpenEvent} sp-notification-open - A notification was opened (the host navigates); `detail: {notification: NotificationView}`.
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
 * @csspart bell - The button with the unread count.
 * @csspart panel - The list of notifications.
 * @cssproperty --sp-color-text - Text colour (default #1f2328; dark #e6edf3).
 * @cssproperty --sp-color-muted - Secondary text (default #59636e).
 * @cssproperty --sp-color-surface - Background of controls and panels (default #ffffff).
 * @cssproperty --sp-color-subtle - Background of quiet areas (default #f4f6f8).
 * @cssproperty --sp-color-border - Borders (default #d1d9e0).
 * @cssproperty --sp-color-accent - Primary buttons, the current step, selection (default #0b65c2).
 * @cssproperty --sp-color-on-accent - Text on the accent colour (default #ffffff).
 * @cssproperty --sp-color-success - Done and won (default #1a7f37).
 * @cssproperty --sp-color-warning - Overdue, pending, offline (default #9a6700).
 * @cssproperty --sp-color-danger - Errors and destructive actions (default #cf222e).
 * @cssproperty --sp-radius - Corner radius (default 6px).
 * @cssproperty --sp-focus-ring - The focus ring's box-shadow.
 * @cssproperty --sp-font-family - Font family (default system-ui with PingFang SC / Microsoft YaHei).
 * @cssproperty --sp-font-size - Base font size (default 14px; host `rem` hacks do not leak in).
 * @cssproperty --sp-line-height - Line height (default 1.5).
 */
export class SalesNotifications extends ConnectedElement {
  static override styles = styles;

  static override properties = {
    items: { state: true },
    unread: { state: true },
    open: { state: true },
    live: { state: true },
  };

  protected items: NotificationView[] = [];
  protected unread = 0;
  protected open = false;
  protected live = false;
  readonly #i18n = new LocalizeController(this, messages);
  /** The live stream (shared with other elements of this connection): new notifications arrive on it. */
  readonly #stream = new StreamController(this, () => [this.conn, '/notifications/stream'], {
    onStatus: (status) => (this.live = status === 'open'),
    onEvent: (e) => {
      if (e.event !== 'notification') return;
      const n = JSON.parse(e.data) as NotificationView;
      if (this.items.some((x) => x.id === n.id)) return;
      this.items = [n, ...this.items];
      this.unread++;
    },
  });
  /**
   * The list, loaded once per connection (a new token needs no reload: the client has it) and
   * again when the element comes back to the page; a newer load aborts the one it supersedes.
   */
  readonly #loader = new Task(this, {
    args: () => [this.conn, this.#stream.attached] as const,
    task: ([conn], { signal }) =>
      conn.client.get<{ items: NotificationView[]; unread: number }>('/notifications?limit=30', signal),
    onComplete: (data) => {
      this.items = data.items;
      this.unread = data.unread;
      this.failure = null;
    },
    onError: (e) => this.showFailure(e),
  });

  protected override reload() {
    return this.connect();
  }

  /** Loads the list again (the live stream stays: it is shared with other elements of this connection). */
  async connect(): Promise<void> {
    await this.#loader.run();
  }

  #text(n: NotificationView): string {
    const vars = { opp: n.payload.opportunityName ?? '', stage: n.payload.stageName ?? '', days: n.payload.days ?? '' };
    if (n.kind === 'approval-decided')
      return this.#i18n.t(n.payload.state === 'approved' ? 'approved' : 'rejected', vars);
    return this.#i18n.t(n.kind, vars);
  }

  async #openItem(n: NotificationView) {
    if (!n.readAt) {
      n.readAt = new Date().toISOString();
      this.unread = Math.max(0, this.unread - 1);
      this.items = [...this.items];
      await this.client?.post(`/notifications/${n.id}/read`).catch(() => {});
    }
    this.dispatchEvent(new SpNotificationOpenEvent({ notification: n }));
  }

  async #markAll() {
    const unread = this.items.filter((n) => !n.readAt);
    for (const n of unread) n.readAt = new Date().toISOString();
    this.unread = 0;
    this.items = [...this.items];
    await Promise.all(unread.map((n) => this.client?.post(`/notifications/${n.id}/read`).catch(() => {})));
  }

  protected override render() {
    const t = this.#i18n;
    return html`
      <button class="bell" part="bell" aria-expanded=${this.open} aria-controls="panel" aria-label=${t.t('bell', { n: this.unread })} @click=${() => (this.open = !this.open)}>
        <svg aria-hidden="true" width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" class="icon">
          <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"></path><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"></path>
        </svg>
        ${this.unread ? html`<span class="badge" aria-hidden="true">${this.unread}</span>` : nothing}
      </button>
      ${this.failure ? html`<div class="failure">${this.renderFailure()}</div>` : nothing}
      ${
        this.open
          ? html`<section class="panel" id="panel" part="panel" aria-label=${t.t('title')} @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && ((this.open = false))}>
            <header>
              <strong>${t.t('title')}</strong>
              ${this.live ? html`<span class="muted">● ${t.t('live')}</span>` : nothing}
              ${this.unread ? html`<button class="link" @click=${this.#markAll}>${t.t('markAll')}</button>` : nothing}
            </header>
            ${
              this.items.length
                ? html`<ul>
                  ${this.items.map(
                    (n) => html`<li class=${n.readAt ? '' : 'unread'}>
                      <button @click=${() => this.#openItem(n)}>
                        ${this.#text(n)}
                        <time datetime=${n.createdAt}>${new Intl.DateTimeFormat(t.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(n.createdAt))}</time>
                      </button>
                    </li>`,
                  )}
                </ul>`
                : html`<p class="muted empty">${t.t('empty')}</p>`
            }
          </section>`
          : nothing
      }
    `;
  }
}

export const define = (tag = 'sales-notifications') => defineElement(tag, SalesNotifications);
