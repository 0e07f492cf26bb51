/**
 * Every write endpoint the OpenAPI document lists × every kind of bad input: the answer is
 * a 4xx envelope (415 for a body that is not JSON, 400 for everything else), never a 5xx,
 * and nothing is stored (every table of the database is the same before and after).
 * The valid sample bodies below are sent last, to show each refusal came from its mutation.
 * Over 400 lines on purpose: the sample body of every write endpoint is listed here, in one place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/open.js';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Ids = Record<'customer' | 'contact' | 'process' | 'process2' | 'opportunity' | 'file', string>;

/** A valid body for each write endpoint (undefined: it takes none). */
const SAMPLES: Record<string, (ids: Ids) => object | undefined> = {
  'POST /directory/sync': () => ({
    departments: [{ id: 'd9', name: '研发部', parentId: 'd1' }],
    users: [{ id: 'u9', name: '张三', departmentId: 'd9', managerId: 'adm', roles: ['sales'] }],
  }),
  'POST /fields/{object}': () => ({
    key: 'region',
    label: { zh: '区域', en: 'Region' },
    type: 'select',
    options: [{ value: 'north', label: { zh: '北区', en: 'North' } }],
    required: false,
  }),
  // The whole list of options: renamed, added, archived (none removed).
  'PATCH /fields/{object}/{key}': () => ({
    label: { zh: '所属行业', en: 'Industry' },
    options: [
      { value: 'manufacturing', label: { zh: '制造业', en: 'Manufacturing' } },
      { value: 'retail', label: { zh: '零售', en: 'Retail' } },
      { value: 'finance', label: { zh: '金融', en: 'Finance' } },
      { value: 'it', label: { zh: '信息技术', en: 'IT' }, archived: false },
      { value: 'energy', label: { zh: '能源', en: 'Energy' }, archived: true },
    ],
    required: false,
    archived: false,
  }),
  'DELETE /fields/{object}/{key}': () => undefined,
  'PUT /fields/{object}/order': () => ({ keys: ['industry'] }),
  'PUT /settings': () => ({ deleteRequiresStatus: 'disabled' }),
  // The whole table; the PATCH sample's USD keeps its rate (beforeAll records it first).
  'PUT /currency-rates': () => ({
    baseCurrency: 'CNY',
    rates: [
      { currency: 'USD', rate: 7.1 },
      { currency: 'JPY', rate: 0.048 },
    ],
  }),
  'POST /customers': () => ({ name: '乙公司', fields: { industry: 'it' } }),
  'PATCH /customers/{id}': () => ({ name: '甲公司（更名）', fields: { industry: 'finance' } }),
  'POST /customers/{id}/contacts': () => ({
    name: '李四',
    title: '经理',
    phone: '+86 10 1234 5678',
    email: 'li@example.com',
    roles: ['direct', 'decisionMaker'],
  }),
  'PATCH /customers/{id}/contacts/{cid}': () => ({
    name: '王五',
    title: '总监',
    phone: null,
    email: 'wang@example.com',
    roles: ['technical'],
  }),
  'DELETE /customers/{id}/contacts/{cid}': () => undefined,
  'POST /processes': () => ({
    name: '新流程',
    departments: ['d1'],
    definition: {
      presale: [
        {
          id: 'a',
          name: '接触',
          winRate: 10,
          requirements: '确认需求',
          remindAfterDays: 3,
          requiresApproval: false,
          minContacts: 1,
          fields: [{ source: 'stage', key: 'k', required: true, label: { zh: '记录', en: 'Notes' }, type: 'text' }],
        },
      ],
      postsale: [{ id: 'p', name: '安装', overdueAfterDays: 5, fields: [] }],
      terminal: { won: { name: '赢单', winRate: 100 } },
      rules: { orderRequiredToWin: false, orderAllowedAfterStage: 'a', allowSkipStages: false, allowMoveBack: true },
    },
    asDraft: false,
  }),
  'DELETE /processes/{id}': () => undefined,
  // The whole draft: a PUT replaces it, so every key is there.
  'PUT /processes/{id}/draft': () => ({
    name: '销售流程',
    departments: ['d1'],
    definition: {
      presale: [
        {
          id: 'visit',
          name: '拜访',
          requirements: '',
          remindAfterDays: 3,
          requiresApproval: false,
          winRate: 10,
          minContacts: 0,
          fields: [
            { source: 'stage', key: 'notes', required: false, label: { zh: '记录', en: 'Notes' }, type: 'textarea' },
            { source: 'stage', key: 'doc', required: false, label: { zh: '附件', en: 'File' }, type: 'file' },
          ],
        },
        {
          id: 'offer',
          name: '报价',
          requirements: '',
          remindAfterDays: 7,
          requiresApproval: false,
          winRate: 50,
          minContacts: 0,
          fields: [],
        },
      ],
      postsale: [],
      terminal: {
        won: { name: '赢单', winRate: 100 },
        lost: { name: '输单', winRate: 0 },
        invalid: { name: '无效', winRate: 0 },
      },
      rules: { orderRequiredToWin: false, orderAllowedAfterStage: null, allowSkipStages: false, allowMoveBack: true },
    },
  }),
  'POST /processes/{id}/publish/preview': () => ({
    mode: 'update-existing',
    stageMapping: { visit: 'offer' },
    disableOld: false,
  }),
  'POST /processes/{id}/publish': () => ({
    mode: 'update-existing',
    stageMapping: { visit: 'offer' },
    disableOld: false,
  }),
  'POST /processes/{id}/enable': () => undefined,
  'POST /processes/{id}/disable': () => undefined,
  'POST /opportunities': (ids) => ({
    name: '新商机',
    customerId: ids.customer,
    amount: 1000,
    currency: 'CNY',
    expectedCloseDate: '2027-01-31',
    processId: ids.process,
    ownerId: 'adm',
    fields: { lostReason: 'price' },
  }),
  'PATCH /opportunities/{id}': () => ({
    name: '改名商机',
    amount: 8000,
    currency: 'USD',
    expectedCloseDate: '2027-06-30',
    fields: { lostReason: 'price' },
    reason: '客户确认了预算',
    expectedStageId: 'visit',
  }),
  'POST /opportunities/reassign': (ids) => ({
    opportunityIds: [ids.opportunity],
    toOwnerId: 's2',
    reason: '负责人离职交接',
  }),
  'POST /opportunities/commands': (ids) => ({
    commands: [
      { opportunityId: ids.opportunity, type: 'lose', reason: 'price', comment: '价格太高', expectedStageId: 'offer' },
    ],
  }),
  'POST /opportunities/{id}/reopen': () => ({ stageId: 'visit', comment: '客户重新询价', expectedStageId: 'offer' }),
  'PUT /opportunities/{id}/stage-form': (ids) => ({
    values: { notes: '拜访顺利', doc: { id: ids.file, name: 'a.txt', size: 3 } },
    expectedStageId: 'visit',
  }),
  'POST /opportunities/{id}/complete-stage': () => ({ toStageId: 'offer', expectedStageId: 'visit' }),
  'POST /opportunities/{id}/move-back': () => ({ stageId: 'visit', expectedStageId: 'offer' }),
  'POST /opportunities/{id}/win': () => ({ expectedStageId: 'offer' }),
  'POST /opportunities/{id}/lose': () => ({ reason: 'price', comment: '价格太高', expectedStageId: 'offer' }),
  'POST /opportunities/{id}/invalidate': () => ({ expectedStageId: 'offer' }),
  'POST /opportunities/{id}/change-process': (ids) => ({
    processId: ids.process2,
    stageId: 'offer',
    expectedStageId: 'visit',
  }),
  'POST /opportunities/{id}/orders': () => ({ amount: 100, expectedStageId: 'visit' }),
  'PUT /opportunities/{id}/post-sale-staff': () => ({ userIds: ['adm'] }),
  'POST /approvals/{id}/approve': () => ({ comment: '同意' }),
  'POST /approvals/{id}/reject': () => ({ comment: '不同意' }),
  'POST /analytics/target-plan': (ids) => ({
    processId: ids.process,
    target: 100000,
    period: 'month',
    start: '2027-01',
    periods: 3,
    departmentId: 'd1',
    averageDealAmount: 25000,
  }),
  'POST /files/{id}/link': () => undefined,
  'POST /notifications/{id}/read': () => undefined,
  'PUT /webhook': () => ({ url: 'https://example.com/hook', secret: 's3cret-s3cret' }),
  'DELETE /webhook': () => undefined,
};

