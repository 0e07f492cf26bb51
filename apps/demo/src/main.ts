/**
 * A host application embedding the kit: it owns "login" (dev tokens here), and drops the
 * elements into its own pages. Plain DOM, no framework.
 */
import '@sales-process/elements';

interface User { id: string; name: string; roles: string[] }
interface ProcessSummary { id: string; name: string; status: string; version: number; stages: { presale: { id: string; name: string; winRate: number }[]; postsale: { id: string; name: string }[] }; openOpportunities: number }

const TENANT = 'demo';
const USERS: User[] = [
  { id: 'zhang', name: '张三（销售）', roles: ['sales'] },
  { id: 'sun', name: '孙七（销售）', roles: ['sales'] },
  { id: 'li', name: '李经理（主管）', roles: ['supervisor', 'sales', 'analyst'] },
  { id: 'chen', name: '陈工（售后）', roles: ['postsale'] },
  { id: 'admin', name: '王管理（管理员）', roles: ['admin', 'analyst'] },
];

const app = document.querySelector<HTMLElement>('#app')!;
const userSelect = document.querySelector<HTMLSelectElement>('#user')!;
const langSelect = document.querySelector<HTMLSelectElement>('#lang')!;
const params = new URLSearchParams(location.search);
let token = '';

for (const u of USERS) userSelect.add(new Option(u.name, u.id));
userSelect.value = params.get('user') ?? 'zhang';
langSelect.value = params.get('lang') ?? 'zh-CN';
document.documentElement.lang = langSelect.value;

async function login(userId: string): Promise<void> {
  const user = USERS.find((u) => u.id === userId)!;
  const res = await fetch('/api/v1/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: user.id, tenant: TENANT, roles: user.roles, name: user.name }) });
  token = ((await res.json()) as { token: string }).token;
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${res.status} ${path}`);
  return (await res.json()) as T;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const bellSlot = document.querySelector<HTMLElement>('#bell-slot')!;
document.querySelector('#clock')!.addEventListener('click', async () => {
  await fetch('/api/v1/dev/clock', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceDays: 7 }) });
  void render();
});

async function render(): Promise<void> {
  await login(userSelect.value);
  bellSlot.innerHTML = `<sales-notifications token="${esc(token)}"></sales-notifications>`;
  const { items: processes } = await api<{ items: ProcessSummary[] }>('/processes');
  const { items: opportunities } = await api<{ items: { id: string; name: string }[] }>('/opportunities?limit=50');
  const en = langSelect.value === 'en';
  app.innerHTML = `
    <section class="card" aria-labelledby="processes-title">
      <h2 id="processes-title">${en ? 'Sales processes' : '销售流程'}</h2>
      ${processes
        .map(
          (p) => `<div data-process="${esc(p.id)}">
            <strong>${esc(p.name)}</strong> <span class="muted">v${p.version} · ${p.status === 'enabled' ? (en ? 'enabled' : '启用中') : en ? 'disabled' : '已停用'} · ${p.openOpportunities} ${en ? 'open' : '个进行中商机'}</span>
            <ul class="stages" aria-label="${en ? 'Pre-sale stages' : '售前阶段'}">${p.stages.presale.map((s) => `<li>${esc(s.name)} ${s.winRate}%</li>`).join('')}</ul>
            <ul class="stages" aria-label="${en ? 'Post-sale stages' : '售后阶段'}">${p.stages.postsale.map((s) => `<li>${esc(s.name)}</li>`).join('')}</ul>
          </div>`,
        )
        .join('')}
    </section>
    <sales-process-provider token="${esc(token)}">
      <section class="card" aria-labelledby="opps-title">
        <h2 id="opps-title">${en ? 'My opportunities' : '我的商机'}</h2>
        ${opportunities.length ? opportunities.map((o) => `<div class="card" data-opportunity="${esc(o.id)}"><opportunity-stage-path opportunity-id="${esc(o.id)}"></opportunity-stage-path></div>`).join('') : `<p class="muted">${en ? 'No opportunities' : '暂无商机'}</p>`}
      </section>
    </sales-process-provider>`;
}

document.addEventListener('sp-notification-open', (e) => {
  document.querySelector(`[data-opportunity="${CSS.escape(e.detail.notification.opportunityId)}"]`)?.scrollIntoView({ behavior: 'smooth' });
});
userSelect.addEventListener('change', () => void render());
langSelect.addEventListener('change', () => {
  document.documentElement.lang = langSelect.value;
  void render();
});
void render();
