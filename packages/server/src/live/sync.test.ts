/**
 * Live documents over real sockets, both kinds, on each test database. Over 400 lines on
 * purpose: every case shares one server and its company (built once per database), and
 * splitting the file would build them again per file.
 */
import {
  addStage,
  DRAFT_ROOT,
  FORM_ROOT,
  MESSAGE_NOTICE,
  opportunityDocName,
  processDraftDocName,
  processDraftSchema,
  readDraft,
  SERVER_ROOT,
  seedProcessDefinition,
  setStageValue,
  type ProcessDraft,
} from '@sales-process/core';
import * as decoding from 'lib0/decoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { startTestServer, testDatabases, waitFor, type TestServer } from '../testing/harness.js';

interface Client {
  doc: Y.Doc;
  provider: WebsocketProvider;
  notices: { code: string; details: { path?: string }[] }[];
  close(): void;
}

async function company(t: TestServer) {
  const admin = t.as('admin', ['admin']);
  await admin.post('/directory/sync', {
    departments: [{ id: 'sales', name: '销售部' }],
    users: [
      { id: 'admin', name: '管理员', departmentId: 'sales' },
      { id: 'rep', name: '张三', departmentId: 'sales', managerId: 'admin' },
      { id: 'rep2', name: '赵六', departmentId: 'sales', managerId: 'admin' },
      { id: 'ana', name: '周分析', departmentId: 'sales', managerId: 'admin' },
    ],
  });
  const processId = (
    await admin.post('/processes', { name: '重要客户销售流程', departments: [], definition: seedProcessDefinition })
  ).body.id;
  const customerId = (await admin.post('/customers', { name: '宝钢', fields: {} })).body.id;
  const opportunityId = (await t.as('rep').post('/opportunities', { name: 'O', customerId, amount: 100, processId }))
    .body.id;
  return { processId, customerId, opportunityId };
}

