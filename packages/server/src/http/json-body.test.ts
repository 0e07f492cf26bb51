/**
 * The JSON body rules (content types, depth, text) unit by unit and then over the API. Over
 * 400 lines on purpose: one case per rule, each kept beside the others it must not overlap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_SECRET, testDatabases, type TestServer } from '../testing/harness.js';
import { checkJsonText, depthOf, MAX_JSON_DEPTH } from './json-body.js';

describe('JSON body checks', () => {
  it('measures nesting without parsing, ignoring brackets in strings', () => {
    expect(depthOf('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(depthOf('{"a":"[[[[\\"[[["}')).toBe(1);
    expect(depthOf('[]'.repeat(1000))).toBe(1);
    expect(depthOf('['.repeat(20_000) + ']'.repeat(20_000), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
  });

  it('refuses deep nesting before parsing, and lists NUL, unpaired surrogates, huge numbers and prototype keys at their paths', () => {
    expect(
      checkJsonText(`{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`).map((p) => p.code),
    ).toEqual(['too_deep']);
    expect(checkJsonText(`{"a":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`)).toEqual([]);
    const problems = checkJsonText(
      String.raw`{"name":"a\u0000b","list":["ok","\ud800"],"n":1e400,"m":{"__proto__":{"x":1},"constructor":1,"prototype":2,"k\u0000":1},"fine":"中文😀"}`,
    );
    expect(problems.map((p) => [p.path, p.code])).toEqual([
      ['body.name', 'invalid_text'],
      ['body.list.1', 'invalid_text'],
      ['body.n', 'not_finite'],
      ['body.m.__proto__', 'reserved_key'],
      ['body.m.constructor', 'reserved_key'],
      ['body.m.prototype', 'reserved_key'],
      ['body.m.k\u0000', 'invalid_text'],
    ]);
    expect(checkJsonText('{"a":')[0]!.code).toBe('invalid_json');
    expect(checkJsonText('')[0]!.code).toBe('invalid_json');
  });
});

for (const kind of testDatabases()) {
  describe(`request bodies on ${kind.name}`, () => {
    let t: TestServer;
    let token: string;
    let processId: string;
    let opportunityId: string;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      token = await t.token('adm', ['admin', 'sales']);
      const admin = t.as('adm', ['admin', 'sales']);
      const sync = await admin.post('/directory/sync', {
        departments: [{ id: 'd1', name: '销售部' }],
        users: [
          { id: 'adm', name: '管理员', departmentId: 'd1' },
          { id: 'other', name: '同事', departmentId: 'd1' },
        ],
      });
      expect(sync.status).toBe(200);
      const customer = await admin.post('/customers', { name: 'ACME' });
      const process = await admin.post('/processes', {
        name: '流程',
        definition: {
          presale: [
            {
              id: 'visit',
              name: '拜访',
              fields: [
                { source: 'stage', key: 'notes', label: { zh: '记录', en: 'Notes' }, type: 'textarea' },
                { source: 'stage', key: 'doc', label: { zh: '附件', en: 'File' }, type: 'file' },
                { source: 'opportunity', key: 'amount' },
                { source: 'opportunity', key: 'expectedCloseDate' },
              ],
            },
            { id: 'offer', name: '报价' },
          ],
        },
      });
      processId = process.body.id;
      const opp = await admin.post('/opportunities', { name: 'O', customerId: customer.body.id, amount: 1, processId });
      expect(opp.status).toBe(201);
      opportunityId = opp.body.id;
    });
    afterAll(() => t.close());

    const send = async (
      method: string,
      path: string,
      init: { body?: string; headers?: Record<string, string>; as?: string } = {},
    ) => {
      const auth = init.as ? await t.token(init.as, ['admin', 'sales']) : token;
      const res = await t.server.fetch(
        new Request(`http://test/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${auth}`, ...init.headers },
          body: init.body,
        }),
      );
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };

    it('refuses a body without a JSON content type with 415, and accepts JSON with parameters and +json types', async () => {
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonp',
        'json',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
      ]) {
        const res = await send('POST', '/customers', { body: '{"name":"X"}', headers: { 'content-type': type } });
        expect(res.status, type).toBe(415);
        expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      }
      const missing = await send('POST', '/customers', { body: '{"name":"X"}' });
      expect(missing.status).toBe(415);
      expect(missing.body.error.details[0].path).toBe('header.content-type');
      for (const type of [
        'application/json; charset=utf-8',
        'application/json;charset=UTF-8',
        'application/json; charset="utf-8"',
        'application/merge-patch+json',
        'Application/JSON',
      ]) {
        const res = await send('POST', '/customers', { body: '{"name":"Y"}', headers: { 'content-type': type } });
        expect(res.status, type).toBe(201);
      }
    });

    it('refuses a body that is not valid UTF-8 instead of storing U+FFFD in its place', async () => {
      const bytes = new Uint8Array([
        ...new TextEncoder().encode('{"name":"a'),
        0xff,
        0xfe,
        ...new TextEncoder().encode('b"}'),
      ]);
      const res = await t.server.fetch(
        new Request('http://test/api/v1/customers', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: bytes,
        }),
      );
      expect(res.status).toBe(400);
      expect((await res.json()).error.details[0]).toMatchObject({ path: 'body', code: 'invalid_utf8' });
      // A byte order mark is not content.
      const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"name":"带 BOM"}')]);
      const ok = await t.server.fetch(
        new Request('http://test/api/v1/customers', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: bom,
        }),
      );
      expect(ok.status).toBe(201);
      expect((await ok.json()).name).toBe('带 BOM');
    });

    it('runs a bodiless command sent with no body and no content type, with or without Content-Length: 0', async () => {
      expect((await send('POST', `/processes/${processId}/enable`)).status).toBe(200);
      // Over HTTP a bodiless POST carries Content-Length: 0 (a Request here cannot set it).
      const zero = await t.server.app.request(`/api/v1/processes/${processId}/enable`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-length': '0' },
      });
      expect(zero.status).toBe(200);
      // With a JSON type the body must be JSON: an empty one is not.
      const empty = await send('POST', `/processes/${processId}/enable`, {
        body: '',
        headers: { 'content-type': 'application/json' },
      });
      expect(empty.status).toBe(400);
      // A body where none is expected is not ignored.
      const extra = await send('POST', `/processes/${processId}/enable`, {
        body: '{"status":"disabled"}',
        headers: { 'content-type': 'application/json' },
      });
      expect(extra.status).toBe(400);
      expect(extra.body.error.details[0]).toMatchObject({ path: 'body', code: 'unrecognized_keys' });
    });

    it('refuses NUL in path ids and query parameters with 400 instead of a database error', async () => {
      for (const path of ['/customers/a%00b', '/opportunities/x%00', '/processes/%00', '/files/a%00b']) {
        const res = await send('GET', path);
        expect(res.status, path).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'path' }] });
      }
      for (const query of [
        '/opportunities?ownerId=a%00b',
        '/processes?usableBy=%00',
        '/notifications?cursor=%00',
        `/analytics/funnel?processId=${processId}&ownerId=%00`,
      ]) {
        const res = await send('GET', query);
        expect(res.status, query).toBe(400);
        expect(res.body.error.details[0].path).toMatch(/^query\./);
      }
    });

    it('refuses a token whose sub or tenant has a NUL with 401 instead of a database error', async () => {
      const { SignJWT } = await import('jose');
      const now = Math.floor(t.clock.now().getTime() / 1000);
      const sign = (sub: string, tenant: string) =>
        new SignJWT({ tenant, roles: ['admin', 'sales'] })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(sub)
          .setIssuedAt(now)
          .setExpirationTime(now + 600)
          .sign(new TextEncoder().encode(TEST_SECRET));
      for (const [sub, tenant] of [
        ['a\u0000b', 't1'],
        ['u', 't\u0000'],
        ['u\ud800', 't1'],
      ] as const) {
        for (const [method, path, body] of [
          ['GET', '/processes', undefined],
          ['GET', '/me', undefined],
          ['POST', '/customers', '{"name":"X"}'],
        ] as const) {
          const res = await t.server.fetch(
            new Request(`http://test/api/v1${path}`, {
              method,
              headers: { authorization: `Bearer ${await sign(sub, tenant)}`, 'content-type': 'application/json' },
              body,
            }),
          );
          expect(res.status, `${JSON.stringify(sub)} ${JSON.stringify(tenant)} ${method} ${path}`).toBe(401);
          expect((await res.json()).error.code).toBe('UNAUTHENTICATED');
        }
      }
    });

    it('refuses a malformed percent-encoded upload name with 400 and stores no file', async () => {
      const before = await send('GET', '/files/none');
      expect(before.status).toBe(404);
      for (const [path, headers, where] of [
        ['/files', { 'x-file-name': '%E0%A4%A' }, 'header.x-file-name'],
        ['/files?name=%ZZ', {}, 'query.name'],
      ] as const) {
        const res = await send('POST', path, { body: 'abc', headers: { 'content-type': 'text/plain', ...headers } });
        expect(res.status).toBe(400);
        expect(res.body.error.details[0].path).toBe(where);
      }
      const ok = await send('POST', '/files', {
        body: 'abc',
        headers: { 'content-type': 'text/plain', 'x-file-name': encodeURIComponent('报告 1.txt') },
      });
      expect(ok.status).toBe(201);
      expect(ok.body.name).toBe('报告 1.txt');
    });

    it('refuses a PUT of the draft with unknown keys (a definition without its wrapper) and keeps the draft', async () => {
      const admin = t.as('adm', ['admin', 'sales']);
      const before = await admin.get(`/processes/${processId}/draft`);
      expect(before.body.draft.definition.presale).toHaveLength(2);
      const res = await admin.put(`/processes/${processId}/draft`, {
        presale: [{ id: 'only', name: '唯一' }],
        postsale: [],
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: 'body', code: 'unrecognized_keys' })]),
      );
      const deep = await admin.put(`/processes/${processId}/draft`, {
        ...before.body.draft,
        definition: {
          ...before.body.draft.definition,
          presale: [{ ...before.body.draft.definition.presale[0], winrate: 5 }],
        },
      });
      expect(deep.status).toBe(400);
      expect(deep.body.error.details[0].path).toBe('body.definition.presale.0');
      // A PUT replaces the whole draft, so it is the whole draft: nothing left out is reset to empty.
      const pathsOf = (r: { body: { error: { details: { path: string }[] } } }) =>
        r.body.error.details.map((d) => d.path);
      const partial = await admin.put(`/processes/${processId}/draft`, { name: 'only name' });
      expect([partial.status, pathsOf(partial)]).toEqual([400, ['body.departments', 'body.definition']]);
      const empty = await admin.put(`/processes/${processId}/draft`, { ...before.body.draft, definition: {} });
      expect([empty.status, pathsOf(empty)]).toEqual([
        400,
        ['body.definition.presale', 'body.definition.postsale', 'body.definition.terminal', 'body.definition.rules'],
      ]);
      const { requirements: _r, ...stage } = before.body.draft.definition.presale[0];
      const short = await admin.put(`/processes/${processId}/draft`, {
        ...before.body.draft,
        definition: {
          ...before.body.draft.definition,
          presale: [stage, ...before.body.draft.definition.presale.slice(1)],
        },
      });
      expect([short.status, pathsOf(short)]).toEqual([400, ['body.definition.presale.0.requirements']]);
      // Two stages with one id would be one stage in the draft: refused, not dropped.
      const twice = await admin.put(`/processes/${processId}/draft`, {
        ...before.body.draft,
        definition: {
          ...before.body.draft.definition,
          presale: [
            before.body.draft.definition.presale[0],
            { ...before.body.draft.definition.presale[1], id: before.body.draft.definition.presale[0].id },
          ],
        },
      });
      expect([twice.status, pathsOf(twice)]).toEqual([400, ['body.definition.presale.1.id']]);
      expect((await admin.put(`/processes/${processId}/draft`, before.body.draft)).status).toBe(200);
      expect((await admin.get(`/processes/${processId}/draft`)).body.draft).toEqual(before.body.draft);
    });

    it('holds file field values to exactly an uploaded file of this tenant', async () => {
      const admin = t.as('adm', ['admin', 'sales']);
      const mine = await send('POST', '/files', {
        body: 'abc',
        headers: { 'content-type': 'text/plain', 'x-file-name': 'a.txt' },
      });
      const theirs = await send('POST', '/files', {
        body: 'xyz',
        headers: { 'content-type': 'text/plain', 'x-file-name': 'b.txt' },
        as: 'other',
      });
      // A token of another tenant: its file must not be attachable here.
      const otherTenant = await t.token('eve', ['admin', 'sales'], 't2');
      const foreign = await t.server.fetch(
        new Request('http://test/api/v1/files', {
          method: 'POST',
          headers: { authorization: `Bearer ${otherTenant}`, 'content-type': 'text/plain', 'x-file-name': 'c.txt' },
          body: 'zzz',
        }),
      );
      const foreignRef = await foreign.json();
      const path = `/opportunities/${opportunityId}/stage-form`;
      const deep = `{"values":{"doc":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`;
      const refused = [
        { doc: { ...foreignRef } },
        { doc: { id: 'fil_nothing', name: 'x', size: 1 } },
        { doc: { ...mine.body, extra: 'x' } },
        { doc: { ...mine.body, size: '3' } },
        { doc: { ...mine.body, size: 1.5 } },
        { doc: { id: mine.body.id, name: 'x'.repeat(201), size: 3 } },
        { doc: [mine.body] },
        { notes: 'x'.repeat(10_001) },
      ];
      for (const values of refused) {
        const res = await admin.put(path, { values });
        expect(res.status, JSON.stringify(values).slice(0, 80)).toBe(400);
        expect(res.body.error.details[0].path).toMatch(/^body\.values\.(doc|notes)/);
      }
      const tooDeep = await send('PUT', path, { body: deep, headers: { 'content-type': 'application/json' } });
      expect(tooDeep.status).toBe(400);
      expect(tooDeep.body.error.details[0].code).toBe('too_deep');
      const stored = (await admin.get(`/opportunities/${opportunityId}`)).body;
      expect(JSON.stringify(stored)).not.toContain('fil_nothing');
      // The same user's file, as the form stores it, and another user's file of this tenant.
      expect((await admin.put(path, { values: { doc: mine.body } })).status).toBe(200);
      expect((await admin.put(path, { values: { doc: { ...theirs.body, type: 'text/plain' } } })).status).toBe(200);
    });

    it('refuses values a column would refuse (impossible dates, amounts beyond numeric(15,2)) with 400 at their path', async () => {
      const admin = t.as('adm', ['admin', 'sales']);
      const customer = (await admin.post('/customers', { name: '丙' })).body;
      for (const from of ['2024-02-30', '2023-02-29', '0000-01-01', '2024-13-01']) {
        const res = await admin.get(`/analytics/funnel?processId=${processId}&from=${from}`);
        expect(res.status, from).toBe(400);
        expect(res.body.error.details[0].path).toBe('query.from');
      }
      expect((await admin.get(`/analytics/funnel?processId=${processId}&from=2024-02-29&to=2024-03-31`)).status).toBe(
        200,
      );
      const created = await admin.post('/opportunities', {
        name: 'X',
        customerId: customer.id,
        amount: 1,
        processId,
        expectedCloseDate: '2024-02-30',
      });
      expect(created.status).toBe(400);
      expect(created.body.error.details[0].path).toBe('body.expectedCloseDate');
      // biome-ignore lint/correctness/noPrecisionLoss: the imprecise literal is the input under test.
      for (const amount of [1e13, 9_999_999_999_999.999]) {
        const res = await admin.post('/opportunities', { name: 'X', customerId: customer.id, amount, processId });
        expect(res.status, String(amount)).toBe(400);
        expect(res.body.error.details[0].path).toBe('body.amount');
        const order = await admin.post(`/opportunities/${opportunityId}/orders`, { amount });
        expect(order.status).toBe(400);
      }
      const path = `/opportunities/${opportunityId}/stage-form`;
      for (const values of [{ expectedCloseDate: '2023-02-29' }, { amount: 1e13 }]) {
        const res = await admin.put(path, { values });
        expect(res.status, JSON.stringify(values)).toBe(400);
        expect(res.body.error.details[0].path).toBe(`body.values.${Object.keys(values)[0]}`);
      }
      const biggest = await admin.put(path, { values: { amount: 9_999_999_999_999, expectedCloseDate: '2024-02-29' } });
      expect(biggest.status).toBe(200);
      expect(biggest.body).toMatchObject({ amount: 9_999_999_999_999, expectedCloseDate: '2024-02-29' });
    });

    it('refuses repeated ids and options in one body (an upsert cannot write one row twice)', async () => {
      const admin = t.as('adm', ['admin', 'sales']);
      const sync = await admin.post('/directory/sync', {
        departments: [
          { id: 'd7', name: 'A' },
          { id: 'd7', name: 'B' },
        ],
        users: [
          { id: 'u7', name: 'A' },
          { id: 'u7', name: 'B' },
        ],
      });
      expect(sync.status).toBe(400);
      expect(sync.body.error.details.map((d: { path: string }) => d.path)).toEqual([
        'body.departments.1.id',
        'body.users.1.id',
      ]);
      expect((await admin.get('/directory')).body.departments.map((d: { id: string }) => d.id)).not.toContain('d7');
      const field = await admin.post('/fields/customer', {
        key: 'tier',
        label: { zh: '级别', en: 'Tier' },
        type: 'select',
        options: [
          { value: 'a', label: { zh: 'A', en: 'A' } },
          { value: 'a', label: { zh: 'B', en: 'B' } },
        ],
      });
      expect(field.status).toBe(400);
      expect(field.body.error.details[0].path).toBe('body.options.1.value');
      const process = await admin.post('/processes', { name: '重复', departments: ['d1', 'd1'] });
      expect(process.status).toBe(400);
      expect(process.body.error.details[0].path).toBe('body.departments.1');
    });

    it('documents text patterns the OpenAPI way (no regex flags), meaning what the server checks', async () => {
      const doc = await (await t.server.fetch(new Request('http://test/api/v1/openapi.json'))).json();
      const pattern: string =
        doc.paths['/customers'].post.requestBody.content['application/json'].schema.properties.name.pattern;
      const re = new RegExp(pattern);
      expect(re.test('甲公司 😀')).toBe(true);
      expect(re.test('a\u0000b')).toBe(false);
      expect(re.test('a\ud800b')).toBe(false);
      expect(doc.paths['/customers'].post.requestBody.content['application/json'].schema.additionalProperties).toBe(
        false,
      );
    });

    it('keeps no Idempotency-Key answer for a refused body: the corrected request under the same key acts', async () => {
      const key = { 'content-type': 'application/json', 'idempotency-key': 'fix-and-retry' };
      const bad = await send('POST', '/customers', { body: '{"name":"Fixed","extra":1}', headers: key });
      expect(bad.status).toBe(400);
      const wrongType = await send('POST', '/customers', {
        body: '{"name":"Fixed"}',
        headers: { ...key, 'content-type': 'text/plain' },
      });
      expect(wrongType.status).toBe(415);
      const fixed = await send('POST', '/customers', { body: '{"name":"Fixed"}', headers: key });
      expect(fixed.status).toBe(201);
      const replay = await send('POST', '/customers', { body: '{"name":"Fixed"}', headers: key });
      expect(replay.status).toBe(201);
      expect(replay.body.id).toBe(fixed.body.id);
    });

    it('refuses prototype keys in free-form maps instead of dropping them', async () => {
      const admin = t.as('adm', ['admin', 'sales']);
      for (const body of [
        '{"name":"P","fields":{"__proto__":{"industry":"it"}}}',
        '{"name":"P","fields":{"constructor":"x"}}',
      ]) {
        const res = await send('POST', '/customers', { body, headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(400);
        expect(res.body.error.details[0].path).toMatch(/^body\.fields\.(__proto__|constructor)$/);
      }
      const field = await admin.post('/fields/customer', {
        key: 'constructor',
        label: { zh: 'c', en: 'c' },
        type: 'text',
      });
      expect(field.status).toBe(400);
      expect((await admin.get('/customers')).body.items.map((c: { name: string }) => c.name)).not.toContain('P');
    });
  });
}
