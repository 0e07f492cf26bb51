import type {
  FunnelFigures,
  FunnelStageFigures,
  StaleDeal,
  StaleDeals,
  TargetPlan,
  WinLoss,
  WinLossFigures,
} from '@sales-process/core';
import { html, nothing, svg } from 'lit';
import { initialState, Task } from '../shared/task.js';
import type { ApiClientError } from '../client/api-client.js';
import { ConnectedElement } from '../shared/connected-element.js';
import { defineElement } from '../shared/define.js';
import { LocalizeController, type Messages } from '../shared/i18n.js';
import { StreamController } from '../shared/stream-controller.js';
import { type CsvCell, downloadCsv, toCsv } from './csv.js';
import styles from './sales-funnel-chart.styles.js';

// The figures are core's (a type-only import: nothing of core is bundled).
type StageFigures = FunnelStageFigures;
export type FunnelData = FunnelFigures & { process: { id: string; name: string; version: number } };
/** `GET /analytics/win-loss`. */
export type WinLossData = WinLoss;
/** `GET /analytics/stale-deals` (with the owners' names). */
export type StaleDealsData = StaleDeals & { deals: (StaleDeal & { ownerName?: string | null })[] };
/** `POST /analytics/target-plan`; older servers leave out the currency and the customers. */
type Plan = TargetPlan & { currency?: string };
/** A table column: its header, a cell as shown, and as exported to CSV (the shown value when left out; false: not exported). */
type Col<R> = readonly [head: string, show: (r: R) => unknown, csv?: ((r: R) => CsvCell) | false];
/** How many stale deals to list. */
const STALE_LIMIT = 20;

/** The largest target the server takes (core's targetPlanSchema). */
const MAX_TARGET = 1e13;
type TargetProblem = 'targetMissing' | 'targetNotNumber' | 'targetTooSmall' | 'targetTooLarge';