for (const kind of testDatabases()) {
  describe(`live documents on ${kind.name}`, () => {
    let t: TestServer;
    let base: string;
    let ids: Awaited<ReturnType<typeof company>>;
    const clients: Client[] = [];
    beforeAll(async () => {
      // Rooms here hold up to 26 sockets of one test user: above the default per-user cap (budget.test.ts tests that).
      t = await startTestServer(await kind.open(), {
        sync: { unloadAfterMs: 200, formFlushMs: 20, maxConnectionsPerUser: 100 },
      });
      const { port } = await t.server.listen(0, '127.0.0.1');
      base = `ws://127.0.0.1:${port}/sync`;
      ids = await company(t);
    });
    afterAll(async () => {
      clients.forEach((c) => c.close());
      await t.close();
    });

    async function connect(room: string, user = 'admin', roles = ['admin']): Promise<Client> {
      const doc = new Y.Doc();
      const token = await t.token(user, roles);
      const provider = new WebsocketProvider(base, room, doc, {
        WebSocketPolyfill: WebSocket as never,
        disableBc: true,
        params: { token },
      });
      const notices: Client['notices'] = [];
      provider.messageHandlers[MESSAGE_NOTICE] = (_enc, decoder) => {
        notices.push(JSON.parse(decoding.readVarString(decoder)));
      };
      const client = { doc, provider, notices, close: () => provider.destroy() };
      clients.push(client);
      await waitFor(() => provider.synced, 5000, `${room} to sync`);
      return client;
    }
    const draftOf = (c: Client) => processDraftSchema.parse(readDraft(c.doc)) as ProcessDraft;
    const room = () => processDraftDocName(ids.processId);

    /** The HTTP status a websocket upgrade is answered with. */
    const upgradeStatus = (url: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('error', () => {});
      });

    it('refuses the upgrade without a valid token, outside the tenant, or without the role', async () => {
      expect(await upgradeStatus(`${base}/${room()}`)).toBe(401);
      expect(await upgradeStatus(`${base}/${room()}?token=garbage`)).toBe(401);
      const other = await t.token('admin', ['admin'], 't2');
      expect(await upgradeStatus(`${base}/${room()}?token=${other}`)).toBe(404);
      const rep = await t.token('rep', ['sales']);
      expect(await upgradeStatus(`${base}/${room()}?token=${rep}`)).toBe(403);
      expect(await upgradeStatus(`${base}/nonsense:1?token=${rep}`)).toBe(400);
      expect(await upgradeStatus(`${base}/${room()}?token=${await t.token('admin', ['admin'])}`)).toBe(101);
    });

    it('starts a draft as the current version and lets two editors converge; a late joiner gets it all', async () => {
      const a = await connect(room());
      const b = await connect(room());
      expect(draftOf(a).definition.presale.map((s) => s.name)).toEqual([
        '初次拜访',
        '需求分析匹配',
        '方案设计',
        '报价竞标',
      ]);
      addStage(a.doc, 'presale', { id: 'negotiate', name: '商务谈判', winRate: 90 });
      setStageValue(b.doc, 'presale', 'visit', 'requirements', '带上名片');
      await waitFor(
        () =>
          draftOf(b).definition.presale.some((s) => s.id === 'negotiate') &&
          draftOf(a).definition.presale[0]!.requirements === '带上名片',
        2000,
        'convergence',
      );
      const late = await connect(room());
      expect(draftOf(late)).toEqual(draftOf(a));
      // REST sees the same draft, and a REST write reaches the editors live.
      const rest = (await t.as('admin', ['admin']).get(`/processes/${ids.processId}/draft`)).body.draft;
      expect(rest).toEqual(draftOf(a));
      rest.definition.presale[1].name = '需求分析';
      expect((await t.as('admin', ['admin']).put(`/processes/${ids.processId}/draft`, rest)).status).toBe(200);
      await waitFor(() => draftOf(b).definition.presale[1]!.name === '需求分析', 2000, 'REST edit to reach editors');
    });

    it('reverts a win rate of 250 for its author; the others never see it and nothing of it is stored', async () => {
      const rawOf = (c: Client) => readDraft(c.doc) as ProcessDraft;
      const a = await connect(room());
      const b = await connect(room());
      const seen: number[] = [];
      b.doc.on('update', () => seen.push(rawOf(b).definition.presale[0]!.winRate));
      setStageValue(a.doc, 'presale', 'visit', 'winRate', 250);
      expect(rawOf(a).definition.presale[0]!.winRate).toBe(250);
      await waitFor(() => rawOf(a).definition.presale[0]!.winRate === 10, 2000, 'revert');
      await waitFor(() => a.notices.length > 0);
      expect(a.notices[0]).toMatchObject({
        code: 'UPDATE_REFUSED',
        details: [{ path: 'definition.presale.0.winRate' }],
      });
      expect(seen).not.toContain(250);
      expect(rawOf(b).definition.presale[0]!.winRate).toBe(10);
      const stored = await t.server.services.store.load(room());
      expect((readDraft(stored.ydoc) as ProcessDraft).definition.presale[0]!.winRate).toBe(10);
      expect(await storedContains(t, room(), (v) => v === 250)).toBe(false);
      // It still edits fine afterwards.
      setStageValue(a.doc, 'presale', 'visit', 'winRate', 15);
      await waitFor(() => rawOf(b).definition.presale[0]!.winRate === 15, 2000, 'a good edit after a bad one');
    });

    it('reverts a write to a root the draft does not have, and the doc keeps accepting edits', async () => {
      const rawOf = (c: Client) => readDraft(c.doc) as ProcessDraft;
      const a = await connect(room());
      const b = await connect(room());
      // On the server this root exists only as the bare type an update creates.
      a.doc.getMap('elsewhere').set('payload', 'x');
      a.doc.getArray('list').insert(0, [1, 2, 3]);
      await waitFor(
        () => a.doc.getMap('elsewhere').size === 0 && a.doc.getArray('list').length === 0,
        2000,
        'revert of foreign roots',
      );
      await waitFor(
        () => a.notices.some((n) => n.details.some((d) => d.path === 'elsewhere')),
        2000,
        'a notice naming the root',
      );
      expect(b.doc.share.has('elsewhere') ? b.doc.getMap('elsewhere').size : 0).toBe(0);
      setStageValue(a.doc, 'presale', 'visit', 'winRate', 12);
      await waitFor(() => rawOf(b).definition.presale[0]!.winRate === 12, 2000, 'a good edit afterwards');
      expect(await storedContains(t, room(), (v) => v === 'x')).toBe(false);
    });

    it('broadcasts before storing, and stores the whole doc again when an append fails', async () => {
      const store = t.server.services.store;
      const append = store.append.bind(store);
      let failures = 2;
      store.append = (...args: Parameters<typeof append>) =>
        failures-- > 0 ? Promise.reject(new Error('database unavailable (test)')) : append(...args);
      try {
        const a = await connect(room());
        const b = await connect(room());
        setStageValue(a.doc, 'presale', 'visit', 'requirements', '断库时的修改');
        // The peer has it while the store is refusing…
        await waitFor(
          () => (readDraft(b.doc) as ProcessDraft).definition.presale[0]!.requirements === '断库时的修改',
          2000,
          'the broadcast',
        );
        // … and the retry stores it once the database answers again.
        await waitFor(
          async () =>
            (readDraft((await store.load(room())).ydoc) as ProcessDraft).definition.presale[0]!.requirements ===
            '断库时的修改',
          5000,
          'the retried store',
        );
        expect(failures).toBeLessThan(0);
      } finally {
        store.append = append;
      }
    });

    it('reverts a 10 MB string, and stores none of it', async () => {
      const a = await connect(room());
      const b = await connect(room());
      const huge = 'x'.repeat(10 * 1024 * 1024);
      setStageValue(a.doc, 'presale', 'needs', 'requirements', huge);
      const raw = (c: Client) => (readDraft(c.doc) as ProcessDraft).definition.presale[1]!.requirements;
      await waitFor(() => raw(a).length < 1000, 10_000, 'revert of the huge string');
      expect(raw(b).length).toBeLessThan(1000);
      expect(a.notices.at(-1)).toMatchObject({ code: 'UPDATE_REFUSED' });
      expect(await storedBytes(t, room())).toBeLessThan(200_000);
      expect(await storedContains(t, room(), (v) => typeof v === 'string' && v.length > 10_000)).toBe(false);
    });

    it("reverts a write to an opportunity's server-owned stage, and a value of the wrong type", async () => {
      const oroom = opportunityDocName(ids.opportunityId);
      const a = await connect(oroom, 'rep', ['sales']);
      const b = await connect(oroom, 'rep', ['sales']);
      await waitFor(() => a.doc.getMap(SERVER_ROOT).get('stageId') === 'visit', 2000, 'server state in the doc');
      a.doc.getMap(SERVER_ROOT).set('stageId', 'quote');
      await waitFor(() => a.doc.getMap(SERVER_ROOT).get('stageId') === 'visit', 2000, 'revert of the stage');
      expect(b.doc.getMap(SERVER_ROOT).get('stageId')).toBe('visit');
      expect(a.notices.at(-1)).toMatchObject({ code: 'UPDATE_REFUSED', details: [{ path: 'server' }] });
      a.doc.getMap(FORM_ROOT).set('stage.visitNotes', 42);
      await waitFor(() => a.doc.getMap(FORM_ROOT).get('stage.visitNotes') !== 42, 2000, 'revert of a bad value');
      a.doc.getMap(FORM_ROOT).set('stage.nope', 'x');
      await waitFor(() => !a.doc.getMap(FORM_ROOT).has('stage.nope'), 2000, 'revert of an unknown field');
      expect((await t.as('rep').get(`/opportunities/${ids.opportunityId}`)).body.stageId).toBe('visit');
    });

    it('co-fills a form: values reach the other salesperson, the database and the gates', async () => {
      const oroom = opportunityDocName(ids.opportunityId);
      const a = await connect(oroom, 'rep', ['sales']);
      const b = await connect(oroom, 'admin', ['admin']);
      a.doc.getMap(FORM_ROOT).set('stage.visitNotes', '见了林总');
      b.doc.getMap(FORM_ROOT).set('customer.industry', 'it');
      await waitFor(
        () =>
          b.doc.getMap(FORM_ROOT).get('stage.visitNotes') === '见了林总' &&
          a.doc.getMap(FORM_ROOT).get('customer.industry') === 'it',
        2000,
        'co-filling',
      );
      await waitFor(
        async () =>
          (await t.as('rep').get(`/opportunities/${ids.opportunityId}`)).body.stageValues.visit?.visitNotes ===
          '见了林总',
        3000,
        'the value in the database',
      );
      // Gates in the doc follow: both required fields met, contacts not.
      await waitFor(
        () => {
          const gates = a.doc.getMap(SERVER_ROOT).get('gates') as { gate: string; met: boolean }[];
          return gates.filter((g) => g.gate === 'requiredField').every((g) => g.met);
        },
        3000,
        'gates to update',
      );
      // A command updates every open form live.
      for (const name of ['林总', '马工']) await t.as('rep').post(`/customers/${ids.customerId}/contacts`, { name });
      t.server.services.notifyCustomer('t1', ids.customerId);
      const moved = await t.as('rep').post(`/opportunities/${ids.opportunityId}/complete-stage`);
      expect(moved.status).toBe(200);
      await waitFor(
        () =>
          a.doc.getMap(SERVER_ROOT).get('stageId') === 'needs' && b.doc.getMap(SERVER_ROOT).get('stageId') === 'needs',
        2000,
        'the move to reach the forms',
      );
      expect([...a.doc.getMap(FORM_ROOT).keys()]).toEqual(['stage.needsSummary']);
    });

    it('a command sees a value typed while the form doc was busy', async () => {
      // A customer of its own, with no contacts: the move is refused for the contacts alone.
      const customerId = (await t.as('admin', ['admin']).post('/customers', { name: '鞍钢', fields: {} })).body.id;
      const id = (
        await t.as('rep').post('/opportunities', { name: 'O-busy', customerId, amount: 1, processId: ids.processId })
      ).body.id;
      const a = await connect(opportunityDocName(id), 'rep', ['sales']);
      await waitFor(() => a.doc.getMap(SERVER_ROOT).get('stageId') === 'visit', 2000, 'server state in the doc');
      // A REST save refreshes the doc, and that refresh hangs on its store…
      const store = t.server.services.store;
      const append = store.append.bind(store);
      let release = () => {};
      const held = new Promise<void>((r) => (release = r));
      let calls = 0;
      store.append = (...args: Parameters<typeof append>) =>
        calls++ === 0 ? held.then(() => append(...args)) : append(...args);
      try {
        expect((await t.as('rep').put(`/opportunities/${id}/stage-form`, { values: { industry: 'it' } })).status).toBe(
          200,
        );
        await waitFor(() => calls > 0, 2000, 'the held refresh');
        // … while the salesperson types the required notes and submits at once.
        a.doc.getMap(FORM_ROOT).set('stage.visitNotes', '见了林总');
        await new Promise((r) => setTimeout(r, 50)); // the keystroke has reached the server and waits on the doc
        const command = t.as('rep').post(`/opportunities/${id}/complete-stage`);
        setTimeout(release, 50);
        const refused = await command;
        // Refused for the contacts only: the notes were saved before the gates were read.
        expect(refused.status).toBe(422);
        expect(JSON.stringify(refused.body.error.details)).toContain('minContacts');
        expect(JSON.stringify(refused.body.error.details)).not.toContain('requiredField');
      } finally {
        release();
        store.append = append;
      }
    });

    it('drops writes from read-only connections, with a notice, while awareness still flows', async () => {
      const oroom = opportunityDocName(ids.opportunityId);
      const writer = await connect(oroom, 'rep', ['sales']);
      const reader = await connect(oroom, 'ana', ['analyst']);
      reader.doc.getMap(FORM_ROOT).set('stage.needsSummary', 'sneaky');
      await waitFor(() => reader.notices.some((n) => n.code === 'FORBIDDEN'), 2000, 'the read-only notice');
      await new Promise((r) => setTimeout(r, 100));
      expect(writer.doc.getMap(FORM_ROOT).get('stage.needsSummary')).not.toBe('sneaky');
      reader.provider.awareness.setLocalStateField('user', { name: '周分析' });
      await waitFor(
        () => [...writer.provider.awareness.getStates().values()].some((s) => s.user?.name === '周分析'),
        2000,
        'awareness from the reader',
      );
    });

    it('makes a connection read-only when its user may still read but no longer write (post-sale staff removed)', async () => {
      const admin = t.as('admin', ['admin']);
      // One pre-sale stage with no gates, won at once: the opportunity is in its post-sale phase.
      const definition = {
        ...seedProcessDefinition,
        presale: [{ id: 'visit', name: '初次拜访', winRate: 10 }],
        postsale: [
          {
            id: 'install',
            name: '上门安装',
            fields: [
              {
                source: 'stage',
                key: 'installNotes',
                required: false,
                label: { zh: '安装记录', en: 'Install notes' },
                type: 'textarea',
              },
            ],
          },
        ],
        rules: { orderRequiredToWin: false, orderAllowedAfterStage: null, allowSkipStages: false, allowMoveBack: true },
      };
      const processId = (await admin.post('/processes', { name: '快速流程', departments: [], definition })).body.id;
      const id = (
        await t.as('rep').post('/opportunities', { name: 'Q', customerId: ids.customerId, amount: 1, processId })
      ).body.id;
      expect((await t.as('rep').post(`/opportunities/${id}/win`)).status).toBe(200);
      expect((await t.as('rep').put(`/opportunities/${id}/post-sale-staff`, { userIds: ['ana'] })).status).toBe(200);
      const oroom = opportunityDocName(id);
      const owner = await connect(oroom, 'rep', ['sales']);
      // Post-sale staff who is an analyst too: after the removal they still read.
      const staff = await connect(oroom, 'ana', ['postsale', 'analyst']);
      const form = (c: Client) => c.doc.getMap(FORM_ROOT);
      const stored = async () => (await t.as('rep').get(`/opportunities/${id}`)).body.stageValues.install?.installNotes;
      form(staff).set('stage.installNotes', '已安装');
      await waitFor(async () => (await stored()) === '已安装', 2000, "the staff member's write to be stored");
      expect(form(owner).get('stage.installNotes')).toBe('已安装');

      expect((await t.as('rep').put(`/opportunities/${id}/post-sale-staff`, { userIds: [] })).status).toBe(200);
      await waitFor(
        () => JSON.stringify(staff.doc.getMap(SERVER_ROOT).get('postsaleStaff')) === '[]',
        2000,
        'the refresh',
      );
      form(staff).set('stage.installNotes', '偷改');
      await waitFor(() => staff.notices.some((n) => n.code === 'FORBIDDEN'), 2000, 'the read-only notice');
      await new Promise((r) => setTimeout(r, 200));
      expect(form(owner).get('stage.installNotes')).toBe('已安装');
      expect(await stored()).toBe('已安装');
      expect(staff.provider.wsconnected).toBe(true); // read-only, not closed: an analyst still reads
    });

    it('coalesces awareness: a room of 25 moving cursors does not flood each client', async () => {
      // 25 people (one user's connections share a budget: 25 tabs of one user moving at once would be shed).
      const people = await Promise.all(Array.from({ length: 25 }, (_, i) => connect(room(), `admin${i}`, ['admin'])));
      // A raw observer counts the awareness frames it is sent.
      const token = await t.token('admin', ['admin']);
      const raw = new WebSocket(`${base}/${room()}?token=${token}`);
      let awarenessFrames = 0;
      raw.on('message', (data: Buffer) => {
        if (data[0] === 1) awarenessFrames++;
      });
      await new Promise((r) => raw.once('open', r));
      await new Promise((r) => setTimeout(r, 200));
      awarenessFrames = 0;
      // Everyone moves 8 times in quick succession: 200 changes.
      for (let step = 0; step < 8; step++)
        people.forEach((p, i) => p.provider.awareness.setLocalStateField('stage', `s${i}-${step}`));
      await waitFor(
        () =>
          people.every((p) =>
            [...people[0]!.provider.awareness.getStates().values()].some(
              (st) => st.stage === `s${people.indexOf(p)}-7`,
            ),
          ),
        3000,
        'every last position to arrive',
      );
      await new Promise((r) => setTimeout(r, 150));
      expect(awarenessFrames).toBeGreaterThan(0);
      expect(awarenessFrames).toBeLessThan(20); // one per 50 ms window, not 200
      raw.close();
      people.forEach((p) => p.close());
    });

    it('closes a connection that sends a malformed frame and keeps serving the others', async () => {
      const good = await connect(room());
      const token = await t.token('admin', ['admin']);
      const bad = new WebSocket(`${base}/${room()}?token=${token}`);
      await new Promise((r) => bad.once('open', r));
      const closed = new Promise<number>((r) => bad.once('close', (code) => r(code)));
      bad.send(Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]));
      expect(await closed).toBe(4400);
      const other = await connect(room());
      setStageValue(good.doc, 'presale', 'visit', 'name', '初访');
      await waitFor(() => draftOf(other).definition.presale[0]!.name === '初访', 2000, 'service to go on');
    });

    it('while a doc is busy, queues keystrokes in order, and closes a connection that piles up too much', async () => {
      const busy = await startTestServer(await kind.open(), { sync: { maxQueuedBytes: 64 * 1024 } });
      let release = () => {};
      try {
        const { port } = await busy.server.listen(0, '127.0.0.1');
        const mine = await company(busy);
        const name = processDraftDocName(mine.processId);
        const token = await busy.token('admin', ['admin']);
        const open = async () => {
          const doc = new Y.Doc();
          const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/sync`, name, doc, {
            WebSocketPolyfill: WebSocket as never,
            disableBc: true,
            params: { token },
          });
          await waitFor(() => provider.synced, 5000, 'sync');
          return { doc, provider };
        };
        const writer = await open();
        const reader = await open();
        // A REST edit holds the doc while its append hangs.
        const store = busy.server.services.store;
        const append = store.append.bind(store);
        const held = new Promise<void>((r) => (release = r));
        let calls = 0;
        store.append = (...args: Parameters<typeof append>) =>
          calls++ === 0 ? held.then(() => append(...args)) : append(...args);
        const draft = (await busy.as('admin', ['admin']).get(`/processes/${mine.processId}/draft`)).body.draft;
        draft.name = '改名';
        const put = busy.as('admin', ['admin']).put(`/processes/${mine.processId}/draft`, draft);
        await waitFor(() => calls > 0, 2000, 'the held append');
        // Keystrokes meanwhile wait behind the edit, in order.
        for (const text of ['一', '一二', '一二三'])
          setStageValue(writer.doc, 'presale', 'visit', 'requirements', text);
        // A connection that sends more than the cap while the doc is held is closed.
        const flood = new WebSocket(`ws://127.0.0.1:${port}/sync/${name}?token=${token}`);
        await new Promise((r) => flood.once('open', r));
        const closed = new Promise<number | string>((r) => {
          flood.once('close', (code) => r(code));
          setTimeout(() => r('still open'), 5000);
        });
        for (let i = 0; i < 10; i++) {
          const d = new Y.Doc();
          d.getMap(DRAFT_ROOT).set('junk', 'x'.repeat(10_000));
          const update = Y.encodeStateAsUpdate(d);
          flood.send(
            Buffer.concat([Buffer.from([0, 2]), Buffer.from(encodeVarUint(update.length)), Buffer.from(update)]),
          );
        }
        expect(await closed).toBe(1009);
        const requirements = () => (readDraft(reader.doc) as ProcessDraft).definition.presale[0]!.requirements;
        expect(requirements()).not.toMatch(/一/);
        release();
        expect((await put).status).toBe(200);
        await waitFor(
          () => requirements() === '一二三' && (readDraft(reader.doc) as ProcessDraft).name === '改名',
          2000,
          'the held work, then the keystrokes',
        );
        writer.provider.destroy();
        reader.provider.destroy();
      } finally {
        release();
        await busy.close();
      }
    });
  });
}

