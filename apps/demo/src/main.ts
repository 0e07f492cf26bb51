/**
 * A host application embedding the kit: it owns "login" (dev tokens here) and drops the
 * elements into its own pages. Plain DOM, no framework: the elements need none.
 */
import '@sales-process/elements';

interface User {
  id: string;
  name: string;
  roles: string[];
}
interface ProcessSummary {
  id: string;
  name: string;
  status: string;
  version: number;
  stages: { presale: { id: string; name: string; winRate: number }[]; postsale: { id: string; name: string }[] };
  openOpportunities: number;
}
interface OpportunityItem {
  id: string;
  name: string;
  stageName: string | null;
  status: string;
  phase: string;
  amount: number;
  customerName: string | null;
}

const TENANT = 'demo';
const USERS: User[] = [
  { id: 'zhang', name: '张三（销售）', roles: ['sales'] },
  { id: 'zhao', name: '赵六（销售）', roles: ['sales'] },
  { id: 'sun', name: '孙七（销售）', roles: ['sales'] },
  { id: 'li', name: '李经理（主管）', roles: ['supervisor', 'sales', 'analyst'] },
  { id: 'chen', name: '陈工（售后）', roles: ['postsale'] },
  { id: 'admin', name: '王管理（管理员）', roles: ['admin', 'analyst'] },
  { id: 'zhou', name: '周分析（分析）', roles: ['analyst'] },
];

const app = document.querySelector<HTMLElement>('#app')!;
const userSelect = document.querySelector<HTMLSelectElement>('#user')!;
const langSelect = document.querySelector<HTMLSelectElement>('#lang')!;
const bellSlot = document.querySelector<HTMLElement>('#bell-slot')!;
const params = new URLSearchParams(location.search);
let token = '';
let selected = params.get('opportunity');

for (const u of USERS) userSelect.add(new Option(u.name, u.id));
userSelect.value = params.get('user') ?? 'zhang';
langSelect.value = params.get('lang') ?? 'zh-CN';
document.documentElement.lang = langSelect.value;
const en = () => langSelect.value === 'en';
const me = () => USERS.find((u) => u.id === userSelect.value)!;