const messages = {
  loading: ['加载中…', 'Loading…'],
  byCount: ['按数量', 'By count'],
  byAmount: ['按金额', 'By amount'],
  measure: ['漏斗宽度', 'Funnel width'],
  summary: [
    '共 {total} 个商机，进行中金额 {open}，加权预测 {weighted}，整体赢率 {rate}',
    '{total} opportunities, open amount {open}, weighted forecast {weighted}, overall win rate {rate}',
  ],
  stage: ['阶段', 'Stage'],
  open: ['进行中', 'Open'],
  amount: ['金额', 'Amount'],
  weighted: ['加权金额', 'Weighted'],
  conversion: ['转化到下一阶段', 'Conversion to next'],
  medianDays: ['停留天数中位数', 'Median days'],
  avgDays: ['平均停留天数', 'Mean days'],
  winRate: ['赢率', 'Win rate'],
  forecast: ['销售预测（按预计成交月份）', 'Forecast by expected close month'],
  month: ['月份', 'Month'],
  noDate: ['未填日期', 'No date'],
  diagnosis: ['漏斗形状诊断', 'Funnel shape diagnosis'],
  thresholds: ['判断阈值', 'Thresholds'],
  table: ['表格视图', 'Table view'],
  terminal: [
    '终结态：赢单 {won} · 输单 {lost} · 无效 {invalid}',
    'Terminal: won {won} · lost {lost} · invalid {invalid}',
  ],
  plan: ['分解销售目标', 'Target planning'],
  target: ['目标金额', 'Target amount'],
  period: ['周期', 'Period'],
  month_p: ['按月', 'Monthly'],
  quarter_p: ['按季度', 'Quarterly'],
  compute: ['计算', 'Compute'],
  periodCol: ['目标周期', 'Target period'],
  deals: ['需赢单数', 'Deals needed'],
  opps: ['需商机数', 'Opportunities needed'],
  findIn: ['需在此期间挖掘', 'Find them in'],
  planFigures: [
    '依据：历史赢率 {rate}，平均赢单金额 {avg}，平均周期 {days} 天（提前 {lead} 期）',
    'From: win rate {rate}, average won amount {avg}, average cycle {days} days ({lead} periods ahead)',
  ],
  chart: ['销售漏斗图', 'Sales funnel chart'],
  details: [
    '{name}：进行中 {count} 个，金额 {amount}，加权 {weighted}，转化率 {conv}，停留中位数 {days} 天',
    '{name}: {count} open, amount {amount}, weighted {weighted}, conversion {conv}, median {days} days',
  ],
  none: ['—', '—'],
  inBase: ['金额单位：{base}', 'Amounts in {base}'],
  convertedNote: [
    '其他货币的金额已按记录的汇率换算为 {base}（{rates}）',
    'Amounts in other currencies were converted to {base} at the recorded rates ({rates})',
  ],
  unconvertedNote: [
    '{codes} 没有记录汇率，这些金额未计入（商机数已计入）',
    'No rate is recorded for {codes}: those amounts are left out (the opportunities are counted)',
  ],
  targetIn: ['目标金额（{base}）', 'Target amount ({base})'],
  targetMissing: ['请输入目标金额', 'Enter a target amount'],
  targetNotNumber: ['目标金额须为数字，例如 1000000', 'The target amount must be a number, such as 1000000'],
  targetTooSmall: ['目标金额须大于 0', 'The target amount must be more than 0'],
  targetTooLarge: ['目标金额不能超过 {max}', 'The target amount may not exceed {max}'],
  inCur: ['{name}（{base}）', '{name} ({base})'],
  csv: ['导出 CSV', 'Export CSV'],
  csvOf: ['导出 CSV：{name}', 'Export CSV: {name}'],
  deal: ['平均成交金额（可选）', 'Average deal amount (optional)'],
  customers: ['需挖掘客户数', 'New customers needed'],
  winLoss: ['输赢分析（按关闭时间）', 'Win/loss by close date'],
  noRows: ['暂无数据', 'Nothing yet'],
  won: ['赢单', 'Won'],
  lost: ['输单', 'Lost'],
  reasons: ['输单原因', 'Lost reasons'],
  lostAt: ['输单阶段', 'Lost at stage'],
  noReason: ['未填原因', 'No reason'],
  stale: ['停滞商机', 'Stale deals'],
  staleNote: [
    '超过阶段停留提醒天数的进行中商机：共 {total} 个，金额 {amount}',
    'Open opportunities past their stage’s reminder days: {total}, worth {amount}',
  ],
  shown: ['，显示最早的 {n} 个', '; the oldest {n} shown'],
  opportunity: ['商机', 'Opportunity'],
  owner: ['负责人', 'Owner'],
  days: ['停留天数', 'Days in stage'],
  overdue: ['超期天数', 'Days overdue'],
} satisfies Messages;