// At the server's default timings (a 300 ms form flush): shorter ones would hide a value
// lost between a keystroke and whatever happens next.
for (const kind of testDatabases()) {
  describe(`form values at default timings on ${kind.name}`, () => {
    let t: TestServer;
    let ids: Awaited<ReturnType<typeof company>>;
    let provider: WebsocketProvider | undefined;
    let port = 0;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      port = (await t.server.listen(0, '127.0.0.1')).port;
      ids = await company(t);
    });
    afterAll(async () => {
      provider?.destroy();
      await t.close();
    });

    it('saves a value typed just before a contact is added (the refresh must not count it as saved)', async () => {
      const doc = new Y.Doc();
      provider = new WebsocketProvider(`ws://127.0.0.1:${port}/sync`, opportunityDocName(ids.opportunityId), doc, {
        WebSocketPolyfill: WebSocket as never,
        disableBc: true,
        params: { token: await t.token('rep', ['sales']) },
      });
      await waitFor(() => doc.getMap(SERVER_ROOT).get('stageId') === 'visit', 5000, 'server state in the doc');
      doc.getMap(FORM_ROOT).set('stage.visitNotes', '见了林总');
      await new Promise((r) => setTimeout(r, 30)); // on the server, inside its flush delay
      expect((await t.as('rep').post(`/customers/${ids.customerId}/contacts`, { name: '林总' })).status).toBe(201);
      await waitFor(
        async () =>
          (await t.as('rep').get(`/opportunities/${ids.opportunityId}`)).body.stageValues.visit?.visitNotes ===
          '见了林总',
        10_000,
        'the value in the database',
      );
    });
  });
}