async function login(): Promise<void> {
  const user = me();
  const res = await fetch('/api/v1/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: user.id, tenant: TENANT, roles: user.roles, name: user.name.replace(/（.*）/, '') }),
  });
  token = ((await res.json()) as { token: string }).token;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status}`);
  return body as T;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const money = (n: number) =>
  new Intl.NumberFormat(langSelect.value, { style: 'currency', currency: 'CNY', maximumFractionDigits: 0 }).format(n);

function processesCard(processes: ProcessSummary[]): string {
  return `<section class="card" aria-labelledby="processes-title">
    <h2 id="processes-title">${en() ? 'Sales processes' : '销售流程'}</h2>
    ${processes
      .map(
        (p) => `<div data-process="${esc(p.id)}">
          <strong>${esc(p.name)}</strong> <span class="muted">v${p.version} · ${p.status === 'enabled' ? (en() ? 'enabled' : '启用中') : en() ? 'disabled' : '已停用'} · ${p.openOpportunities} ${en() ? 'open' : '个进行中商机'}</span>
          <ul class="stages" aria-label="${en() ? 'Pre-sale stages' : '售前阶段'}">${p.stages.presale.map((s) => `<li>${esc(s.name)} ${s.winRate}%</li>`).join('')}</ul>
          <ul class="stages" aria-label="${en() ? 'Post-sale stages' : '售后阶段'}">${p.stages.postsale.map((s) => `<li>${esc(s.name)}</li>`).join('')}</ul>
        </div>`,
      )
      .join('')}
  </section>`;
}

async function newOpportunityForm(): Promise<string> {
  const [{ items: customers }, { items: usable }] = await Promise.all([
    api<{ items: { id: string; name: string }[] }>('/customers'),
    api<{ items: ProcessSummary[] }>(`/processes?usableBy=${me().id}`),
  ]);
  if (!usable.length)
    return `<p class="muted">${en() ? 'No sales process applies to your department.' : '没有适用于您所在部门的销售流程。'}</p>`;
  return `<details class="card"><summary>${en() ? 'New opportunity' : '新建商机'}</summary>
    <form id="new-opp" class="grid">
      <label>${en() ? 'Name' : '商机名称'} <input name="name" required maxlength="200" /></label>
      <label>${en() ? 'Customer' : '客户'} <select name="customerId" required>${customers.map((c) => `<option value="${esc(c.id)}">${esc(c.name)}</option>`).join('')}</select></label>
      <label>${en() ? 'Amount' : '金额'} <input name="amount" type="number" min="0" step="1000" required value="100000" /></label>
      <label>${en() ? 'Expected close' : '预计成交日期'} <input name="expectedCloseDate" type="date" /></label>
      <label>${en() ? 'Process' : '销售流程'} <select name="processId">${usable.map((p) => `<option value="${esc(p.id)}">${esc(p.name)}</option>`).join('')}</select></label>
      <output id="new-opp-hint" class="muted"></output>
      <button type="submit">${en() ? 'Create' : '创建'}</button>
      <output id="new-opp-error" class="error"></output>
    </form>
  </details>`;
}

let view = params.get('view') === 'board' ? 'board' : 'list';

/** The list or the board (看板) of the salesperson's and supervisor's side. */
function viewTabs(): string {
  const tab = (v: string, zh: string, enName: string) =>
    `<button type="button" class="opp ${view === v ? 'current' : ''}" data-view="${v}" aria-pressed="${view === v}">${en() ? enName : zh}</button>`;
  return `<div class="tabs" role="group" aria-label="${en() ? 'View' : '视图'}">${tab('list', '列表', 'List')}${tab('board', '看板', 'Board')}</div>`;
}

/** The pipeline board of one enabled process (the first, or ?board=<id>). */
function boardView(processes: ProcessSummary[]): string {
  const enabled = processes.filter((p) => p.status === 'enabled');
  const chosen = enabled.find((p) => p.id === params.get('board')) ?? enabled[0];
  if (!chosen) return `<p class="muted">${en() ? 'No enabled process.' : '没有启用的销售流程。'}</p>`;
  const options = enabled
    .map((p) => `<option value="${esc(p.id)}" ${p.id === chosen.id ? 'selected' : ''}>${esc(p.name)}</option>`)
    .join('');
  return `<section class="card" aria-labelledby="board-title">
    <h2 id="board-title">${en() ? 'Pipeline board' : '商机看板'}</h2>
    <label>${en() ? 'Process' : '销售流程'} <select id="board-process">${options}</select></label>
    <opportunity-board process-id="${esc(chosen.id)}"></opportunity-board>
  </section>`;
}

async function salesView(processes: ProcessSummary[]): Promise<string> {
  if (view === 'board') return viewTabs() + boardView(processes);
  const { items } = await api<{ items: OpportunityItem[] }>('/opportunities?limit=100');
  if (!selected || !items.some((o) => o.id === selected))
    selected = items.find((o) => o.status === 'open' || o.phase === 'postsale')?.id ?? items[0]?.id ?? null;
  const list = items
    .map(
      (
        o,
      ) => `<li><button class="opp ${o.id === selected ? 'current' : ''}" data-select="${esc(o.id)}" aria-current="${o.id === selected}">
        <strong>${esc(o.name)}</strong><span class="muted">${esc(o.customerName ?? '')} · ${money(o.amount)} · ${esc(o.stageName ?? o.status)}</span></button></li>`,
    )
    .join('');
  return `${viewTabs()}${me().roles.includes('sales') ? await newOpportunityForm() : ''}
    <div class="split">
      <nav class="card list" aria-label="${en() ? 'Opportunities' : '商机列表'}"><h2>${en() ? 'Opportunities' : '商机'}</h2><ul>${list || `<li class="muted">${en() ? 'None' : '暂无商机'}</li>`}</ul></nav>
      <section class="card detail" aria-label="${en() ? 'Opportunity' : '商机详情'}">
        ${
          selected
            ? `<opportunity-stage-path opportunity-id="${esc(selected)}"></opportunity-stage-path>
             <hr />
             <stage-feedback-form opportunity-id="${esc(selected)}" user-name="${esc(me().name.replace(/（.*）/, ''))}"></stage-feedback-form>`
            : ''
        }
      </section>
    </div>`;
}

let editing: string | null = params.get('process');
let reactHost = params.get('react') === '1';

async function adminView(): Promise<string> {
  const all = (await api<{ items: ProcessSummary[] }>('/processes')).items;
  if (editing && !all.some((p) => p.id === editing)) editing = null;
  const rows = all
    .map(
      (p) =>
        `<li><button class="opp ${p.id === editing ? 'current' : ''}" data-edit="${esc(p.id)}"><strong>${esc(p.name)}</strong><span class="muted">v${p.version} · ${p.status === 'enabled' ? (en() ? 'enabled' : '启用中') : en() ? 'disabled' : '已停用'}</span></button></li>`,
    )
    .join('');
  return `<div class="split">
    <nav class="card list" aria-label="${en() ? 'Sales processes' : '销售流程'}">
      <h2>${en() ? 'Sales processes' : '销售流程'}</h2>
      <ul>${rows}</ul>
      <form id="new-process" class="stack-form">
        <label>${en() ? 'New process' : '新建销售流程'} <input name="name" required maxlength="80" placeholder="${en() ? 'Name' : '名称'}" /></label>
        <button type="submit">${en() ? 'Create' : '创建'}</button>
      </form>
      <label class="check"><input type="checkbox" id="react-toggle" ${reactHost ? 'checked' : ''}/> ${en() ? 'Embed in a React host' : '在 React 宿主中嵌入'}</label>
    </nav>
    <section class="card detail" aria-label="${en() ? 'Designer' : '流程设计'}">
      ${editing ? (reactHost ? '<div id="react-root"></div>' : `<sales-process-designer process-id="${esc(editing)}" user-name="${esc(me().name.replace(/（.*）/, ''))}"></sales-process-designer>`) : `<p class="muted">${en() ? 'Choose a process to edit' : '选择一个销售流程进行编辑'}</p>`}
    </section>
  </div>
  <section class="card" aria-label="${en() ? 'Field management' : '字段管理'}"><sales-field-manager></sales-field-manager></section>`;
}

async function render(): Promise<void> {
  await login();
  bellSlot.innerHTML = `<sales-notifications token="${esc(token)}"></sales-notifications>`;
  const { items: processes } = await api<{ items: ProcessSummary[] }>('/processes');
  const roles = me().roles;
  let body = '';
  if (roles.includes('admin')) body += await adminView();
  if (roles.includes('supervisor'))
    body += `<section class="card"><stage-approval-inbox></stage-approval-inbox></section>`;
  if (roles.some((r) => r === 'sales' || r === 'postsale' || r === 'supervisor')) body += await salesView(processes);
  if (roles.includes('analyst')) {
    const chosen = params.get('funnel') ?? processes.find((p) => p.status === 'enabled')?.id ?? processes[0]?.id;
    if (chosen)
      body += `<section class="card" aria-labelledby="funnel-title"><h2 id="funnel-title">${en() ? 'Sales funnel' : '销售漏斗'} · ${esc(processes.find((p) => p.id === chosen)?.name ?? '')}</h2><sales-funnel-chart process-id="${esc(chosen)}"></sales-funnel-chart></section>`;
  }
  if (!roles.includes('admin')) body += processesCard(processes);
  app.innerHTML = `<sales-process-provider token="${esc(token)}">${body}</sales-process-provider>`;
  if (editing && reactHost) {
    const { mountReactDesigner } = await import('./react-host.js');
    mountReactDesigner(document.querySelector('#react-root')!, {
      token,
      processId: editing,
      userName: me().name.replace(/（.*）/, ''),
    });
  }
  document.querySelector<HTMLSelectElement>('#board-process')?.addEventListener('change', (e) => {
    params.set('board', (e.target as HTMLSelectElement).value);
    void render();
  });
  document.querySelector('#react-toggle')?.addEventListener('change', (e) => {
    reactHost = (e.target as HTMLInputElement).checked;
    void render();
  });
  document.querySelector<HTMLFormElement>('#new-process')?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = String(new FormData(e.target as HTMLFormElement).get('name') ?? '');
    const created = await api<{ id: string }>('/processes', {
      method: 'POST',
      body: JSON.stringify({ name, departments: [], asDraft: true }),
    });
    editing = created.id;
    void render();
  });
  const newOpp = document.querySelector<HTMLFormElement>('#new-opp');
  if (newOpp) {
    newOpp.customerId.addEventListener('change', () => void suggestProcess(newOpp));
    void suggestProcess(newOpp);
  }
  document.querySelector<HTMLFormElement>('#new-opp')?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target as HTMLFormElement)) as Record<string, string>;
    try {
      const created = await api<{ id: string }>('/opportunities', {
        method: 'POST',
        body: JSON.stringify({
          ...data,
          amount: Number(data.amount),
          expectedCloseDate: data.expectedCloseDate || null,
        }),
      });
      selected = created.id;
      void render();
    } catch (err) {
      document.querySelector('#new-opp-error')!.textContent = (err as Error).message;
    }
  });
}

/**
 * The processes the user may use, judged on the chosen customer (a process may require, say,
 * 客户类型 = 大客户): those that do not apply are disabled, the one that does is chosen.
 */
async function suggestProcess(form: HTMLFormElement): Promise<void> {
  const customerId = (form.elements.namedItem('customerId') as HTMLSelectElement).value;
  if (!customerId) return;
  const { items, suggestedId } = await api<{
    items: { id: string; name: string; applies?: boolean }[];
    suggestedId: string | null;
  }>(`/processes?usableBy=${encodeURIComponent(me().id)}&customerId=${encodeURIComponent(customerId)}`);
  const select = form.elements.namedItem('processId') as HTMLSelectElement;
  for (const option of select.options) {
    const item = items.find((p) => p.id === option.value);
    option.disabled = item?.applies === false;
    option.textContent = `${item?.name ?? option.textContent}${item?.applies === false ? (en() ? ' (does not apply)' : '（不适用）') : ''}`;
  }
  if (suggestedId) select.value = suggestedId;
  form.querySelector('#new-opp-hint')!.textContent = suggestedId
    ? en()
      ? `Suggested for this customer: ${items.find((p) => p.id === suggestedId)?.name}`
      : `适用于该客户的销售流程：${items.find((p) => p.id === suggestedId)?.name}`
    : '';
}

app.addEventListener('click', (e) => {
  const tab = (e.target as HTMLElement).closest<HTMLElement>('[data-view]');
  if (tab) {
    view = tab.dataset.view!;
    void render();
    return;
  }
  const edit = (e.target as HTMLElement).closest<HTMLElement>('[data-edit]');
  if (edit) {
    editing = edit.dataset.edit!;
    void render();
    return;
  }
  const button = (e.target as HTMLElement).closest<HTMLElement>('[data-select]');
  if (!button) return;
  selected = button.dataset.select!;
  void render();
});
// Moves change the list (stage names): refresh it, keep the detail.
document.addEventListener('sp-publish', () => setTimeout(() => void refreshProcessList(), 50));
async function refreshProcessList() {
  // Keep the designer (and its live connection); refresh only the list.
  const nav = document.querySelector('nav.list ul');
  if (!nav) return;
  const all = (await api<{ items: ProcessSummary[] }>('/processes')).items;
  nav.innerHTML = all
    .map(
      (p) =>
        `<li><button class="opp ${p.id === editing ? 'current' : ''}" data-edit="${esc(p.id)}"><strong>${esc(p.name)}</strong><span class="muted">v${p.version} · ${p.status === 'enabled' ? (en() ? 'enabled' : '启用中') : en() ? 'disabled' : '已停用'}</span></button></li>`,
    )
    .join('');
}
// Edits and reassignments change the list too (name, amount, owner); a process change is also a stage change.
// The board moves its own cards (and hears others' moves): it is not rebuilt for them.
for (const type of ['sp-stage-changed', 'sp-approval-decided', 'sp-opportunity-edited', 'sp-opportunity-reassigned'])
  document.addEventListener(type, (e) => {
    if ((e.target as Element).localName !== 'opportunity-board') setTimeout(() => void render(), 50);
  });
// A card opened on the board: its path and form in the list view.
document.addEventListener('sp-opportunity-open', (e) => {
  selected = e.detail.opportunityId;
  view = 'list';
  void render();
});
document.addEventListener('sp-notification-open', (e) => {
  selected = e.detail.notification.opportunityId;
  void render();
});
document.querySelector('#clock')!.addEventListener('click', async () => {
  await fetch('/api/v1/dev/clock', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advanceDays: 7 }),
  });
  void render();
});
userSelect.addEventListener('change', () => {
  selected = null;
  void render();
});
langSelect.addEventListener('change', () => {
  document.documentElement.lang = langSelect.value;
  void render();
});
void render();
