import { processDefinitionSchema } from '@sales-process/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, type Requester, type TestServer } from '../testing/harness.js';

/** What GET /audit answers per entry. */
interface Entry {
  id: string;
  at: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  diff: Record<string, any>;
}

const definition = processDefinitionSchema.parse({
  presale: [
    { id: 'a', name: 'A', winRate: 10 },
    { id: 'b', name: 'B', winRate: 50 },
    { id: 'c', name: 'C', winRate: 80 },
  ],
  postsale: [{ id: 'p', name: 'Install' }],
});

/**
 * One story per database: each admin change records one entry (actor, time, diff) in its
 * transaction; refused changes and changes that change nothing record none.
 */
for (const kind of testDatabases()) {
  describe(`recording admin changes on ${kind.name}`, () => {
    let t: TestServer;
    let admin: Requester;
    /** Entries recorded since the last call, oldest first. */
    let seen = 0;
    const recorded = async (): Promise<Entry[]> => {
      const all: Entry[] = [];
      let cursor: string | null = null;
      do {
        const page = (await admin.get(`/audit${cursor ? `?cursor=${cursor}` : ''}`)).body as {
          items: Entry[];
          nextCursor: string | null;
        };
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      const fresh = all.slice(0, all.length - seen).reverse();
      seen = all.length;
      return fresh;
    };
    const one = async (action: string) => {
      const fresh = await recorded();
      expect(fresh.map((e) => e.action)).toEqual([action]);
      const e = fresh[0]!;
      expect(e.actorId).toBe('admin');
      expect(e.actorName).toBe('Admin');
      expect(Math.abs(Date.parse(e.at) - t.clock.now().getTime())).toBeLessThan(60_000);
      return e;
    };

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      admin = t.as('admin', ['admin']);
    });
    afterAll(() => t?.close());

    it('directory.sync: counts added and changed; a sync that changes nothing records nothing', async () => {
      const users = [
        { id: 'admin', name: 'Admin', departmentId: 'hq' },
        { id: 'rep', name: 'Rep', departmentId: 'hq', managerId: 'admin' },
      ];
      expect((await admin.post('/directory/sync', { departments: [{ id: 'hq', name: 'HQ' }], users })).status).toBe(
        200,
      );
      const first = (await recorded())[0]!;
      expect(first).toMatchObject({ action: 'directory.sync', targetType: 'directory', actorId: 'admin' });
      expect(first.diff).toEqual({
        departments: { added: 1, changed: 0, removed: 0 },
        users: { added: 2, changed: 0, removed: 0 },
      });
      await admin.post('/directory/sync', { departments: [{ id: 'hq', name: 'HQ' }], users });
      expect(await recorded()).toEqual([]);
      await admin.post('/directory/sync', {
        departments: [],
        users: [
          { id: 'rep', name: 'Rep Li', departmentId: 'hq', managerId: 'admin' },
          { id: 'rep2', name: 'Rep 2', departmentId: 'hq', roles: ['sales'] },
        ],
      });
      expect((await one('directory.sync')).diff).toEqual({
        departments: { added: 0, changed: 0, removed: 0 },
        users: { added: 1, changed: 1, removed: 0 },
      });
      // A bad tree is refused before anything is written: nothing recorded.
      const bad = await admin.post('/directory/sync', {
        departments: [{ id: 'x', name: 'X', parentId: 'nope' }],
        users: [],
      });
      expect(bad.status).toBe(400);
      expect(await recorded()).toEqual([]);
    });

    let processId: string;
    it('process.create, process.publish (versions compared, moved and remapped opportunities), refusals record nothing', async () => {
      const created = await admin.post('/processes', { name: 'Key accounts', departments: ['hq'], definition });
      expect(created.status).toBe(201);
      processId = created.body.id;
      const create = await one('process.create');
      expect(create).toMatchObject({ targetType: 'process', targetId: processId });
      expect(create.diff).toEqual({
        name: [null, 'Key accounts'],
        departments: [null, ['hq']],
        status: [null, 'enabled'],
        version: [null, 1],
        presale: [null, ['A', 'B', 'C']],
        postsale: [null, ['Install']],
      });

      // Two live opportunities: one in A, one in C (which the draft removes).
      const rep = t.as('rep');
      const customerId = (await rep.post('/customers', { name: 'ACME', fields: {} })).body.id;
      const opp = async (name: string) =>
        (await rep.post('/opportunities', { name, customerId, amount: 100, processId })).body.id as string;
      await opp('stays in A');
      const moving = await opp('in C');
      for (const expectedStageId of ['a', 'b'])
        expect((await rep.post(`/opportunities/${moving}/complete-stage`, { expectedStageId })).status).toBe(200);

      // The draft over REST: not in force, not recorded.
      const draft = (await admin.get(`/processes/${processId}/draft`)).body.draft;
      draft.name = 'Key accounts 2027';
      draft.definition.presale = [
        { ...draft.definition.presale[1], name: 'Needs' },
        { ...draft.definition.presale[0], winRate: 60 },
        {
          id: 'd',
          name: 'Deal',
          winRate: 90,
          requirements: '',
          remindAfterDays: null,
          requiresApproval: false,
          fields: [],
          minContacts: 0,
        },
      ];
      draft.definition.rules.allowSkipStages = true;
      draft.definition.terminal.lost.name = 'Lost deal';
      draft.definition.postsaleTeam = { userIds: ['rep'], departments: [] };
      expect((await admin.put(`/processes/${processId}/draft`, draft)).status).toBe(200);
      expect(await recorded()).toEqual([]);

      // Refused: C holds an opportunity and has no target.
      const refused = await admin.post(`/processes/${processId}/publish`, { mode: 'update-existing' });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('PUBLISH_MAPPING_REQUIRED');
      expect(await recorded()).toEqual([]);

      const published = await admin.post(`/processes/${processId}/publish`, {
        mode: 'update-existing',
        stageMapping: { c: 'd' },
      });
      expect(published.status).toBe(200);
      const publish = await one('process.publish');
      expect(publish).toMatchObject({ targetType: 'process', targetId: processId });
      expect(publish.diff).toEqual({
        version: [1, 2],
        moved: 2,
        remapped: 1,
        stageMapping: { c: 'd' },
        name: ['Key accounts', 'Key accounts 2027'],
        postsaleTeam: [
          { userIds: [], departments: [] },
          { userIds: ['rep'], departments: [] },
        ],
        stages: [
          { kind: 'removed', phase: 'presale', stageId: 'c', name: 'C' },
          { kind: 'added', phase: 'presale', stageId: 'd', name: 'Deal' },
          { kind: 'renamed', phase: 'presale', stageId: 'b', from: 'B', to: 'Needs' },
          { kind: 'changed', phase: 'presale', stageId: 'a', name: 'A', keys: ['winRate'] },
          { kind: 'reordered', phase: 'presale', names: ['Needs', 'A'] },
        ],
        rules: { allowSkipStages: [false, true] },
        terminal: {
          lost: [
            { name: '输单', winRate: 0 },
            { name: 'Lost deal', winRate: 0 },
          ],
        },
      });
    });

    it('process.disable and process.enable; a status that does not change records nothing', async () => {
      await admin.post(`/processes/${processId}/disable`);
      expect((await one('process.disable')).diff).toEqual({ status: ['enabled', 'disabled'] });
      await admin.post(`/processes/${processId}/disable`);
      expect(await recorded()).toEqual([]);
      await admin.post(`/processes/${processId}/enable`);
      expect((await one('process.enable')).diff).toEqual({ status: ['disabled', 'enabled'] });
    });

    it('a process designed from scratch: created as a draft, refused enable and delete record nothing, then tenant.settings and process.delete', async () => {
      const draftOnly = (await admin.post('/processes', { name: 'Scratch', asDraft: true })).body.id as string;
      expect((await one('process.create')).diff).toEqual({
        name: [null, 'Scratch'],
        departments: [null, []],
        status: [null, 'disabled'],
        version: [null, 0],
      });
      expect((await admin.post(`/processes/${draftOnly}/enable`)).status).toBe(409);
      // Deleting needs an enabled process by default.
      expect((await admin.delete(`/processes/${draftOnly}`)).status).toBe(409);
      expect(await recorded()).toEqual([]);

      await admin.put('/settings', { deleteRequiresStatus: 'any' });
      expect(await one('tenant.settings')).toMatchObject({
        targetType: 'tenant',
        targetId: 't1',
        diff: { deleteRequiresStatus: ['enabled', 'any'] },
      });
      await admin.put('/settings', { deleteRequiresStatus: 'any' });
      expect(await recorded()).toEqual([]);

      expect((await admin.delete(`/processes/${draftOnly}`)).status).toBe(204);
      expect((await one('process.delete')).diff).toEqual({
        name: ['Scratch', null],
        departments: [[], null],
        status: ['disabled', null],
        version: [0, null],
      });
      // In use: refused, nothing recorded.
      expect((await admin.delete(`/processes/${processId}`)).status).toBe(409);
      expect(await recorded()).toEqual([]);
    });

    it('publishing as a new process: process.create on the new one, process.publish on the old', async () => {
      const res = await admin.post(`/processes/${processId}/publish`, { mode: 'new-process', disableOld: true });
      expect(res.status).toBe(200);
      const fresh = await recorded();
      expect(fresh.map((e) => [e.action, e.targetId])).toEqual([
        ['process.create', res.body.processId],
        ['process.publish', processId],
      ]);
      expect(fresh[0]!.diff).toMatchObject({ derivedFrom: [null, processId], version: [null, 1] });
      expect(fresh[1]!.diff).toEqual({
        mode: 'new-process',
        processId: res.body.processId,
        status: ['enabled', 'disabled'],
      });
    });

    it('webhook.update: the URL shown, the secret only as changed, never its value', async () => {
      await admin.put('/webhook', { url: 'https://hooks.example.com/a', secret: 'first-secret' });
      expect((await one('webhook.update')).diff).toEqual({
        url: [null, 'https://hooks.example.com/a'],
        secret: ['…', '…'],
      });
      await admin.put('/webhook', { url: 'https://hooks.example.com/a', secret: 'second-secret' });
      expect((await one('webhook.update')).diff).toEqual({ secret: ['…', '…'] });
      await admin.put('/webhook', { url: 'https://hooks.example.com/a', secret: 'second-secret' });
      expect(await recorded()).toEqual([]);
      expect((await admin.put('/webhook', { url: 'http://127.0.0.1/x', secret: 'third-secret' })).status).toBe(400);
      expect(await recorded()).toEqual([]);
      await admin.delete('/webhook');
      expect((await one('webhook.update')).diff).toEqual({
        url: ['https://hooks.example.com/a', null],
        secret: ['…', '…'],
      });
      const everything = JSON.stringify((await admin.get('/audit')).body);
      expect(everything).not.toContain('first-secret');
      expect(everything).not.toContain('second-secret');
    });

    it("lists one process's trail newest first, for admins only", async () => {
      const trail = (await admin.get(`/audit?targetType=process&targetId=${processId}`)).body as { items: Entry[] };
      expect(trail.items.map((e) => e.action)).toEqual([
        'process.publish',
        'process.enable',
        'process.disable',
        'process.publish',
        'process.create',
      ]);
      expect(trail.items.every((e) => e.targetId === processId)).toBe(true);
      for (const roles of [['sales'], ['analyst'], ['sales', 'manager']])
        expect((await t.as('rep', roles).get(`/audit?targetType=process&targetId=${processId}`)).status).toBe(403);
    });
  });
}