function encodeVarUint(n: number): number[] {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}

async function storedRows(t: TestServer, doc: string): Promise<Uint8Array[]> {
  const { docUpdates, docSnapshots } = await import('../db/schema.js');
  const { eq } = await import('drizzle-orm');
  const db = t.server.services.ctx.database.db;
  const rows = await db.select({ u: docUpdates.update }).from(docUpdates).where(eq(docUpdates.doc, doc));
  const snaps = await db.select({ s: docSnapshots.state }).from(docSnapshots).where(eq(docSnapshots.doc, doc));
  return [...rows.map((r) => r.u), ...snaps.map((s) => s.s)];
}

async function storedBytes(t: TestServer, doc: string): Promise<number> {
  return (await storedRows(t, doc)).reduce((a, b) => a + b.length, 0);
}

/** Does any stored update carry content matching `test` (deleted content included)? */
async function storedContains(t: TestServer, doc: string, test: (v: unknown) => boolean): Promise<boolean> {
  for (const bytes of await storedRows(t, doc)) {
    for (const struct of Y.decodeUpdate(bytes).structs) {
      const content = (struct as { content?: { arr?: unknown[]; str?: string } }).content;
      if (content?.arr?.some(test) || (content?.str !== undefined && test(content.str))) return true;
    }
  }
  return false;
}
