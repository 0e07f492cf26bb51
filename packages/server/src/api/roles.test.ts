import { processDefinitionSchema } from '@sales-process/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

/**
 * Least privilege (SPEC §1 and §9): every endpoint of the OpenAPI document (and the few
 * routes outside it) × every role, each cell's expected allow or deny. Allowed means the
 * request got past the access rules (any answer but 401/403: a rule may still refuse it
 * with 4xx); denied means 403. A route missing from the matrix fails the test.
 */
const ROLES = ['admin', 'sales', 'supervisor', 'postsale', 'analyst', 'none'] as const;
type Role = (typeof ROLES)[number];
const ALL = ROLES;
const SELLERS: Role[] = ['admin', 'sales', 'supervisor'];
const READERS: Role[] = ['admin', 'sales', 'supervisor', 'postsale', 'analyst'];
const FUNNEL: Role[] = ['admin', 'supervisor', 'analyst'];
/** Issue 21's figures: the funnel's readers, and a salesperson for their own. */
const OWN_FIGURES: Role[] = ['admin', 'sales', 'supervisor', 'analyst'];
const ADMIN: Role[] = ['admin'];

/** A process whose first stage holds a file and needs the supervisor's approval. */
const definition = processDefinitionSchema.parse({
  presale: [
    {
      id: 'a',
      name: 'A',
      winRate: 10,
      requiresApproval: true,
      fields: [{ source: 'stage', key: 'doc', type: 'file', required: false, label: { zh: '附件', en: 'File' } }],
    },
    { id: 'b', name: 'B', winRate: 50 },
  ],
});

interface Fixture {
  processId: string;
  customerId: string;
  contactId: string;
  opportunityId: string;
  fileId: string;
  approvalId: string;
  draft: unknown;
  link: string;
}

interface Cell {
  /** The request, given fresh records (writes) or shared ones (reads). */
  request(f: Fixture): { path: string; body?: unknown; raw?: { body: Uint8Array; type: string } };
  allowed: readonly Role[];
  /** Needs no records of its own (reads, and writes that touch nothing shared). */
  shared?: boolean;
  stream?: boolean;
  /** Fresh records with a pending approval (the rest need none: cheaper). */
  approval?: boolean;
}

const n = () => Math.random().toString(36).slice(2, 8);

