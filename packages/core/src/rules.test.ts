import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { strictBody, wholeDraftSchema } from './api-schemas.js';
import {
  normalizeDraft,
  parseDraft,
  processDefinitionSchema,
  processDraftSchema,
  type ProcessDefinition,
  type ProcessDraft,
} from './definition.js';
import {
  afterWin,
  availableActions,
  conditionsHold,
  decide,
  evaluateGates,
  gateDetail,
  initialState,
  orderStageReached,
  postsaleTeamFor,
  winRateOf,
  type OpportunityState,
} from './rules.js';
import { seedProcessDefinition as seed } from './seed-process.js';
import { readDraft, setRule, writeDraft } from './ydraft.js';

/** An opportunity of the seed process in a stage, with everything it needs unless overridden. */
function at(stageId: string, over: Partial<OpportunityState> = {}): OpportunityState {
  return {
    status: 'open',
    phase: seed.presale.some((s) => s.id === stageId) ? 'presale' : 'postsale',
    stageId,
    contactCount: 2,
    contactRoles: [],
    orderCount: 0,
    approval: null,
    values: { customer: { industry: 'it' }, opportunity: { expectedCloseDate: '2027-01-31', amount: 1000 }, stage: {} },
    ...over,
  };
}

const filled = (stage: Record<string, unknown>, over: Partial<OpportunityState> = {}) => ({
  ...over,
  values: { customer: { industry: 'it' }, opportunity: { expectedCloseDate: '2027-01-31' }, stage },
});

describe('gates', () => {
  it('lists every gate of 初次拜访 with whether it is met', () => {
    const gates = evaluateGates(
      seed,
      at('visit', { contactCount: 1, values: { customer: {}, opportunity: {}, stage: { visitNotes: '  ' } } }),
    );
    expect(gates).toEqual([
      { gate: 'requiredField', source: 'customer', key: 'industry', met: false },
      { gate: 'requiredField', source: 'stage', key: 'visitNotes', met: false },
      { gate: 'minContacts', have: 1, need: 2, met: false },
    ]);
  });

  it('counts an optional field as no gate and a filled one as met', () => {
    const gates = evaluateGates(seed, at('visit', filled({ visitNotes: '见了林总' })));
    expect(gates.every((g) => g.met)).toBe(true);
    expect(gates.some((g) => g.gate === 'requiredField' && g.key === 'amount')).toBe(false);
  });

  it('has an approval gate on 方案设计 that reflects the approval state', () => {
    expect(evaluateGates(seed, at('solution')).find((g) => g.gate === 'approval')).toEqual({
      gate: 'approval',
      state: 'notRequested',
      met: false,
    });
    expect(
      evaluateGates(seed, at('solution', { approval: { state: 'approved', action: 'complete' } })).find(
        (g) => g.gate === 'approval',
      )?.met,
    ).toBe(true);
  });
});

