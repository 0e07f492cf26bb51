import { html, nothing } from 'lit';
import { Task } from '../shared/task.js';
import type { LocalizedText } from '@sales-process/core';
import type { ApiClientError } from '../client/api-client.js';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import { SpApprovalDecidedEvent } from '../shared/events.js';
import { LocalizeController, type Messages } from '../shared/i18n.js';
import { StreamController } from '../shared/stream-controller.js';
import styles from './stage-approval-inbox.styles.js';

export interface ApprovalView {
  id: string;
  opportunityId: string;
  opportunityName: string;
  stageId: string;
  stageName: string;
  action: 'complete' | 'win';
  requestedBy: string;
  requestedByName?: string;
  approverId: string;
  state: 'pending' | 'approved' | 'rejected' | 'cancelled';
  amount: number;
  values: {
    customer?: Record<string, unknown>;
    opportunity?: Record<string, unknown>;
    stage?: Record<string, unknown>;
  } | null;
  requestedAt: string;
  comment: string | null;
}

const messages = {
  title: ['待我确认', 'Waiting for my approval'],
  empty: ['没有待确认的阶段', 'Nothing waits for your approval'],
  requested: ['{who} 申请完成「{stage}」', '{who} asks to complete "{stage}"'],
  requestedWin: ['{who} 申请在「{stage}」赢单', '{who} asks to win from "{stage}"'],
  values: ['阶段填写内容', 'What was filled in'],
  comment: ['意见', 'Comment'],
  approve: ['同意', 'Approve'],
  reject: ['驳回', 'Reject'],
  refresh: ['刷新', 'Refresh'],
  decided: ['已处理', 'Done'],
} satisfies Messages;