/** Endpoints whose body is not JSON, with their own bad inputs. */
const RAW = new Set(['POST /files']);

interface Case {
  endpoint: string;
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  status: 400 | 415;
  /** Where the refusal must point: a detail's path is this, inside it, or encloses it. */
  at: string;
}

const DEEP = '['.repeat(20_000) + ']'.repeat(20_000);
const HUGE = 'x'.repeat(100_000);

/** Every node of a JSON value with its path (the root's path is []). */
function nodes(value: Json, path: (string | number)[] = []): { path: (string | number)[]; value: Json }[] {
  const out = [{ path, value }];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...nodes(v, [...path, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...nodes(v, [...path, k]));
  return out;
}

/** The JSON text of `root` with the node at `path` replaced by the raw JSON text `raw`. */
function replaced(root: Json, path: (string | number)[], raw: string): string {
  const marker = 'REPLACED_NODE_7f3a';
  const copy = structuredClone(root) as Json;
  if (!path.length) return raw;
  let at = copy as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, Json>;
  at[path.at(-1)!] = marker;
  return JSON.stringify(copy).replace(`"${marker}"`, () => raw);
}

/** The JSON text of `root` with an extra key in the object at `path`. */
function withKey(root: Json, path: (string | number)[], key: string, raw: string): string {
  const text = replaced(root, path, '"EXTENDED_OBJECT_7f3a"');
  const target = nodes(root).find((n) => n.path.join('\u0000') === path.join('\u0000'))!.value as Record<string, Json>;
  const inner = JSON.stringify(target).slice(1, -1);
  return text.replace('"EXTENDED_OBJECT_7f3a"', () => `{${JSON.stringify(key)}:${raw}${inner ? `,${inner}` : ''}}`);
}

function wrongType(value: Json): string {
  if (typeof value === 'string') return '42';
  if (typeof value === 'number') return JSON.stringify(String(value));
  if (typeof value === 'boolean') return '"true"';
  if (value === null) return '42';
  return '"x"';
}

function casesFor(endpoint: string, path: string, nulPath: string | null, sample: Json | undefined): Case[] {
  const [method] = endpoint.split(' ') as [string];
  const json = { 'content-type': 'application/json' };
  const base = sample === undefined ? {} : sample;
  const text = JSON.stringify(base);
  const out: Case[] = [];
  const add = (
    kind: string,
    body: string | Uint8Array<ArrayBuffer> | undefined,
    at = 'body',
    headers: Record<string, string> = json,
    status: 400 | 415 = 400,
    url = path,
  ) => out.push({ endpoint, kind, method, path: url, headers, body, status, at });
  add('wrong content type (text/plain)', text, 'header.content-type', { 'content-type': 'text/plain' }, 415);
  add(
    'wrong content type (form)',
    'a=1',
    'header.content-type',
    { 'content-type': 'application/x-www-form-urlencoded' },
    415,
  );
  add('wrong content type (jsonp)', text, 'header.content-type', { 'content-type': 'application/jsonp' }, 415);
  add('missing content type', text, 'header.content-type', {}, 415);
  add(
    'a charset other than UTF-8',
    text,
    'header.content-type',
    { 'content-type': 'application/json; charset=utf-16' },
    415,
  );
  const [before, after] = withKey(base, [], 'x', '"INVALID_UTF8_7f3a"').split('INVALID_UTF8_7f3a') as [string, string];
  add(
    'invalid UTF-8 in a string',
    new Uint8Array([...new TextEncoder().encode(before), 0xc3, 0x28, ...new TextEncoder().encode(after)]),
  );
  add('not JSON', text.slice(0, -1));
  add('empty body with a JSON type', '');
  add('an array for the body', '[]');
  add('a string for the body', '"x"');
  add('a number out of range', withKey(base, [], 'n', '1e400'), 'body.n');
  if (nulPath) add('NUL in a path id', text, 'path', json, 400, nulPath);
  add('NUL in the query', text, 'query.x', json, 400, `${path}?x=%00`);
  if (method === 'POST') {
    // A refused retry-safe request keeps no Idempotency-Key row either.
    add(
      'wrong content type with an Idempotency-Key',
      text,
      'header.content-type',
      { 'content-type': 'text/plain', 'idempotency-key': `bad${endpoint.replace(/\W/g, '_')}` },
      415,
    );
    add('NUL with an Idempotency-Key', withKey(base, [], 'x', '"\\u0000"'), 'body.x', {
      ...json,
      'idempotency-key': `nul${endpoint.replace(/\W/g, '_')}`,
    });
  }
  for (const node of nodes(base)) {
    const where = ['body', ...node.path].join('.');
    if (typeof node.value === 'string') {
      add(`NUL in ${where}`, replaced(base, node.path, JSON.stringify(`${node.value}\u0000`)), where);
      add(
        `unpaired surrogate in ${where}`,
        replaced(base, node.path, `${JSON.stringify(node.value).slice(0, -1)}\\ud800"`),
        where,
      );
      add(`huge string in ${where}`, replaced(base, node.path, JSON.stringify(HUGE)), where);
    }
    if (node.path.length) {
      add(`wrong type in ${where}`, replaced(base, node.path, wrongType(node.value)), where);
      add(`deep nesting in ${where}`, replaced(base, node.path, DEEP), where);
    } else add('deep nesting in the body', withKey(base, [], 'deep', DEEP));
    if (node.value !== null && typeof node.value === 'object' && !Array.isArray(node.value)) {
      add(`unknown key in ${where}`, withKey(base, node.path, 'unexpectedKey', '1'), where);
      for (const key of ['__proto__', 'constructor', 'prototype'])
        add(`${key} key in ${where}`, withKey(base, node.path, key, '{"polluted":true}'), `${where}.${key}`);
      add(`NUL in a key in ${where}`, withKey(base, node.path, 'k\u0000', '1'), `${where}.k\u0000`);
    }
  }
  return out;
}

function rawCases(endpoint: string, path: string): Case[] {
  const c = (
    kind: string,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    at: string,
  ): Case => ({ endpoint, kind, method: 'POST', path: url, headers, body, status: 400, at });
  return [
    c(
      'malformed X-File-Name',
      path,
      { 'content-type': 'text/plain', 'x-file-name': '%E0%A4%A' },
      'abc',
      'header.x-file-name',
    ),
    c(
      'malformed X-File-Name (bad escape)',
      path,
      { 'content-type': 'text/plain', 'x-file-name': '%ZZ' },
      'abc',
      'header.x-file-name',
    ),
    c('malformed ?name', `${path}?name=%ZZ`, { 'content-type': 'text/plain' }, 'abc', 'query.name'),
    c('truncated ?name', `${path}?name=%E0%A4%A`, { 'content-type': 'text/plain' }, 'abc', 'query.name'),
    c('NUL in the query', `${path}?name=a%00b`, { 'content-type': 'text/plain' }, 'abc', 'query.name'),
    c('empty file', path, { 'content-type': 'text/plain', 'x-file-name': 'a.txt' }, undefined, 'body'),
  ];
}

for (const kind of testDatabases()) {
  describe(`bad input on every write endpoint on ${kind.name}`, () => {
    let t: TestServer;
    let token: string;
    let ids: Ids;
    let tables: string[];
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      token = await t.token('adm', ['admin', 'sales', 'supervisor']);
      const admin = t.as('adm', ['admin', 'sales', 'supervisor']);
      const ok = <T extends { status: number; body: any }>(r: T, what: string) => {
        if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body;
      };
      ok(
        await admin.post('/directory/sync', {
          departments: [{ id: 'd1', name: '销售部' }],
          users: [
            { id: 'adm', name: '管理员', departmentId: 'd1' },
            { id: 's2', name: '销售', departmentId: 'd1', managerId: 'adm' },
          ],
        }),
        'directory',
      );
      const file = await t.server.fetch(
        new Request('http://test/api/v1/files', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'x-file-name': 'a.txt' },
          body: 'abc',
        }),
      );
      // PATCH /opportunities/{id}'s sample moves an amount to USD: a currency with a rate.
      ok(await admin.put('/currency-rates', { rates: [{ currency: 'USD', rate: 7.1 }] }), 'rates');
      const customer = ok(await admin.post('/customers', { name: '甲公司', fields: { industry: 'it' } }), 'customer');
      const contact = ok(await admin.post(`/customers/${customer.id}/contacts`, { name: '王五' }), 'contact');
      const definition = SAMPLES['PUT /processes/{id}/draft']!({} as Ids) as { definition: Json };
      const process = ok(
        await admin.post('/processes', { name: '销售流程', departments: ['d1'], definition: definition.definition }),
        'process',
      );
      const process2 = ok(
        await admin.post('/processes', { name: '另一流程', departments: ['d1'], definition: definition.definition }),
        'process2',
      );
      const opportunity = ok(
        await admin.post('/opportunities', {
          name: '商机',
          customerId: customer.id,
          amount: 5000,
          processId: process.id,
        }),
        'opportunity',
      );
      ids = {
        customer: customer.id,
        contact: contact.id,
        process: process.id,
        process2: process2.id,
        opportunity: opportunity.id,
        file: ((await file.json()) as { id: string }).id,
      };
      tables = rowsOf<{ tablename: string }>(
        await t.database.db.execute("select tablename from pg_tables where schemaname = 'public' order by 1" as never),
      ).map((r) => r.tablename);
      await installWriteCounters();
    });
    afterAll(() => t.close());

    /**
     * A running fingerprint of every app table, kept by a trigger installed once the fixture
     * is written: per table, the net number of rows and the sum of their rows' hashes
     * (inserted rows added, deleted ones taken away, an update both). It says what hashing
     * every table's rows after each case said (a key claimed and then released nets to
     * nothing), at the cost of one small query per case.
     */
    const installWriteCounters = async () => {
      const run = (text: string) => t.database.db.execute(text as never);
      await run(`create table test_writes (t text primary key, n bigint not null, h bigint not null)`);
      await run(`create function test_count_write() returns trigger language plpgsql as $$
        declare dn bigint := 0; dh bigint := 0;
        begin
          if tg_level = 'STATEMENT' then dn := 1000000; -- a truncation
          else
            if tg_op in ('INSERT', 'UPDATE') then dn := dn + 1; dh := dh + hashtext(new::text); end if;
            if tg_op in ('DELETE', 'UPDATE') then dn := dn - 1; dh := dh - hashtext(old::text); end if;
          end if;
          insert into test_writes (t, n, h) values (tg_table_name, dn, dh)
            on conflict (t) do update set n = test_writes.n + excluded.n, h = test_writes.h + excluded.h;
          return null;
        end $$`);
      for (const name of tables) {
        await run(`insert into test_writes (t, n, h) values ('${name}', 0, 0)`);
        await run(`create trigger test_rows after insert or update or delete on "${name}"
          for each row execute function test_count_write()`);
        await run(`create trigger test_truncate after truncate on "${name}"
          for each statement execute function test_count_write()`);
      }
    };
    const snapshot = async (): Promise<Record<string, string>> =>
      Object.fromEntries(
        rowsOf<{ t: string; h: string }>(
          await t.database.db.execute(`select t, n || ':' || h as h from test_writes` as never),
        ).map((r) => [r.t, r.h]),
      );

    /** A path template with real ids (a param named after no known collection: "none"). */
    const fill = (template: string, nul = false) => {
      let first = true;
      return template
        .split('/')
        .map((seg, i, all) => {
          const name = /^\{(\w+)\}$/.exec(seg)?.[1];
          if (!name) return seg;
          if (nul && first) return ((first = false), 'a%00b');
          if (name === 'cid') return ids.contact;
          if (name === 'object') return 'customer';
          if (name === 'key') return 'industry';
          return (
            (
              {
                customers: ids.customer,
                processes: ids.process,
                opportunities: ids.opportunity,
                files: ids.file,
              } as Record<string, string>
            )[all[i - 1]!] ?? 'none'
          );
        })
        .join('/');
    };

    const send = async (c: {
      method: string;
      path: string;
      headers: Record<string, string>;
      body?: string | Uint8Array<ArrayBuffer>;
    }) => {
      const res = await t.server.fetch(
        new Request(`http://test/api/v1${c.path}`, {
          method: c.method,
          headers: { authorization: `Bearer ${token}`, ...c.headers },
          body: c.body,
        }),
      );
      const text = await res.text();
      let body: any = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      return { status: res.status, body };
    };

    it('answers a 4xx envelope and stores nothing, for every endpoint × kind of bad input', async () => {
      const doc = (await send({ method: 'GET', path: '/openapi.json', headers: {} })).body as {
        paths: Record<string, Record<string, unknown>>;
      };
      const endpoints = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => ['post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      );
      // An endpoint without a sample still gets every case on an empty body, then fails below.
      const missing = endpoints.filter((e) => !RAW.has(e) && !(e in SAMPLES));
      const sampleOf = (e: string) => (SAMPLES[e]?.(ids) ?? undefined) as Json | undefined;
      const cases = endpoints.flatMap((e) => {
        const template = e.slice(e.indexOf(' ') + 1);
        return RAW.has(e)
          ? rawCases(e, fill(template))
          : casesFor(e, fill(template), template.includes('{') ? fill(template, true) : null, sampleOf(e));
      });

      const failures: string[] = [];
      let before = await snapshot();
      for (const c of cases) {
        const res = await send(c);
        const after = await snapshot();
        const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
        const envelope =
          res.body?.error &&
          typeof res.body.error.code === 'string' &&
          typeof res.body.error.message === 'string' &&
          Array.isArray(res.body.error.details);
        const pointed =
          envelope &&
          (res.body.error.details as { path?: unknown }[]).some(
            (d) => typeof d.path === 'string' && (d.path.startsWith(c.at) || c.at.startsWith(d.path)),
          );
        if (res.status !== c.status || !envelope || !pointed || changed.length)
          failures.push(
            `${c.endpoint} · ${c.kind}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}${changed.length ? ` · stored into ${changed.map((k) => `${k} ${before[k]} → ${after[k]}`).join(', ')}` : ''}`,
          );
        before = after;
      }
      console.log(
        `bad-input on ${kind.name}: ${cases.length} cases over ${endpoints.length} write endpoints, ${failures.length} failed`,
      );
      expect(failures).toEqual([]);
      expect(missing, 'write endpoints without a sample body in SAMPLES of bad-input.test.ts').toEqual([]);
      expect(cases.length).toBeGreaterThan(endpoints.length * 10);

      // The samples themselves pass validation: each refusal above came from its mutation.
      const refusedSamples: string[] = [];
      for (const e of endpoints.filter((x) => !RAW.has(x))) {
        const sample = sampleOf(e);
        const [method, path] = e.split(' ') as [string, string];
        const res = await send({
          method,
          path: fill(path),
          headers: sample === undefined ? {} : { 'content-type': 'application/json' },
          body: sample === undefined ? undefined : JSON.stringify(sample),
        });
        // A rule may still refuse it (404, 409, 422, or 400 with no path: e.g. no history to plan from), not its shape.
        const shape =
          res.status === 400 &&
          (res.body?.error?.details ?? []).some((d: { path?: unknown }) => typeof d.path === 'string');
        if (shape || res.status === 415 || res.status >= 500)
          refusedSamples.push(`${e}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      }
      expect(refusedSamples).toEqual([]);
    });
  });
}