describe('complete stage', () => {
  it('refuses with every unmet gate listed (fields and contacts), in words', () => {
    const o = decide(seed, at('visit', { contactCount: 0, values: { customer: {}, opportunity: {}, stage: {} } }), {
      type: 'completeStage',
    });
    expect(o.ok).toBe(false);
    if (o.ok) return;
    expect(o.code).toBe('STAGE_GATES_UNMET');
    expect(o.details.map((d) => [d.gate, d.key ?? d.need])).toEqual([
      ['requiredField', 'industry'],
      ['requiredField', 'visitNotes'],
      ['minContacts', 2],
    ]);
    expect(o.details[1]!.message.zh).toContain('拜访记录');
    expect(o.details[2]!.message.en).toContain('at least 2 contacts');
  });

  it('refuses when only the contacts are short, with have/need', () => {
    const o = decide(seed, at('visit', filled({ visitNotes: 'x' }, { contactCount: 1 })), { type: 'completeStage' });
    expect(o).toMatchObject({
      ok: false,
      code: 'STAGE_GATES_UNMET',
      details: [{ gate: 'minContacts', have: 1, need: 2 }],
    });
  });

  it('refuses while a required contact role is missing, naming the role by its label', () => {
    const def: ProcessDefinition = {
      ...seed,
      presale: seed.presale.map((s) =>
        s.id === 'visit' ? { ...s, requiredContactRoles: ['direct', 'decisionMaker'] } : s,
      ),
    };
    const state = at('visit', filled({ visitNotes: 'x' }, { contactCount: 2, contactRoles: ['direct'] }));
    expect(evaluateGates(def, state).filter((g) => g.gate === 'contactRole')).toEqual([
      { gate: 'contactRole', role: 'direct', met: true },
      { gate: 'contactRole', role: 'decisionMaker', met: false },
    ]);
    expect(decide(def, state, { type: 'completeStage' })).toMatchObject({
      ok: false,
      code: 'STAGE_GATES_UNMET',
      details: [{ gate: 'contactRole', role: 'decisionMaker' }],
    });
    const label = { zh: '关键决策人', en: 'Decision maker' };
    const gate = { gate: 'contactRole', role: 'decisionMaker', met: false } as const;
    expect(gateDetail(gate, def, 'visit', (source) => (source === 'contactRole' ? label : undefined)).message).toEqual({
      zh: '客户还没有“关键决策人”角色的联系人',
      en: 'The customer has no contact with the role "Decision maker"',
    });
    expect(
      decide(def, { ...state, contactRoles: ['decisionMaker', 'direct'] }, { type: 'completeStage' }),
    ).toMatchObject({ ok: true, kind: 'moved' });
  });

  it('moves to the next stage when the gates pass', () => {
    const o = decide(seed, at('visit', filled({ visitNotes: 'x' }, { contactCount: 2 })), { type: 'completeStage' });
    expect(o).toEqual({
      ok: true,
      kind: 'moved',
      action: 'complete',
      next: { status: 'open', phase: 'presale', stageId: 'needs' },
    });
  });

  it('requests approval where the stage needs it, once the other gates pass', () => {
    const ready = filled({ designDoc: 'd', customerFeedback: 'f' });
    expect(decide(seed, at('solution', ready), { type: 'completeStage' })).toEqual({
      ok: true,
      kind: 'approvalRequested',
      action: 'complete',
    });
    // A pending one is not requested twice.
    expect(
      decide(seed, at('solution', { ...ready, approval: { state: 'pending', action: 'complete' } }), {
        type: 'completeStage',
      }),
    ).toMatchObject({ ok: false, code: 'APPROVAL_PENDING' });
    // Rejected: ask again.
    expect(
      decide(seed, at('solution', { ...ready, approval: { state: 'rejected', action: 'complete' } }), {
        type: 'completeStage',
      }),
    ).toMatchObject({ ok: true, kind: 'approvalRequested' });
    // Approved: moves.
    expect(
      decide(seed, at('solution', { ...ready, approval: { state: 'approved', action: 'complete' } }), {
        type: 'completeStage',
      }),
    ).toMatchObject({ ok: true, kind: 'moved', next: { stageId: 'quote' } });
  });

  it('lists the approval among the unmet gates when fields are missing too', () => {
    const o = decide(seed, at('solution', filled({ designDoc: 'd' })), { type: 'completeStage' });
    expect(o).toMatchObject({ ok: false, code: 'STAGE_GATES_UNMET' });
    if (!o.ok) expect(o.details.map((d) => d.gate)).toEqual(['requiredField', 'approval']);
  });

  it('does not complete the last pre-sale stage (win, lose or invalidate instead)', () => {
    expect(decide(seed, at('quote'), { type: 'completeStage' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
  });

  it('refuses skipping unless the process allows it, and then checks the current gates', () => {
    const ready = at('visit', filled({ visitNotes: 'x' }));
    expect(decide(seed, ready, { type: 'completeStage', toStageId: 'solution' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
    const loose: ProcessDefinition = { ...seed, rules: { ...seed.rules, allowSkipStages: true } };
    expect(decide(loose, ready, { type: 'completeStage', toStageId: 'solution' })).toMatchObject({
      ok: true,
      action: 'skip',
      next: { stageId: 'solution' },
    });
    expect(
      decide(loose, at('visit', { contactCount: 0 }), { type: 'completeStage', toStageId: 'solution' }),
    ).toMatchObject({ ok: false, code: 'STAGE_GATES_UNMET' });
    // Backwards or unknown targets are never a skip.
    expect(decide(loose, at('needs'), { type: 'completeStage', toStageId: 'visit' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
    expect(decide(loose, at('needs'), { type: 'completeStage', toStageId: 'nope' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
  });

  it('refuses on a closed opportunity', () => {
    expect(decide(seed, at('needs', { status: 'lost', phase: 'done' }), { type: 'completeStage' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
  });
});

describe('move back', () => {
  it('moves to an earlier stage when allowed', () => {
    expect(decide(seed, at('solution'), { type: 'moveBack', stageId: 'visit' })).toEqual({
      ok: true,
      kind: 'moved',
      action: 'move-back',
      next: { status: 'open', phase: 'presale', stageId: 'visit' },
    });
  });
  it('refuses forward, same, unknown and cross-phase targets', () => {
    for (const stageId of ['quote', 'solution', 'nope', 'install'])
      expect(decide(seed, at('solution'), { type: 'moveBack', stageId })).toMatchObject({
        ok: false,
        code: 'INVALID_TRANSITION',
      });
  });
  it('refuses when the process forbids it', () => {
    const strict: ProcessDefinition = { ...seed, rules: { ...seed.rules, allowMoveBack: false } };
    expect(decide(strict, at('solution'), { type: 'moveBack', stageId: 'visit' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
  });
  it('works among post-sale stages', () => {
    expect(decide(seed, at('training', { status: 'won' }), { type: 'moveBack', stageId: 'install' })).toMatchObject({
      ok: true,
      next: { phase: 'postsale', stageId: 'install', status: 'won' },
    });
  });
});

describe('win', () => {
  const ready = () => at('quote', { orderCount: 1 });
  it('wins from the last stage into the first post-sale stage', () => {
    expect(decide(seed, ready(), { type: 'win' })).toEqual({
      ok: true,
      kind: 'moved',
      action: 'win',
      next: { status: 'won', phase: 'postsale', stageId: 'install' },
    });
  });
  it('without post-sale stages, a won opportunity is done', () => {
    const noPost: ProcessDefinition = { ...seed, postsale: [] };
    expect(afterWin(noPost)).toEqual({ status: 'won', phase: 'done', stageId: null });
  });
  it('refuses without an order when the rule says so', () => {
    const o = decide(seed, at('quote', { orderCount: 0 }), { type: 'win' });
    expect(o).toMatchObject({
      ok: false,
      code: 'ORDER_REQUIRED',
      details: [{ rule: 'orderRequiredToWin', orders: 0 }],
    });
  });
  it("refuses while the last stage's gates are unmet", () => {
    const o = decide(seed, at('quote', { orderCount: 1, values: { customer: {}, opportunity: {}, stage: {} } }), {
      type: 'win',
    });
    expect(o).toMatchObject({
      ok: false,
      code: 'STAGE_GATES_UNMET',
      details: [{ gate: 'requiredField', key: 'expectedCloseDate' }],
    });
  });
  it('refuses before the last stage unless skipping is allowed', () => {
    expect(decide(seed, at('needs', { orderCount: 1 }), { type: 'win' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
  });
  it('asks for approval when the last stage needs it', () => {
    const def = processDefinitionSchema.parse({
      ...seed,
      presale: seed.presale.map((s) => (s.id === 'quote' ? { ...s, requiresApproval: true } : s)),
    });
    expect(decide(def, ready(), { type: 'win' })).toEqual({ ok: true, kind: 'approvalRequested', action: 'win' });
    expect(decide(def, { ...ready(), approval: { state: 'approved', action: 'win' } }, { type: 'win' })).toMatchObject({
      ok: true,
      kind: 'moved',
    });
  });
  it('refuses on a won or lost one', () => {
    expect(decide(seed, at('install', { status: 'won' }), { type: 'win' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
  });
});

describe('lose and invalidate', () => {
  it('loses from any open pre-sale stage, keeping the stage it was lost at', () => {
    expect(decide(seed, at('needs'), { type: 'lose', reason: 'price', reasonRequired: true })).toEqual({
      ok: true,
      kind: 'moved',
      action: 'lose',
      next: { status: 'lost', phase: 'done', stageId: 'needs' },
    });
  });
  it('asks for the reason when the field definition requires it', () => {
    expect(decide(seed, at('needs'), { type: 'lose', reason: '', reasonRequired: true })).toMatchObject({
      ok: false,
      code: 'VALIDATION_FAILED',
    });
    expect(decide(seed, at('needs'), { type: 'lose', reasonRequired: false })).toMatchObject({ ok: true });
  });
  it('invalidates from any open pre-sale stage', () => {
    expect(decide(seed, at('visit'), { type: 'invalidate' })).toMatchObject({
      ok: true,
      next: { status: 'invalid', phase: 'done' },
    });
  });
  it('refuses both in post-sale and when closed', () => {
    expect(decide(seed, at('install', { status: 'won' }), { type: 'lose', reason: 'x' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
    expect(decide(seed, at('visit', { status: 'invalid', phase: 'done' }), { type: 'invalidate' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
  });
});

describe('orders', () => {
  it('are refused before the configured stage is completed', () => {
    for (const s of ['visit', 'needs', 'solution'])
      expect(decide(seed, at(s), { type: 'createOrder' })).toMatchObject({
        ok: false,
        code: 'ORDER_STAGE_NOT_REACHED',
        details: [{ stageId: 'solution' }],
      });
  });
  it('are allowed after it, and once won', () => {
    expect(decide(seed, at('quote'), { type: 'createOrder' })).toEqual({ ok: true, kind: 'allowed' });
    expect(orderStageReached(seed, { status: 'won', stageId: 'install' })).toBe(true);
  });
  it('are allowed anywhere when no stage is configured', () => {
    const free: ProcessDefinition = { ...seed, rules: { ...seed.rules, orderAllowedAfterStage: null } };
    expect(decide(free, at('visit'), { type: 'createOrder' })).toMatchObject({ ok: true });
  });
  it('are refused on lost or invalid opportunities', () => {
    expect(decide(seed, at('quote', { status: 'lost', phase: 'done' }), { type: 'createOrder' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
  });
});

describe('post-sale', () => {
  it('completes in order and the last one makes it done', () => {
    expect(decide(seed, at('install', { status: 'won' }), { type: 'completeStage' })).toMatchObject({
      ok: true,
      next: { phase: 'postsale', stageId: 'training', status: 'won' },
    });
    expect(decide(seed, at('acceptance', { status: 'won' }), { type: 'completeStage' })).toEqual({
      ok: true,
      kind: 'moved',
      action: 'complete',
      next: { status: 'won', phase: 'done', stageId: null },
    });
  });
  it('has no approval gate unless configured, and honours one when it is', () => {
    expect(evaluateGates(seed, at('install', { status: 'won' }))).toEqual([]);
    const def = processDefinitionSchema.parse({
      ...seed,
      postsale: seed.postsale.map((s) => (s.id === 'install' ? { ...s, requiresApproval: true } : s)),
    });
    expect(decide(def, at('install', { status: 'won' }), { type: 'completeStage' })).toMatchObject({
      ok: true,
      kind: 'approvalRequested',
    });
  });
});

describe('approvals', () => {
  it('can be decided only while pending', () => {
    expect(
      decide(seed, at('solution', { approval: { state: 'pending', action: 'complete' } }), { type: 'approve' }),
    ).toEqual({ ok: true, kind: 'allowed' });
    expect(decide(seed, at('solution'), { type: 'reject' })).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' });
  });
});

describe('win rates and offers', () => {
  it("is the stage's, or the terminal state's", () => {
    expect(winRateOf(seed, { status: 'open', stageId: 'solution' })).toBe(50);
    expect(winRateOf(seed, { status: 'won', stageId: 'install' })).toBe(100);
    expect(winRateOf(seed, { status: 'lost', stageId: 'quote' })).toBe(0);
  });
  it('starts in the first pre-sale stage', () => {
    expect(initialState(seed)).toEqual({ status: 'open', phase: 'presale', stageId: 'visit' });
  });
  it('offers the actions the UI should show', () => {
    expect(availableActions(seed, at('quote', { orderCount: 0 }))).toEqual([
      'win',
      'lose',
      'invalidate',
      'createOrder',
      'moveBack',
    ]);
    expect(availableActions(seed, at('visit'))).toEqual(['completeStage', 'lose', 'invalidate']);
  });
});

describe('reopen', () => {
  const lost = () => at('quote', { status: 'lost', phase: 'done' });
  it('brings a lost or invalid one back into a pre-sale stage of its version', () => {
    for (const status of ['lost', 'invalid'] as const)
      expect(decide(seed, at('quote', { status, phase: 'done' }), { type: 'reopen', stageId: 'needs' })).toEqual({
        ok: true,
        kind: 'moved',
        action: 'reopen',
        next: { status: 'open', phase: 'presale', stageId: 'needs' },
      });
    // Into the stage it was closed from, or a later one: how far it got is the server's to keep.
    expect(decide(seed, lost(), { type: 'reopen', stageId: 'quote' })).toMatchObject({ ok: true });
  });
  it('reopens a won one for admins only, out of post-sale', () => {
    const won = at('training', { status: 'won' });
    expect(decide(seed, won, { type: 'reopen', stageId: 'quote' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(decide(seed, won, { type: 'reopen', stageId: 'quote', admin: true })).toEqual({
      ok: true,
      kind: 'moved',
      action: 'reopen',
      next: { status: 'open', phase: 'presale', stageId: 'quote' },
    });
    const done = at('quote', { status: 'won', phase: 'done', stageId: null });
    expect(decide(seed, done, { type: 'reopen', stageId: 'visit', admin: true })).toMatchObject({ ok: true });
  });
  it('refuses an open one, a stage that is not pre-sale, and a process that forbids it', () => {
    expect(decide(seed, at('needs'), { type: 'reopen', stageId: 'visit' })).toMatchObject({
      ok: false,
      code: 'INVALID_TRANSITION',
    });
    for (const stageId of ['install', 'nope'])
      expect(decide(seed, lost(), { type: 'reopen', stageId })).toMatchObject({
        ok: false,
        code: 'INVALID_TRANSITION',
        details: [{ stageId }],
      });
    const strict: ProcessDefinition = { ...seed, rules: { ...seed.rules, allowReopen: false } };
    for (const state of [lost(), at('training', { status: 'won' })])
      expect(decide(strict, state, { type: 'reopen', stageId: 'visit', admin: true })).toMatchObject({
        ok: false,
        code: 'INVALID_TRANSITION',
        details: [{ rule: 'allowReopen' }],
      });
  });
  it('is offered once closed (and to admins post-sale), unless the process forbids it', () => {
    expect(availableActions(seed, lost())).toEqual(['reopen']);
    expect(availableActions(seed, at('training', { status: 'won' }))).toContain('reopen');
    expect(availableActions(seed, at('quote'))).not.toContain('reopen');
    expect(availableActions({ ...seed, rules: { ...seed.rules, allowReopen: false } }, lost())).toEqual([]);
  });
});

describe('the allowReopen rule', () => {
  it('is true in definitions stored before it existed, and kept when set', () => {
    const { allowReopen: _, ...old } = seed.rules;
    expect(processDefinitionSchema.parse({ ...seed, rules: old }).rules.allowReopen).toBe(true);
    expect(processDefinitionSchema.parse({ presale: [{ id: 'a', name: 'A' }] }).rules.allowReopen).toBe(true);
    expect(processDefinitionSchema.parse({ ...seed, rules: { ...old, allowReopen: false } }).rules.allowReopen).toBe(
      false,
    );
  });
  it('round-trips through the co-edited draft, its display and its PUT body', () => {
    const doc = new Y.Doc();
    writeDraft(doc, processDraftSchema.parse({ name: 'P', definition: seed }));
    expect(parseDraft(readDraft(doc))).toMatchObject({
      ok: true,
      draft: { definition: { rules: { allowReopen: true } } },
    });
    setRule(doc, 'allowReopen', false);
    const read = parseDraft(readDraft(doc));
    expect(read).toMatchObject({ ok: true, draft: { definition: { rules: { allowReopen: false } } } });
    expect(normalizeDraft(readDraft(doc)).definition.rules.allowReopen).toBe(false);
    // Written again (what publishing stores), it stays false.
    const again = new Y.Doc();
    writeDraft(again, (read as { draft: ProcessDraft }).draft);
    expect(normalizeDraft(readDraft(again)).definition.rules.allowReopen).toBe(false);
    // The whole-draft PUT takes it, and takes a body written before it (then true).
    const put = strictBody(wholeDraftSchema);
    const body = (read as { draft: ProcessDraft }).draft;
    expect(put.parse(body).definition.rules.allowReopen).toBe(false);
    const { allowReopen: _, ...older } = body.definition.rules;
    expect(put.parse({ ...body, definition: { ...body.definition, rules: older } }).definition.rules.allowReopen).toBe(
      true,
    );
  });
});

describe('applicability and post-sale teams', () => {
  const def = processDefinitionSchema.parse({
    ...seed,
    appliesWhen: [
      { source: 'customer', key: 'customerType', values: ['key'] },
      { source: 'opportunity', key: 'productLines', values: ['hardware', 'network'] },
    ],
    postsaleTeam: { userIds: ['wang'], departments: [] },
    postsale: seed.postsale.map((s, i) =>
      i === 1 ? { ...s, team: { userIds: ['zhao'], departments: ['service'] } } : s,
    ),
  });

  it('holds when every condition holds: one of the values, or for a list any of them', () => {
    expect(
      conditionsHold(def, {
        customer: { customerType: 'key' },
        opportunity: { productLines: ['software', 'network'] },
      }),
    ).toBe(true);
    expect(
      conditionsHold(def, { customer: { customerType: 'key' }, opportunity: { productLines: ['software'] } }),
    ).toBe(false);
    expect(
      conditionsHold(def, { customer: { customerType: 'small' }, opportunity: { productLines: ['hardware'] } }),
    ).toBe(false);
    expect(conditionsHold(def, { customer: {}, opportunity: { productLines: ['hardware'] } })).toBe(false);
    expect(conditionsHold(seed, { customer: {}, opportunity: {} })).toBe(true);
  });

  it("gives a stage's own team, else the process's", () => {
    expect(postsaleTeamFor(def, def.postsale[0]!.id)).toEqual({ userIds: ['wang'], departments: [] });
    expect(postsaleTeamFor(def, def.postsale[1]!.id)).toEqual({ userIds: ['zhao'], departments: ['service'] });
    expect(postsaleTeamFor(seed, null)).toEqual({ userIds: [], departments: [] });
  });
});