/**
 * @summary The supervisor's side: stage completions waiting for approval, with what the
 * salesperson filled in (under the fields' labels, in the page's language); approve or
 * reject with a comment. Refreshes live when a new
 * request arrives (the notification stream, shared with `<sales-notifications>`).
 *
 * @event {SpApprovalDecidedEvent} sp-approval-decided - A request was approved or rejected; `detail: {approvalId, opportunityId, decision: 'approve' | 'reject'}`.
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
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
export class StageApprovalInbox extends ConnectedElement {
  static override styles = styles;

  static override properties = {
    items: { state: true },
    labels: { state: true },
    errors: { state: true },
    busy: { state: true },
    loaded: { state: true },
  };

  protected items: ApprovalView[] = [];
  /** The labels of the stage fields each request shows, by opportunity id and field key. */
  protected labels = new Map<string, Map<string, LocalizedText>>();
  protected errors = new Map<string, string>();
  protected busy = new Set<string>();
  protected loaded = false;
  readonly #i18n = new LocalizeController(this, messages);
  /** The notification stream, shared with <sales-notifications> on this connection: a new request reloads. */
  readonly #stream = new StreamController(this, () => [this.conn, '/notifications/stream'], {
    onEvent: (e) => {
      if (e.event === 'notification' && (JSON.parse(e.data) as { kind?: string }).kind === 'approval-requested')
        void this.refresh();
    },
  });
  /**
   * The pending requests, loaded once per connection (a new token needs no reload: the client
   * has it) and again when the element comes back to the page; a newer load aborts the one it supersedes.
   */
  readonly #loader = new Task(this, {
    args: () => [this.conn, this.#stream.attached] as const,
    task: async ([conn], { signal }) => {
      const all = (await conn.client.get<{ items: ApprovalView[] }>('/approvals?state=pending', signal)).items;
      const me = conn.client.subject;
      const items = all.filter((a) => !me || a.approverId === me);
      // What was filled in shows under its fields' labels: the opportunity's form (of the stage
      // that waits, its current one) names them. Without it, the keys.
      const ids = [
        ...new Set(items.filter((a) => Object.keys(a.values?.stage ?? {}).length).map((a) => a.opportunityId)),
      ];
      const forms = await Promise.all(
        ids.map((id) =>
          conn.client
            .get<{ form?: { source: string; key: string; label: LocalizedText }[] | null }>(
              `/opportunities/${encodeURIComponent(id)}`,
              signal,
            )
            .then(
              (view) => view.form ?? [],
              () => [],
            ),
        ),
      );
      const labels = new Map(
        ids.map((id, i) => [id, new Map(forms[i]!.filter((f) => f.source === 'stage').map((f) => [f.key, f.label]))]),
      );
      return { items, labels };
    },
    onComplete: ({ items, labels }) => {
      this.items = items;
      this.labels = labels;
      this.loaded = true;
      this.failure = null;
    },
    onError: (e) => this.loadFailed(e, this.loaded),
  });

  protected override reload() {
    return this.refresh();
  }

  /** Loads the pending requests again. */
  async refresh(): Promise<void> {
    await this.#loader.run();
  }

  async #decide(a: ApprovalView, decision: 'approve' | 'reject', comment: string) {
    const client = this.client;
    this.busy = new Set([...this.busy, a.id]);
    try {
      await client.post(`/approvals/${encodeURIComponent(a.id)}/${decision}`, { comment });
      this.items = this.items.filter((x) => x.id !== a.id);
      this.dispatchEvent(new SpApprovalDecidedEvent({ approvalId: a.id, opportunityId: a.opportunityId, decision }));
    } catch (e) {
      const err = e as ApiClientError;
      const lines = this.detailMessages(err).filter(Boolean);
      this.errors = new Map(this.errors).set(a.id, [this.errorMessage(err), ...lines].join('；'));
    } finally {
      const next = new Set(this.busy);
      next.delete(a.id);
      this.busy = next;
    }
  }

  protected override render() {
    const t = this.#i18n;
    return html`<section aria-labelledby="inbox-title">
      <h3 id="inbox-title">${t.t('title')} (${this.items.length})</h3>
      ${this.renderFailure()}
      ${this.loaded && !this.items.length ? html`<p class="muted">${t.t('empty')}</p>` : nothing}
      ${this.items.map((a) => {
        const values = { ...(a.values?.stage ?? {}) };
        return html`<article aria-label=${a.opportunityName}>
          <h4>${a.opportunityName}</h4>
          <p>${t.t(a.action === 'win' ? 'requestedWin' : 'requested', { who: a.requestedByName ?? a.requestedBy, stage: a.stageName })} · ${t.money(a.amount)}</p>
          ${
            Object.keys(values).length
              ? html`<details open><summary>${t.t('values')}</summary><dl>${Object.entries(values).map(([k, v]) => html`<dt>${t.pick(this.labels.get(a.opportunityId)?.get(k)) || k}</dt><dd>${typeof v === 'string' ? v : JSON.stringify(v)}</dd>`)}</dl></details>`
              : nothing
          }
          <form @submit=${(e: SubmitEvent) => {
            e.preventDefault();
            const decision = (e.submitter as HTMLButtonElement | null)?.value === 'reject' ? 'reject' : 'approve';
            void this.#decide(a, decision, String(new FormData(e.target as HTMLFormElement).get('comment') ?? ''));
          }}>
            <label>${t.t('comment')}<textarea name="comment" maxlength="2000"></textarea></label>
            <div class="buttons">
              <button class="approve" type="submit" value="approve" ?disabled=${this.busy.has(a.id)}>${t.t('approve')}</button>
              <button class="reject" type="submit" value="reject" ?disabled=${this.busy.has(a.id)}>${t.t('reject')}</button>
            </div>
          </form>
          ${this.errors.get(a.id) ? html`<p class="error" role="alert">${this.errors.get(a.id)}</p>` : nothing}
        </article>`;
      })}
    </section>`;
  }
}

export const define = (tag = 'stage-approval-inbox') => defineElement(tag, StageApprovalInbox);

declare global {
  interface HTMLElementTagNameMap {
    'stage-approval-inbox': StageApprovalInbox;
  }
}