const MATRIX: Record<string, Cell> = {
  'POST /directory/sync': {
    request: () => ({ path: '/directory/sync', body: { departments: [], users: [] } }),
    allowed: ADMIN,
    shared: true,
  },
  'GET /directory': { request: () => ({ path: '/directory' }), allowed: ALL, shared: true },
  'GET /me': { request: () => ({ path: '/me' }), allowed: ALL, shared: true },
  'GET /fields/{object}': { request: () => ({ path: '/fields/customer' }), allowed: ALL, shared: true },
  'POST /fields/{object}': {
    request: () => ({ path: '/fields/customer', body: { key: `k${n()}`, label: { zh: 'x', en: 'x' }, type: 'text' } }),
    allowed: ADMIN,
    shared: true,
  },
  'PATCH /fields/{object}/{key}': {
    request: () => ({ path: '/fields/customer/industry', body: { required: false } }),
    allowed: ADMIN,
    shared: true,
  },
  // A field nobody has: the admin's answer is 404, past the access rules.
  'DELETE /fields/{object}/{key}': {
    request: () => ({ path: `/fields/customer/k${n()}` }),
    allowed: ADMIN,
    shared: true,
  },
  'PUT /fields/{object}/order': {
    request: () => ({ path: '/fields/customer/order', body: { keys: ['industry'] } }),
    allowed: ADMIN,
    shared: true,
  },
  'GET /fields/stream': { request: () => ({ path: '/fields/stream' }), allowed: ALL, shared: true, stream: true },
  'GET /settings': { request: () => ({ path: '/settings' }), allowed: ALL, shared: true },
  'PUT /settings': {
    request: () => ({ path: '/settings', body: { deleteRequiresStatus: 'enabled' } }),
    allowed: ADMIN,
    shared: true,
  },
  // The rates the funnel converts at: its readers see them, admins set them.
  'GET /currency-rates': { request: () => ({ path: '/currency-rates' }), allowed: FUNNEL, shared: true },
  'PUT /currency-rates': {
    request: () => ({ path: '/currency-rates', body: { rates: [{ currency: 'USD', rate: 7.1 }] } }),
    allowed: ADMIN,
    shared: true,
  },
  'GET /customers': { request: () => ({ path: '/customers' }), allowed: ALL, shared: true },
  'POST /customers': {
    request: () => ({ path: '/customers', body: { name: `C ${n()}`, fields: {} } }),
    allowed: SELLERS,
    shared: true,
  },
  'GET /customers/{id}': { request: (f) => ({ path: `/customers/${f.customerId}` }), allowed: ALL, shared: true },
  // The customer is the admin's; the salesperson owns an opportunity on it, the supervisor supervises them.
  'PATCH /customers/{id}': {
    request: (f) => ({ path: `/customers/${f.customerId}`, body: { name: `C ${n()}` } }),
    allowed: SELLERS,
  },
  // The customer is the admin's; the salesperson owns an opportunity on it, the supervisor supervises them.
  'POST /customers/{id}/contacts': {
    request: (f) => ({ path: `/customers/${f.customerId}/contacts`, body: { name: 'K' } }),
    allowed: SELLERS,
  },
  'PATCH /customers/{id}/contacts/{cid}': {
    request: (f) => ({ path: `/customers/${f.customerId}/contacts/${f.contactId}`, body: { roles: ['direct'] } }),
    allowed: SELLERS,
  },
  'DELETE /customers/{id}/contacts/{cid}': {
    request: (f) => ({ path: `/customers/${f.customerId}/contacts/${f.contactId}` }),
    allowed: SELLERS,
  },
  'GET /processes': { request: () => ({ path: '/processes' }), allowed: ALL, shared: true },
  'POST /processes': {
    request: () => ({ path: '/processes', body: { name: `P ${n()}`, departments: [] } }),
    allowed: ADMIN,
    shared: true,
  },
  'GET /processes/{id}': { request: (f) => ({ path: `/processes/${f.processId}` }), allowed: ALL, shared: true },
  'DELETE /processes/{id}': { request: (f) => ({ path: `/processes/${f.processId}` }), allowed: ADMIN },
  'GET /processes/{id}/draft': {
    request: (f) => ({ path: `/processes/${f.processId}/draft` }),
    allowed: ADMIN,
    shared: true,
  },
  'PUT /processes/{id}/draft': {
    request: (f) => ({ path: `/processes/${f.processId}/draft`, body: f.draft }),
    allowed: ADMIN,
  },
  'POST /processes/{id}/publish/preview': {
    request: (f) => ({ path: `/processes/${f.processId}/publish/preview`, body: { mode: 'update-existing' } }),
    allowed: ADMIN,
    shared: true,
  },
  'POST /processes/{id}/publish': {
    request: (f) => ({ path: `/processes/${f.processId}/publish`, body: { mode: 'update-existing' } }),
    allowed: ADMIN,
  },
  'POST /processes/{id}/enable': { request: (f) => ({ path: `/processes/${f.processId}/enable` }), allowed: ADMIN },
  'POST /processes/{id}/disable': { request: (f) => ({ path: `/processes/${f.processId}/disable` }), allowed: ADMIN },
  'POST /opportunities': {
    request: (f) => ({
      path: '/opportunities',
      body: { name: `O ${n()}`, customerId: f.customerId, amount: 1, processId: f.processId },
    }),
    allowed: SELLERS,
    shared: true,
  },
  'GET /opportunities': { request: () => ({ path: '/opportunities' }), allowed: ALL, shared: true },
  // Every change the caller may read: anyone may listen (what they hear is filtered by access).
  'GET /opportunities/stream': {
    request: (f) => ({ path: `/opportunities/stream?processId=${f.processId}` }),
    allowed: ALL,
    shared: true,
    stream: true,
  },
  // Answered per item: whoever may not act on an opportunity gets its item refused
  // FORBIDDEN (as the single command's 403), the batch itself is anyone's.
  'POST /opportunities/commands': {
    request: (f) => ({
      path: '/opportunities/commands',
      body: { commands: [{ opportunityId: f.opportunityId, type: 'completeStage' }] },
    }),
    allowed: ALL,
  },
  'GET /opportunities/{id}': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}` }),
    allowed: READERS,
    shared: true,
  },
  'PATCH /opportunities/{id}': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}`, body: { name: `O ${n()}` } }),
    allowed: SELLERS,
  },
  // Admins and the owner's direct supervisor; not the owner.
  'POST /opportunities/reassign': {
    request: (f) => ({
      path: '/opportunities/reassign',
      body: { opportunityIds: [f.opportunityId], toOwnerId: 'u-admin' },
    }),
    allowed: ['admin', 'supervisor'],
  },
  // Open, so a rule refuses it (422) for whoever may act on it.
  'POST /opportunities/{id}/reopen': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/reopen`, body: { stageId: 'a' } }),
    allowed: SELLERS,
    shared: true,
  },
  'PUT /opportunities/{id}/stage-form': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/stage-form`, body: { values: {} } }),
    allowed: SELLERS,
  },
  'POST /opportunities/{id}/complete-stage': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/complete-stage`, body: {} }),
    allowed: SELLERS,
  },
  'POST /opportunities/{id}/move-back': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/move-back`, body: { stageId: 'a' } }),
    allowed: SELLERS,
  },
  'POST /opportunities/{id}/win': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/win`, body: {} }),
    allowed: SELLERS,
  },
  'POST /opportunities/{id}/lose': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/lose`, body: {} }),
    allowed: SELLERS,
  },
  'POST /opportunities/{id}/invalidate': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/invalidate`, body: {} }),
    allowed: SELLERS,
  },
  // The same process: a rule refuses it (422) for whoever may act on it, as the POST would.
  'GET /opportunities/{id}/change-process': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/change-process?processId=${f.processId}` }),
    allowed: SELLERS,
    shared: true,
  },
  'POST /opportunities/{id}/change-process': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/change-process`, body: { processId: f.processId } }),
    allowed: SELLERS,
  },
  'GET /opportunities/{id}/history': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/history` }),
    allowed: READERS,
    shared: true,
  },
  'GET /opportunities/{id}/orders': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/orders` }),
    allowed: READERS,
    shared: true,
  },
  'POST /opportunities/{id}/orders': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/orders`, body: { amount: 1 } }),
    allowed: SELLERS,
  },
  'PUT /opportunities/{id}/post-sale-staff': {
    request: (f) => ({ path: `/opportunities/${f.opportunityId}/post-sale-staff`, body: { userIds: ['u-postsale'] } }),
    allowed: SELLERS,
  },
  'GET /approvals': { request: () => ({ path: '/approvals' }), allowed: ALL, shared: true },
  // Only the owner's direct supervisor decides.
  'POST /approvals/{id}/approve': {
    request: (f) => ({ path: `/approvals/${f.approvalId}/approve`, body: { comment: 'ok' } }),
    allowed: ['supervisor'],
    approval: true,
  },
  'POST /approvals/{id}/reject': {
    request: (f) => ({ path: `/approvals/${f.approvalId}/reject`, body: { comment: 'no' } }),
    allowed: ['supervisor'],
    approval: true,
  },
  'GET /audit': { request: () => ({ path: '/audit' }), allowed: ADMIN, shared: true },
  'GET /analytics/funnel': {
    request: (f) => ({ path: `/analytics/funnel?processId=${f.processId}` }),
    allowed: FUNNEL,
    shared: true,
  },
  'POST /analytics/target-plan': {
    request: (f) => ({
      path: '/analytics/target-plan',
      body: { processId: f.processId, target: 1000, period: 'month' },
    }),
    allowed: OWN_FIGURES,
    shared: true,
  },
  'GET /analytics/win-loss': {
    request: (f) => ({ path: `/analytics/win-loss?processId=${f.processId}&period=quarter` }),
    allowed: OWN_FIGURES,
    shared: true,
  },
  'GET /analytics/stale-deals': {
    request: (f) => ({ path: `/analytics/stale-deals?processId=${f.processId}` }),
    allowed: OWN_FIGURES,
    shared: true,
  },
  'GET /analytics/stream': {
    request: (f) => ({ path: `/analytics/stream?processId=${f.processId}` }),
    allowed: FUNNEL,
    shared: true,
    stream: true,
  },
  'POST /files': {
    request: () => ({ path: '/files', raw: { body: new TextEncoder().encode('hello'), type: 'text/plain' } }),
    allowed: ['admin', 'sales', 'supervisor', 'postsale'],
    shared: true,
  },
  // The admin's upload, in the opportunity's stage form: readable by those who read the opportunity.
  'GET /files/{id}': { request: (f) => ({ path: `/files/${f.fileId}` }), allowed: READERS, shared: true },
  'POST /files/{id}/link': { request: (f) => ({ path: `/files/${f.fileId}/link` }), allowed: READERS, shared: true },
  // A signed link needs no token: whoever holds one reads the file.
  'GET /files/{id}/content': { request: (f) => ({ path: f.link }), allowed: ALL, shared: true },
  'GET /notifications': { request: () => ({ path: '/notifications' }), allowed: ALL, shared: true },
  'POST /notifications/{id}/read': {
    request: () => ({ path: '/notifications/ntf_none/read' }),
    allowed: ALL,
    shared: true,
  },
  'GET /notifications/stream': {
    request: () => ({ path: '/notifications/stream' }),
    allowed: ALL,
    shared: true,
    stream: true,
  },
  'GET /webhook': { request: () => ({ path: '/webhook' }), allowed: ADMIN, shared: true },
  'PUT /webhook': {
    request: () => ({ path: '/webhook', body: { url: 'https://hooks.example.com/sp', secret: 'secret-123' } }),
    allowed: ADMIN,
    shared: true,
  },
  'DELETE /webhook': { request: () => ({ path: '/webhook' }), allowed: ADMIN, shared: true },
  'GET /webhook/deliveries': { request: () => ({ path: '/webhook/deliveries' }), allowed: ADMIN, shared: true },
};