/**
 * @summary The sales funnel of a process: stage widths by count or amount, per-stage
 * figures on hover and focus, the forecast by month, the shape diagnosis with its
 * thresholds and the cohort it read, target planning (opportunities and new customers to
 * find), win/loss by period with lost reasons and stages, stale deals past their stage's
 * reminder days, and a table alternative; each table exports as CSV (with a byte-order mark,
 * so Excel opens Chinese correctly). Refreshes when opportunities move (pushed by the server
 * over a server-sent event stream). Amounts are in the tenant's base currency, and it says
 * when amounts in other currencies were converted.
 *
 * @event {SpErrorEvent} sp-error - Loading, saving or connecting failed. `detail: KitFailure` = `{code, status, message, details, messages?, source?}`; `code` is the server's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, …) or `NETWORK` (server down, origin refused, live connection failed) or `NO_TOKEN`; `status` is the HTTP status, 0 when no answer came.
 * @csspart error - The box shown instead of the content when it cannot be loaded (no token, refused token, server unreachable, 401/403, live connection failed).
 * @csspart error-message - The short localized sentence in the error box.
 * @csspart retry - The retry button in the error box (when trying again may help).
 * @csspart funnel - The SVG funnel.
 * @csspart table - The table alternative.
 * @csspart forecast - The forecast table.
 * @csspart plan - The target plan's table.
 * @csspart win-loss - The win/loss table.
 * @csspart stale - The stale-deals table.
 * @csspart csv - Each table's CSV export button.
 * @csspart currency - The note on the currency amounts are in (and the rates they were converted at).
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
export class SalesFunnelChart extends ConnectedElement {
  static override styles = styles;

  static override properties = {
    processId: { attribute: 'process-id' },
    measure: { reflect: true },
    winLossPeriod: { attribute: 'win-loss-period' },
    data: { attribute: false },
    winLoss: { attribute: false },
    stale: { attribute: false },
    active: { state: true },
    plan: { state: true },
    planError: { state: true },
    targetError: { state: true },
  };

  /** The process whose funnel to show; loaded from the server (and kept live) when set. */
  processId = '';
  /** Funnel width by `count` (open opportunities) or `amount`. */
  measure: 'count' | 'amount' = 'count';
  /** Win/loss rows per `month` or `quarter` closed in. */
  winLossPeriod: 'month' | 'quarter' = 'month';
  /** Figures to show (loaded from the server when a process id and token are given). */
  data: FunnelData | null = null;
  /** Win/loss to show (loaded with the figures; left out when the server has none). */
  winLoss: WinLossData | null = null;
  /** Stale deals to show (loaded with the figures; left out when the server has none). */
  stale: StaleDealsData | null = null;

  protected active: string | null = null;
  protected plan: Plan | null = null;
  protected planError: string | null = null;
  /** What the target field's check found (null: nothing), said in the page's language when shown. */
  protected targetError: TargetProblem | null = null;
  readonly #i18n = new LocalizeController(this, messages);
  /** The process's changes, pushed by the server: the figures are loaded again. */
  readonly #stream = new StreamController(
    this,
    () => [this.processId && this.conn, `/analytics/stream?processId=${encodeURIComponent(this.processId)}`],
    { onEvent: (e) => e.event === 'changed' && void this.refresh() },
  );
  /**
   * The figures, loaded once per process and connection (a new token needs no reload: the
   * client has it), and again when the element comes back to the page or the win/loss period
   * changes; a newer load aborts the one it supersedes.
   */
  readonly #loader = new Task(this, {
    args: () => [this.processId && this.conn, this.processId, this.#stream.attached, this.winLossPeriod] as const,
    task: ([conn, processId, , period], { signal }) => {
      if (!conn) return initialState;
      const q = `processId=${encodeURIComponent(processId)}`;
      // Win/loss and stale deals beside the figures: a server without them (or a refusal) shows neither.
      const extra = <T>(path: string) => conn.client.get<T>(path, signal).catch(() => null);
      return Promise.all([
        conn.client.get<FunnelData>(`/analytics/funnel?${q}`, signal),
        extra<WinLossData>(`/analytics/win-loss?${q}&period=${period}`),
        extra<StaleDealsData>(`/analytics/stale-deals?${q}&limit=${STALE_LIMIT}`),
      ]);
    },
    onComplete: ([data, winLoss, stale]) => {
      this.data = data;
      this.winLoss = winLoss;
      this.stale = stale;
      this.failure = null;
    },
    onError: (e) => this.loadFailed(e, this.data),
  });

  protected override reload() {
    return this.refresh();
  }

  /** Loads the figures again. */
  async refresh(): Promise<void> {
    if (this.processId) await this.#loader.run();
  }

  /**
   * The target field's own check, in the page's language: the browser's messages (and its
   * step rule, which refused the default 1,000,000 against min 1 and step 1,000) would speak
   * the browser's. The message is the field's custom validity and shows under it.
   */
  #checkTarget(input: HTMLInputElement): boolean {
    const value = input.valueAsNumber;
    const problem: TargetProblem | null = input.validity.badInput
      ? 'targetNotNumber'
      : input.value.trim() === ''
        ? 'targetMissing'
        : !Number.isFinite(value)
          ? 'targetNotNumber'
          : value <= 0
            ? 'targetTooSmall'
            : value > MAX_TARGET
              ? 'targetTooLarge'
              : null;
    this.targetError = problem;
    input.setCustomValidity(problem ? this.#targetMessage(problem) : '');
    return !problem;
  }

  #targetMessage(problem: TargetProblem): string {
    return this.#i18n.t(problem, { max: this.#i18n.number(MAX_TARGET) });
  }

  async #computePlan(e: SubmitEvent) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const target = form.elements.namedItem('target') as HTMLInputElement;
    if (!this.#checkTarget(target)) {
      target.focus();
      return;
    }
    const data = new FormData(form);
    const deal = (form.elements.namedItem('deal') as HTMLInputElement).valueAsNumber;
    const client = this.client;
    try {
      const { data: plan } = await client.post<Plan>('/analytics/target-plan', {
        processId: this.processId,
        target: target.valueAsNumber,
        period: String(data.get('period')),
        ...(deal > 0 ? { averageDealAmount: deal } : {}),
      });
      this.plan = plan;
      this.planError = null;
    } catch (err) {
      const error = err as ApiClientError;
      this.plan = null;
      this.planError = [this.errorMessage(error), ...this.detailMessages(error)].filter(Boolean).join('：');
    }
  }

  #value(s: StageFigures): number {
    return this.measure === 'amount' ? s.openAmount : s.open;
  }

  /** The currency the figures are in: the tenant's base (CNY from servers that did not say). */
  get #base(): string {
    return this.data?.currency ?? 'CNY';
  }

  #money(amount: number): string {
    return this.#i18n.money(amount, this.#base);
  }

  /** Which currency amounts are in; when others were converted, at which rates; which could not be. */
  #renderCurrency(d: FunnelData) {
    const t = this.#i18n;
    const base = this.#base;
    const rate = new Intl.NumberFormat(t.locale, { maximumSignificantDigits: 6 });
    const rates = Object.entries(d.rates ?? {})
      .map(([code, r]) => `1 ${code} = ${rate.format(r)} ${base}`)
      .join(t.locale === 'en' ? '; ' : '；');
    return html`<p part="currency" class="muted currency">
      ${t.t('inBase', { base })}${d.converted ? html`${t.locale === 'en' ? '. ' : '。'}${t.t('convertedNote', { base, rates })}` : nothing}
      ${d.unconverted?.length ? html`<br /><span class="warn">${t.t('unconvertedNote', { codes: d.unconverted.join(t.locale === 'en' ? ', ' : '、') })}</span>` : nothing}
    </p>`;
  }

  #describe(s: StageFigures): string {
    const t = this.#i18n;
    return t.t('details', {
      name: s.name,
      count: t.number(s.open),
      amount: this.#money(s.openAmount),
      weighted: this.#money(s.weightedAmount),
      conv: s.conversionToNext === null ? t.t('none') : t.percent(s.conversionToNext * 100),
      days: s.medianDays ?? t.t('none'),
    });
  }

  /**
   * The funnel: each stage a trapezoid stretched to the chart's width (a nested SVG with no
   * aspect ratio) under a label in real pixels, so labels keep their size at any width (in a
   * 600-unit viewBox they shrank to ~9 px on a 390 px phone).
   */
  #renderFunnel(d: FunnelData) {
    const W = 600;
    const H = 52;
    const max = Math.max(1, ...d.stages.map((s) => this.#value(s)));
    // A floor wide enough for the label of an empty stage on a narrow screen.
    const width = (s: StageFigures | undefined) => (s ? 270 + (this.#value(s) / max) * (W - 270) : 240);
    return html`<svg part="funnel" width="100%" height=${d.stages.length * H} role="group" aria-label=${this.#i18n.t('chart')}>
      ${d.stages.map((s, i) => {
        const top = width(s);
        const bottom = Math.min(top, width(d.stages[i + 1]) * 0.98 || top * 0.8);
        const points = `${(W - top) / 2},2 ${(W + top) / 2},2 ${(W + bottom) / 2},${H - 2} ${(W - bottom) / 2},${H - 2}`;
        const label = `${s.name} · ${this.measure === 'amount' ? this.#money(s.openAmount) : this.#i18n.number(s.open)}`;
        return svg`<g class="seg ${this.active === s.stageId ? 'active' : ''}" tabindex="0" role="button" data-stage=${s.stageId} aria-label="${label} — ${this.#describe(s)}"
            @mouseenter=${() => (this.active = s.stageId)} @focus=${() => (this.active = s.stageId)}>
          <svg y=${i * H} width="100%" height=${H} viewBox="0 0 ${W} ${H}" preserveAspectRatio="none"><polygon points=${points}></polygon></svg>
          <text x="50%" y=${i * H + H / 2 + 5} text-anchor="middle">${label}</text>
        </g>`;
      })}
    </svg>`;
  }

  /** "name (CNY)": a money column's header. */
  #inBase(key: 'amount' | 'weighted' | 'won' | 'lost' | 'target'): string {
    return this.#i18n.t('inCur', { name: this.#i18n.t(key), base: this.#base });
  }

  /**
   * A table with its CSV export button: the same columns, the cells as numbers where the
   * table shows formatted amounts, rates and dates.
   */
  #table<R>(
    file: string,
    title: string,
    cols: readonly Col<R>[],
    rows: readonly R[],
    part?: string,
    caption?: unknown,
  ) {
    const t = this.#i18n;
    const out = cols.filter((c) => c[2] !== false);
    const csv = () =>
      downloadCsv(
        `${this.data?.process.name ?? 'funnel'}-${file}.csv`,
        toCsv([out.map((c) => c[0]), ...rows.map((r) => out.map((c) => ((c[2] || c[1]) as (r: R) => CsvCell)(r)))]),
      );
    return html`<div class="tbl">
      <button type="button" part="csv" class="csv" aria-label=${t.t('csvOf', { name: title })} @click=${csv}>${t.t('csv')}</button>
      <table part=${part ?? nothing}>
        ${caption ? html`<caption class="muted">${caption}</caption>` : nothing}
        <thead><tr>${cols.map((c) => html`<th scope="col">${c[0]}</th>`)}</tr></thead>
        <tbody>${rows.length ? rows.map((r) => html`<tr>${cols.map((c, i) => (i ? html`<td>${c[1](r)}</td>` : html`<th scope="row">${c[1](r)}</th>`))}</tr>`) : html`<tr><td colspan=${cols.length} class="muted">${t.t('noRows')}</td></tr>`}</tbody>
      </table>
    </div>`;
  }

  #percent(rate: number | null): string {
    return rate === null ? this.#i18n.t('none') : this.#i18n.percent(rate * 100);
  }

  /** Win/loss per period: won and lost, the win rate, lost reasons and stages, most first. */
  #renderWinLoss(w: WinLossData) {
    const t = this.#i18n;
    const list = (xs: { count: number }[], name: (x: never) => string) =>
      xs.map((x) => `${name(x as never)} ${x.count}`).join(t.locale === 'en' ? ', ' : '、');
    const reasons = (r: WinLossFigures) =>
      list(r.lostByReason, (x: WinLossFigures['lostByReason'][number]) =>
        x.reason === null ? t.t('noReason') : t.pick(x.label) || x.reason,
      );
    const stages = (r: WinLossFigures) =>
      list(r.lostByStage, (x: WinLossFigures['lostByStage'][number]) => x.name ?? x.stageId ?? t.t('none'));
    type Row = WinLossData['periods'][number];
    return html`<h4>${t.t('winLoss')}</h4>
      <label>${t.t('period')} <select @change=${(e: Event) => (this.winLossPeriod = (e.target as HTMLSelectElement).value as 'month')}>
        <option value="month" ?selected=${this.winLossPeriod === 'month'}>${t.t('month_p')}</option><option value="quarter" ?selected=${this.winLossPeriod === 'quarter'}>${t.t('quarter_p')}</option>
      </select></label>
      ${this.#table<Row>(
        'win-loss',
        t.t('winLoss'),
        [
          [t.t('period'), (r) => r.period],
          [t.t('won'), (r) => r.won.count],
          [this.#inBase('won'), (r) => this.#money(r.won.amount), (r) => r.won.amount],
          [t.t('lost'), (r) => r.lost.count],
          [this.#inBase('lost'), (r) => this.#money(r.lost.amount), (r) => r.lost.amount],
          [t.t('winRate'), (r) => this.#percent(r.winRate), (r) => r.winRate],
          [t.t('reasons'), reasons],
          [t.t('lostAt'), stages],
        ],
        w.periods,
        'win-loss',
      )}`;
  }

  /** Stale deals, the oldest first, with the count and amount of all of them. */
  #renderStale(st: StaleDealsData) {
    const t = this.#i18n;
    type Row = StaleDealsData['deals'][number];
    const note =
      t.t('staleNote', { total: t.number(st.total), amount: this.#money(st.amount) }) +
      (st.total > st.deals.length ? t.t('shown', { n: st.deals.length }) : '');
    return html`<h4>${t.t('stale')}</h4>
      ${this.#table<Row>(
        'stale-deals',
        t.t('stale'),
        [
          [t.t('opportunity'), (r) => r.name],
          [t.t('owner'), (r) => r.ownerName ?? r.ownerId],
          [t.t('stage'), (r) => r.stageName ?? r.stageId],
          [t.t('days'), (r) => r.daysInStage],
          [t.t('overdue'), (r) => r.daysOverdue],
          [this.#inBase('amount'), (r) => this.#money(r.amount), (r) => r.amount],
        ],
        st.deals,
        'stale',
        note,
      )}`;
  }

  #renderPlan(plan: Plan) {
    const t = this.#i18n;
    const base = plan.currency ?? this.#base;
    const f = plan.figures;
    type Row = Plan['periods'][number];
    return html`<p class="muted">${plan.note ? t.pick(plan.note) : t.t('planFigures', { rate: t.percent(f.winRate * 100), avg: t.money(f.avgWonAmount, base), days: f.avgCycleDays, lead: f.leadPeriods })}</p>
      ${this.#table<Row>(
        'target-plan',
        t.t('plan'),
        [
          [t.t('periodCol'), (p) => p.period],
          [t.t('inCur', { name: t.t('target'), base }), (p) => t.money(p.target, base), (p) => p.target],
          [t.t('deals'), (p) => p.dealsNeeded],
          [t.t('opps'), (p) => p.opportunitiesNeeded],
          [t.t('customers'), (p) => p.customersNeeded ?? t.t('none')],
          [t.t('findIn'), (p) => p.findIn],
        ],
        plan.periods,
        'plan',
      )}`;
  }

  protected override render() {
    const t = this.#i18n;
    const d = this.data;
    if (!d) {
      const loading = () => html`<p aria-busy="true">${t.t('loading')}</p>`;
      return this.#loader.render({
        initial: loading,
        pending: loading,
        error: () => (this.failure ? this.renderFailure() : loading()),
      });
    }
    const active = d.stages.find((s) => s.stageId === this.active);
    const maxForecast = Math.max(1, ...d.forecast.map((f) => f.weighted));
    type Forecast = FunnelData['forecast'][number];
    return html`
      <div class="top">
        <div>
          <p>${t.t('summary', { total: t.number(d.total), open: this.#money(d.openAmount), weighted: this.#money(d.weightedAmount), rate: this.#percent(d.overallWinRate) })}</p>
          ${this.#renderCurrency(d)}
        </div>
        <div class="toggle" role="group" aria-label=${t.t('measure')}>
          <button aria-pressed=${this.measure === 'count'} @click=${() => (this.measure = 'count')}>${t.t('byCount')}</button><button aria-pressed=${this.measure === 'amount'} @click=${() => (this.measure = 'amount')}>${t.t('byAmount')}</button>
        </div>
      </div>
      <div class="grid">
        <div>
          ${this.#renderFunnel(d)}
          <div class="details" role="status" aria-live="polite">${active ? this.#describe(active) : nothing}</div>
          <p class="muted">${t.t('terminal', { won: d.terminal.won.count, lost: d.terminal.lost.count, invalid: d.terminal.invalid.count })}</p>
        </div>
        <div>
          <h4>${t.t('diagnosis')}</h4>
          ${d.diagnosis.findings.map((f) => html`<p class="diag ${f.code}">${t.pick(f.message)}</p>`)}
          ${d.diagnosis.cohort ? html`<p class="muted">${t.pick(d.diagnosis.cohort.message)}</p>` : nothing}
          <details><summary>${t.t('thresholds')}</summary><ul>${Object.entries(d.diagnosis.thresholds).map(([k, v]) => html`<li>${k}: ${v}</li>`)}</ul></details>
          <h4>${t.t('forecast')}</h4>
          ${this.#table<Forecast>(
            'forecast',
            t.t('forecast'),
            [
              [t.t('month'), (f) => (f.month === 'none' ? t.t('noDate') : f.month)],
              [t.t('open'), (f) => f.count],
              [this.#inBase('weighted'), (f) => this.#money(f.weighted), (f) => f.weighted],
              ['%', (f) => html`<div class="bar" .style=${`width:${(f.weighted / maxForecast) * 100}%`}></div>`, false],
            ],
            d.forecast,
            'forecast',
          )}
        </div>
      </div>
      <details>
        <summary>${t.t('table')}</summary>
        ${this.#table<StageFigures>(
          'stages',
          t.t('table'),
          [
            [t.t('stage'), (s) => s.name],
            [t.t('winRate'), (s) => t.percent(s.winRate), (s) => s.winRate / 100],
            [t.t('open'), (s) => s.open],
            [this.#inBase('amount'), (s) => this.#money(s.openAmount), (s) => s.openAmount],
            [this.#inBase('weighted'), (s) => this.#money(s.weightedAmount), (s) => s.weightedAmount],
            [t.t('conversion'), (s) => this.#percent(s.conversionToNext), (s) => s.conversionToNext],
            [t.t('avgDays'), (s) => s.avgDays ?? t.t('none'), (s) => s.avgDays],
            [t.t('medianDays'), (s) => s.medianDays ?? t.t('none'), (s) => s.medianDays],
          ],
          d.stages,
          'table',
          `${d.process.name} v${d.process.version}`,
        )}
      </details>
      ${this.winLoss ? this.#renderWinLoss(this.winLoss) : nothing}
      ${this.stale ? this.#renderStale(this.stale) : nothing}
      <h4>${t.t('plan')}</h4>
      <form novalidate @submit=${this.#computePlan}>
        <label>${t.t('targetIn', { base: this.#base })} <input name="target" type="number" inputmode="decimal" step="any" required value="1000000"
          aria-invalid=${this.targetError ? 'true' : 'false'} aria-describedby="target-error"
          @input=${(e: Event) => this.targetError !== null && this.#checkTarget(e.target as HTMLInputElement)} /></label>
        <label>${t.t('period')} <select name="period"><option value="month">${t.t('month_p')}</option><option value="quarter">${t.t('quarter_p')}</option></select></label>
        <label>${t.t('deal')} <input name="deal" type="number" inputmode="decimal" step="any" min="0" /></label>
        <button type="submit">${t.t('compute')}</button>
      </form>
      <p id="target-error" class="error" role="alert">${this.targetError ? this.#targetMessage(this.targetError) : nothing}</p>
      ${this.planError ? html`<p class="error" role="alert">${this.planError}</p>` : nothing}
      ${this.plan ? this.#renderPlan(this.plan) : nothing}
    `;
  }
}

export const define = (tag = 'sales-funnel-chart') => defineElement(tag, SalesFunnelChart);

declare global {
  interface HTMLElementTagNameMap {
    'sales-funnel-chart': SalesFunnelChart;
  }
}