/** Routes served outside the OpenAPI document (uploads, downloads, event streams). */
const OUTSIDE_OPENAPI = ['POST /files', 'GET /files/{id}', 'GET /analytics/stream', 'GET /notifications/stream'];

for (const kind of testDatabases()) {
  describe(`the role matrix on ${kind.name}`, () => {
    let t: TestServer;
    let shared: Fixture;
    const userOf = (role: Role) => `u-${role}`;
    const rolesOf = (role: Role) => (role === 'none' ? [] : [role]);

    async function call(role: Role, method: string, cell: ReturnType<Cell['request']>, stream = false) {
      const headers: Record<string, string> = { authorization: `Bearer ${await t.token(userOf(role), rolesOf(role))}` };
      let body: BodyInit | undefined;
      if (cell.raw) {
        headers['content-type'] = cell.raw.type;
        headers['x-file-name'] = 'hello.txt';
        body = cell.raw.body as Uint8Array<ArrayBuffer>;
      } else if (cell.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(cell.body);
      } else if (method !== 'GET' && method !== 'DELETE') {
        headers['content-type'] = 'application/json';
        body = '{}';
      }
      const res = await t.server.fetch(new Request(`http://test/api/v1${cell.path}`, { method, headers, body }));
      if (stream) await res.body?.cancel();
      else await res.arrayBuffer();
      return res.status;
    }

    async function fixture(full = true): Promise<Fixture> {
      const admin = t.as('u-admin', ['admin']);
      const sales = t.as('u-sales', ['sales']);
      const processId = (await admin.post('/processes', { name: `P ${n()}`, departments: [], definition })).body
        .id as string;
      const customerId = (await admin.post('/customers', { name: `C ${n()}`, fields: {} })).body.id as string;
      const contactId = (await admin.post(`/customers/${customerId}/contacts`, { name: 'K' })).body.id as string;
      const opp = await sales.post('/opportunities', { name: `O ${n()}`, customerId, amount: 100, processId });
      expect(opp.status).toBe(201);
      const opportunityId = opp.body.id as string;
      expect(
        (await admin.put(`/opportunities/${opportunityId}/post-sale-staff`, { userIds: ['u-postsale'] })).status,
      ).toBe(200);
      if (!full)
        return {
          processId,
          customerId,
          contactId,
          opportunityId,
          fileId: '',
          approvalId: '',
          draft: (await admin.get(`/processes/${processId}/draft`)).body.draft,
          link: '',
        };
      const upload = await t.server.fetch(
        // The owner attaches a file of their own (one they may not read is refused: files.test.ts).
        new Request('http://test/api/v1/files', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await t.token('u-sales', ['sales'])}`,
            'content-type': 'text/plain',
            'x-file-name': 'a.txt',
          },
          body: 'attached',
        }),
      );
      const file = (await upload.json()) as { id: string; name: string; size: number };
      expect(
        (
          await sales.put(`/opportunities/${opportunityId}/stage-form`, {
            values: { doc: { id: file.id, name: file.name, size: file.size } },
          })
        ).status,
      ).toBe(200);
      expect((await sales.post(`/opportunities/${opportunityId}/complete-stage`, {})).status).toBe(202);
      const approvalId = (await t.as('u-supervisor', ['supervisor']).get('/approvals?state=pending')).body.items.find(
        (a: { opportunityId: string }) => a.opportunityId === opportunityId,
      ).id;
      const draft = (await admin.get(`/processes/${processId}/draft`)).body.draft;
      const link = (await admin.post(`/files/${file.id}/link`)).body.url.replace(/^\/api\/v1/, '');
      return { processId, customerId, contactId, opportunityId, fileId: file.id, approvalId, draft, link };
    }

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      await t.as('u-admin', ['admin']).post('/directory/sync', {
        departments: [{ id: 'hq', name: 'HQ' }],
        users: ROLES.map((r) => ({
          id: userOf(r),
          name: r,
          departmentId: 'hq',
          managerId: r === 'sales' ? 'u-supervisor' : null,
          roles: rolesOf(r),
        })),
      });
      shared = await fixture();
    }, 60_000);
    afterAll(() => t.close());

    it('has a row for every endpoint of the OpenAPI document', async () => {
      const doc = (await (await t.server.fetch(new Request('http://test/api/v1/openapi.json'))).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      );
      expect(documented.filter((r) => !(r in MATRIX))).toEqual([]);
      expect(Object.keys(MATRIX).filter((r) => !documented.includes(r) && !OUTSIDE_OPENAPI.includes(r))).toEqual([]);
    });

    it('allows and denies each role on each endpoint as SPEC says', { timeout: 240_000 }, async () => {
      const wrong: string[] = [];
      let cells = 0;
      for (const [route, cell] of Object.entries(MATRIX)) {
        const method = route.split(' ')[0]!;
        // A write gets fresh records for each role it allows; the roles it denies share one
        // set, since a 403 changes nothing (a wrong allow still shows as a wrong status).
        let forDenied: Fixture | undefined;
        for (const role of ROLES) {
          const f = cell.shared
            ? shared
            : cell.allowed.includes(role)
              ? await fixture(!!cell.approval)
              : (forDenied ??= await fixture(!!cell.approval));
          const status = await call(role, method, cell.request(f), cell.stream);
          cells++;
          const allowed = cell.allowed.includes(role);
          const ok = allowed ? status !== 401 && status !== 403 && status < 500 : status === 403;
          if (!ok) wrong.push(`${route} as ${role}: ${status} (expected ${allowed ? 'allowed' : '403'})`);
        }
      }
      console.log(`role matrix on ${kind.name}: ${cells} cells`);
      expect(wrong).toEqual([]);
    });

    it("keeps salespeople and supervisors to their own and their reports' customers and files", async () => {
      await t.as('u-admin', ['admin']).post('/directory/sync', {
        departments: [],
        users: [{ id: 'u-other', name: 'other', departmentId: 'hq', managerId: null, roles: ['sales', 'supervisor'] }],
      });
      const other = t.as('u-other', ['sales', 'supervisor']);
      expect((await other.post(`/customers/${shared.customerId}/contacts`, { name: 'K' })).status).toBe(403);
      expect((await other.delete(`/customers/${shared.customerId}/contacts/${shared.contactId}`)).status).toBe(403);
      expect(
        (await other.patch(`/customers/${shared.customerId}/contacts/${shared.contactId}`, { roles: ['direct'] }))
          .status,
      ).toBe(403);
      expect((await other.get(`/files/${shared.fileId}`)).status).toBe(403);
      // Their own customer they write; the file they uploaded they read.
      const mine = (await other.post('/customers', { name: 'Mine', fields: {} })).body.id;
      expect((await other.post(`/customers/${mine}/contacts`, { name: 'K' })).status).toBe(201);
      expect((await t.as('u-sales').post(`/customers/${mine}/contacts`, { name: 'K' })).status).toBe(403);
    });
  });
}
